// weekdayRange, dateRange, timeRange in every argument form, local time and GMT; only ranges
// that do not wrap around (pacparser does not wrap; ours does, see ours_only.pac).
// query: http://t/ t
function FindProxyForURL(url, host) {
	var now = new Date();
	var days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
	var months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
	var today = days[now.getDay()], utoday = days[now.getUTCDay()];
	var month = months[now.getMonth()], umonth = months[now.getUTCMonth()];
	var y = now.getFullYear(), h = now.getHours(), uh = now.getUTCHours();
	var r = [
		weekdayRange("SUN", "SAT"), weekdayRange(today), weekdayRange(today, "GMT") == (today == utoday),
		weekdayRange(utoday, "GMT"), weekdayRange("SUN", today), weekdayRange(today, "SAT", "GMT") == (days.indexOf(utoday) >= days.indexOf(today)),
		weekdayRange("XYZ"), weekdayRange(),
		dateRange(y), dateRange(y - 1), dateRange(y - 1, y + 1), dateRange(y + 1, y + 2),
		dateRange(month), dateRange("JAN", "DEC"), dateRange(umonth, "GMT"),
		dateRange(now.getDate()), dateRange(1, 31),
		dateRange(1, "JAN", 31, "DEC"), dateRange("JAN", y, "DEC", y), dateRange("JAN", y - 2, "DEC", y - 1),
		dateRange(1, "JAN", y - 1, 31, "DEC", y + 1), dateRange(1, "JAN", 1990, 31, "DEC", 1999),
		dateRange(y, "GMT") == (now.getUTCFullYear() == y),
		timeRange(0, 23), timeRange(h), timeRange(uh, "GMT"), timeRange(0, h), timeRange(h, 23),
		timeRange(0, 0, 23, 59), timeRange(0, 0, 0, 23, 59, 59), timeRange(0, 0, 0, 23, 59, 59, "GMT"),
		timeRange(0, 23, "GMT")
	];
	// a range ending before now: skipped in the last seconds of a day
	if (h > 0)
		r.push(timeRange(0, 0, h - 1, 59));
	return r.join(" ");
}
