// Every answer form a PAC returns, chosen by host; both engines must pass them through as is.
// query: http://direct.example/ direct.example
// query: https://proxy.example/ proxy.example
// query: http://list.example:8080/ list.example
// query: https://https.example/ https.example
// query: http://socks.example:22/ socks.example
// query: http://socks5.example/ socks5.example
// query: http://v6.example/ v6.example
// query: http://blanks.example/ blanks.example
// query: http://lower.example/ lower.example
// query: http://noport.example/ noport.example
// query: http://junk.example/ junk.example
// query: http://empty.example/ empty.example
// query: http://[::1]:8080/ ::1
// query: http://10.0.0.1/ 10.0.0.1
// query: http://other.example/ other.example
function FindProxyForURL(url, host) {
	var answers = {
		"direct.example": "DIRECT",
		"proxy.example": "PROXY proxy.corp.example:3128",
		"list.example": "PROXY a.example:3128; PROXY b.example:8080; DIRECT",
		"https.example": "HTTPS secure.example:443",
		"socks.example": "SOCKS s.example:1080; SOCKS4 s4.example:1081",
		"socks5.example": "SOCKS5 s5.example:1080; DIRECT",
		"v6.example": "PROXY [2001:db8::1]:3128; PROXY [::1]:8080",
		"blanks.example": "  PROXY   p.example:1 ;\tDIRECT ;; ",
		"lower.example": "proxy p.example:2; direct",
		"noport.example": "PROXY p.example; HTTPS h.example",
		"junk.example": "QUIC q.example:443; PROXY bad:99999; DIRECT",
		"empty.example": ""
	};
	if (answers.hasOwnProperty(host))
		return answers[host];
	if (host == "::1")
		return "PROXY [::1]:3128";
	if (url.indexOf("http://10.") == 0)
		return "PROXY ten.example:" + (8000 + 80);
	return "PROXY default.example:3128; DIRECT";
}
