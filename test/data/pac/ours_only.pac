// What only our engine is checked on, each with the answer expected (pac_eval's output):
// where pacparser lacks the function (sortIpAddressList, getClientVersion, alert) or differs
// on purpose (ranges that wrap around, as Mozilla's and Chromium's do; shExpMatch with
// regexp characters in the pattern; isResolvableEx of a name that does not resolve; isInNetEx
// with a /0 prefix).
// expect: http://wrap/ wrap => true true true true true
// expect: http://glob/ glob => true true false true true
// expect: http://ex/ ex => true false  false false false false false true true
// expect: http://sort/ sort => ::1;fd00::1;10.0.0.1;10.0.0.2 false false 10.0.0.1 1.0
// expect: http://dns/ dns => null 127.0.0.2 true true
// expect: http://types/ types => function function function function function function function function function function function function function function function function function function function function function
// expect: http://alert/ alert => DIRECT
// expect: http://throw/ throw => ERROR: FindProxyForURL: Error: no answer for throw
// expect: http://number/ number => ERROR: FindProxyForURL returned number, not a string
// expect: http://null/ null => ERROR: FindProxyForURL returned null, not a string
// expect: http://newline/ newline => PROXY a:1;  DIRECT
function FindProxyForURL(url, host) {
	switch (host) {
	case "wrap":
		return [weekdayRange("MON", "SUN"), weekdayRange("SAT", "FRI", "GMT"), dateRange("FEB", "JAN"),
			timeRange(1, 0), timeRange(12, 0, 0, 11, 59, 59, "GMT")].join(" ");
	case "glob":
		return [shExpMatch("a+b", "a+b"), shExpMatch("(x)|y", "(x)|y"), shExpMatch("x", "(x)|y"),
			shExpMatch("a[1]", "a[?]"), shExpMatch("$^", "$^")].join(" ");
	case "ex":
		return [isInNetEx("10.1.2.3", "10.0.0.0/8"), isInNetEx("10.1.2.3", "10.0.0.0"), dnsResolveEx("x.invalid"),
			isResolvableEx("x.invalid"), isInNetEx("10.1.2.3", "fd00::/8"), isInNetEx("x.invalid", "10.0.0.0/8"),
			isInNetEx("10.1.2.3", "10.0.0.0/33"), isInNetEx("::1", "::/129"),
			isInNetEx("10.1.2.3", "0.0.0.0/0"), isInNetEx("2001:db8::1", "::/0")].join(" ");
	case "sort":
		return [sortIpAddressList("10.0.0.2;::1; 10.0.0.1;fd00::1"), sortIpAddressList("10.0.0.1;x"),
			sortIpAddressList(""), sortIpAddressList("10.0.0.1"), getClientVersion()].join(" ");
	case "dns":
		return [String(dnsResolve("::1")), dnsResolve("127.0.0.2"), isResolvable("127.0.0.2"), isResolvableEx("::1")].join(" ");
	case "types":
		var names = ["isPlainHostName", "dnsDomainIs", "localHostOrDomainIs", "isResolvable", "isInNet",
			     "dnsResolve", "convert_addr", "myIpAddress", "dnsDomainLevels", "shExpMatch", "weekdayRange",
			     "dateRange", "timeRange", "alert", "isResolvableEx", "isInNetEx", "dnsResolveEx",
			     "myIpAddressEx", "sortIpAddressList", "getClientVersion", "FindProxyForURL"];
		var t = [];
		for (var i = 0; i < names.length; i++)
			t.push(typeof this[names[i]]);
		return t.join(" ");
	case "alert":
		for (var j = 0; j < 100; j++)
			alert("alert number " + j + "\nwith a second line");
		return "DIRECT";
	case "throw":
		throw new Error("no answer for " + host);
	case "number":
		return 42;
	case "null":
		return null;
	case "newline":
		return "PROXY a:1;\r\nDIRECT";
	}
	return "DIRECT";
}
