// A typical company PAC: plain names and the intranet go direct, the rest through proxies.
// query: http://intranet/ intranet
// query: https://wiki.corp.example/ wiki.corp.example
// query: https://www.example.org/ www.example.org
// query: http://10.20.30.40:8080/ 10.20.30.40
// query: http://localhost:631/ localhost
// query: http://127.0.0.1/ 127.0.0.1
// query: ftp://files.example.org/ files.example.org
// query: https://secure.bank.example/ secure.bank.example
// query: http://unknown.invalid/ unknown.invalid
function FindProxyForURL(url, host) {
	if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example"))
		return "DIRECT";
	if (isInNet(host, "10.0.0.0", "255.0.0.0") || shExpMatch(host, "127.*") || host == "localhost")
		return "DIRECT";
	if (url.substring(0, 4) == "ftp:")
		return "PROXY ftp-proxy.corp.example:2121";
	if (shExpMatch(host, "*.bank.example"))
		return "HTTPS tls-proxy.corp.example:443; PROXY proxy1.corp.example:3128";
	if (!isResolvable(host))
		return "PROXY proxy1.corp.example:3128; PROXY proxy2.corp.example:3128; DIRECT";
	return "PROXY proxy1.corp.example:3128; PROXY proxy2.corp.example:3128";
}
