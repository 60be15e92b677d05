// The name helpers: isPlainHostName, dnsDomainIs, localHostOrDomainIs, dnsDomainLevels,
// shExpMatch (patterns with *, ? and dots only: pacparser leaves other regexp characters be).
// query: http://www/ www
// query: http://www.example.com/ www.example.com
// query: https://WWW.Example.COM/ WWW.Example.COM
// query: http://a.b.c.d.example.com:8080/path?q=1 a.b.c.d.example.com
// query: http://example.com/ example.com
// query: http://notexample.com/ notexample.com
// query: http://www.example.com.evil.example/ www.example.com.evil.example
// query: http://10.0.0.1/ 10.0.0.1
// query: http://[2001:db8::1]/ 2001:db8::1
function FindProxyForURL(url, host) {
	return [
		isPlainHostName(host),
		dnsDomainIs(host, ".example.com"),
		dnsDomainIs(host, "example.com"),
		localHostOrDomainIs(host, "www.example.com"),
		localHostOrDomainIs(host, "www"),
		dnsDomainLevels(host),
		shExpMatch(host, "*.example.com"),
		shExpMatch(host, "www.*"),
		shExpMatch(host, "?.b.*"),
		shExpMatch(url, "http://*/*"),
		shExpMatch(url, "*:8080/*"),
		shExpMatch(host, "10.0.0.*"),
		shExpMatch(host, "*"),
		shExpMatch(host, "")
	].join(" ");
}
