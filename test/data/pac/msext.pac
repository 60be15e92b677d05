// Microsoft's IPv6 extensions that pacparser has too: isInNetEx (on IP literals, what it takes;
// pacparser answers nonsense for names), dnsResolveEx and isResolvableEx on names that resolve
// the same way everywhere.  pacparser 1.3.6 never calls FindProxyForURLEx, which ours prefers
// when a PAC defines it, as Microsoft's extensions say (checked in test_worker_answers).
// query: http://10.1.2.3/ 10.1.2.3
// query: http://[fd00::5]/ fd00::5
// query: http://[2001:db8::1]/ 2001:db8::1
// query: http://192.168.7.7/ 192.168.7.7
function FindProxyForURL(url, host) {
	return [
		isInNetEx(host, "10.0.0.0/8"),
		isInNetEx(host, "10.1.2.0/24"),
		isInNetEx(host, "192.168.0.0/16"),
		isInNetEx(host, "fd00::/8"),
		isInNetEx(host, "fd00::/64"),
		isInNetEx(host, "2001:db8::/32"),
		isInNetEx(host, "2001:db8::1/128"),
		isResolvableEx("localhost"),
		dnsResolveEx("127.0.0.2"),
		dnsResolveEx("10.9.8.7")
	].join(" ");
}
