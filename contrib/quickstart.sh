#!/usr/bin/env bash
# Quick start on Debian: installs what socks2http needs, builds it, and runs it.
# With a proxy in the environment (https_proxy and friends) the bridge uses it; otherwise
# it starts a local tinyproxy as the upstream and a local web page, and shows one request
# going through.  Interactive runs keep the bridge running until Ctrl-C.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "== installing Debian packages (contrib/debian-packages)"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# The test suite's proxies (squid, tinyproxy) come as packages whose install would start
# them as system services; the tests and this script start their own on loopback.  A
# policy-rc.d keeps every service down during the install (only if there is none already).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
	trap '$sudo rm -f "$policy"' EXIT
	made_policy=1
fi
# shellcheck disable=SC2046
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	$(grep -v '^#' contrib/debian-packages) >/dev/null
if [ -n "${made_policy:-}" ]; then
	$sudo rm -f "$policy"
	trap - EXIT
fi

echo "== building"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build/plain
(cd build/plain && { [ -f Makefile ] || ../../configure --enable-werror >/dev/null; } && make -j2 >/dev/null)
bin=$top/build/plain/src/socks2http
echo "built $bin ($("$bin" --version))"

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

proxy_args=()
if [ -n "${https_proxy:-}${HTTPS_PROXY:-}${all_proxy:-}${ALL_PROXY:-}${http_proxy:-}" ]; then
	# socks2http reads the proxy (and its password) from the environment itself
	target=https://example.com/
	shown="your proxy from the environment"
	echo "== using $shown"
else
	echo "== no proxy configured: starting a local tinyproxy and a local web page"
	tport=$(free_port)
	cat >"$work/tinyproxy.conf" <<CONF
Port $tport
Listen 127.0.0.1
Timeout 60
Allow 127.0.0.1
LogLevel Warning
MaxClients 50
CONF
	[ "$(id -u)" -eq 0 ] && printf 'User nobody\nGroup nogroup\n' >>"$work/tinyproxy.conf"
	tinyproxy -d -c "$work/tinyproxy.conf" >"$work/tinyproxy.log" 2>&1 &
	pids+=($!)
	wport=$(free_port)
	mkdir -p "$work/www"
	echo "Hello through socks2http: SOCKS5 in, HTTP CONNECT out." >"$work/www/index.html"
	/usr/bin/python3 -m http.server "$wport" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
	pids+=($!)
	proxy_args=(-x "http://127.0.0.1:$tport")
	shown="tinyproxy on 127.0.0.1:$tport"
	target=http://localhost:$wport/
	sleep 0.5
fi

sport=${SOCKS2HTTP_DEMO_PORT:-1080}
"$bin" -l "127.0.0.1:$sport" "${proxy_args[@]}" >"$work/socks2http.log" 2>&1 &
pids+=($!)
sleep 0.5
if ! kill -0 "${pids[-1]}" 2>/dev/null; then
	cat "$work/socks2http.log"
	echo "socks2http did not start (is port $sport taken? set SOCKS2HTTP_DEMO_PORT)"
	exit 1
fi

echo "== curl --proxy socks5h://127.0.0.1:$sport $target"
curl -sS --max-time 20 --proxy "socks5h://127.0.0.1:$sport" "$target" | head -5
echo "== socks2http's log"
cat "$work/socks2http.log"

if [ -t 0 ]; then
	echo "== socks2http is running on 127.0.0.1:$sport (upstream: $shown); Ctrl-C stops it"
	tail -n0 -f "$work/socks2http.log" &
	pids+=($!)
	wait "${pids[-2]}" || true
fi
