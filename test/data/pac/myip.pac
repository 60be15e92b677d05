// myIpAddress, compared with pacparser told our address (pacparser.setmyip).
// query: http://a/ a
// query: https://b.example/ b.example
function FindProxyForURL(url, host) {
	var me = myIpAddress();
	if (isInNet(me, "127.0.0.0", "255.0.0.0"))
		return "DIRECT";
	return "PROXY " + me + ":3128; DIRECT";
}
