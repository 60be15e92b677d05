// The DNS helpers on names that resolve the same way everywhere: localhost, IP literals, and
// names under .invalid, which never resolve (RFC 6761): isResolvable, dnsResolve, isInNet,
// convert_addr.
// query: http://localhost/ localhost
// query: http://127.0.0.1/ 127.0.0.1
// query: http://10.1.2.3/ 10.1.2.3
// query: http://192.168.1.1/ 192.168.1.1
// query: http://172.20.0.1/ 172.20.0.1
// query: http://nothing.invalid/ nothing.invalid
// query: http://a.b.invalid/ a.b.invalid
// query: http://300.1.1.1/ 300.1.1.1
function FindProxyForURL(url, host) {
	return [
		isResolvable(host),
		dnsResolve(host),
		isInNet(host, "127.0.0.0", "255.0.0.0"),
		isInNet(host, "10.0.0.0", "255.0.0.0"),
		isInNet(host, "192.168.0.0", "255.255.0.0"),
		isInNet(host, "172.16.0.0", "255.240.0.0"),
		isInNet(host, "10.1.2.3", "255.255.255.255"),
		isInNet(host, "0.0.0.0", "0.0.0.0"),
		convert_addr("10.1.2.3"),
		convert_addr("192.168.1.1"),
		convert_addr("255.255.255.255"),
		isResolvable("localhost"),
		dnsResolve("localhost"),
		dnsResolve("nothing.invalid"),
		isResolvable("nothing.invalid")
	].join(" ");
}
