#!/usr/bin/env bash
# The socks2http benchmark, in one go (under 5 minutes on 2 cores):
#   test/bench/run.sh [BUILD_DIR]        (or `make bench` in the build directory)
#
# On loopback it starts sink (the target), upstream (a splice CONNECT proxy), barerelay (a
# splice relay with no protocol work: the limit for any bridge), socks2http, and, when
# installed, cntlm (-O SOCKS5) and danted (route via the upstream, http_v1.0) as peers.
# Then, interleaving the routes (every other rep in reverse order) and repeating to fight
# noise (medians):
#   bulk     one tunnel, BENCH_BYTES down and up, every byte's hash checked; the bridge's CPU
#            seconds per GiB from /proc/PID/stat utime+stime
#   latency  TCP connect to the first echoed byte, BENCH_LAT_SAMPLES sequential samples
#   rate     new tunnels per second, 64 concurrent clients, each tunnel echoes one byte
#   junk     clients that fail their SOCKS handshake (close at once, or speak TLS instead):
#            the bridge's CPU per attempt, and the upstream connections it opened per
#            attempt (the upstream's accept counter)
#   syscalls strace -c on the bare relay and socks2http during one transfer each way (and one
#            down in the "held" condition): splice, epoll_wait, read/write and all calls per
#            GiB (BENCH_STRACE=0 leaves it out)
#   idle     RSS growth (/proc/PID/status VmRSS) and fds (/proc/PID/fd) per idle open
#            tunnel, 5,000 tunnels, on fresh instances; then again with tunnels that carried
#            BENCH_DATA first (64 KiB down, 4 KiB up) before going idle, also at
#            BENCH_DATA_FEW tunnels with socks2http's default options
#   held     bulk again while 5,000 tunnels that carried BENCH_DATA sit idle in the same
#            bridge (socks2http with --max-tunnels 10000)
#            and for a direct route (socks2http --route '* direct', SOCKS5) against a
#            barerelay pointed at the sink itself (no handshake, no proxy behind either)
#   tls      TLS to the proxy: tlsproxy (a TLS-terminating CONNECT proxy of our own, with a
#            fresh self-signed certificate, P-256 unless BENCH_TLS_KEY says otherwise) in front
#            of the sink; socks2http -x https://... --proxy-cacert against the load generator
#            speaking TLS to tlsproxy itself (route tls: OpenSSL, the same CONNECT bytes, a
#            pool of BENCH_TLS_SESSIONS sessions, each TLS 1.3 ticket used once, uploads
#            gathered four records per send as the bridge does): bulk down
#            and up (throughput; socks2http's CPU per GiB, and tlsproxy's, a TLS<->TCP relay
#            like the bridge, as the yardstick), and new tunnels per second with full
#            handshakes (a tlsproxy that refuses resumption: no tickets, no cache, for both
#            clients) and with resumption, with tlsproxy's handshake counters (full,
#            resumed) for every run; stunnel (client mode) as a peer when installed, the
#            load generator speaking CONNECT through it.  Left out, with a line saying why, when socks2http has
#            no https:// proxies (no --proxy-cacert in its --help) or OpenSSL is missing.
# "direct": the load generator speaks CONNECT to the upstream itself; "bare relay": the
# same CONNECT bytes through barerelay; socks2http: SOCKS5 (and SOCKS4a for latency).
# Prints a table with the absolute figures, the ratios and the targets; the raw result
# lines and every daemon's stderr are kept in BUILD_DIR/test/bench/out/.
#
# Knobs (environment): BENCH_BYTES (1 GiB), BENCH_PEER_BYTES (256 MiB), BENCH_BULK_REPS (5),
# BENCH_LAT_SAMPLES (2000), BENCH_LAT_REPS (3), BENCH_RATE_SECS (2), BENCH_RATE_REPS (3),
# BENCH_IDLE (5000), BENCH_PEERS (1; 0 leaves cntlm, danted and stunnel out), BENCH_BARE_PIPE
# (barerelay's F_SETPIPE_SZ, 1048576; 0 = the kernel's default), BENCH_S2H_ARGS (extra socks2http options),
# BENCH_FAR_MS (20: the far proxy's handshake), BENCH_FAR_SAMPLES (200), BENCH_PREWARM (8),
# BENCH_JUNK (5000 attempts per kind), BENCH_STRACE (1), BENCH_DATA ("65536 4096": down, up),
# BENCH_DATA_FEW (1000), BENCH_HELD_REPS (3), BENCH_LIMIT (600: seconds before the run is stopped),
# BENCH_TLS (1; 0 leaves the TLS rows out), BENCH_TLS_KEY (p256, rsa2048 or rsa4096),
# BENCH_TLS_BYTES (256 MiB per transfer), BENCH_TLS_BULK_REPS (3), BENCH_TLS_RATE_REPS (3),
# BENCH_TLS_SESSIONS (64: the TLS client's session pool), BENCH_TLS_WARMUP (1: seconds of each TLS
# rate run before counting, while the clients' session stores fill), BENCH_ONLY (tls: only the TLS rows,
# after the routes' check transfers; about a minute).
set -u
T_START=$(date +%s.%N)
STAT0=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat) # busy and steal jiffies
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build/bench}" 2>/dev/null && pwd) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
bin=$build/test/bench
out=$bin/out
CC=${CC:-cc}

BYTES=${BENCH_BYTES:-1073741824}
PEER_BYTES=${BENCH_PEER_BYTES:-268435456}
BULK_REPS=${BENCH_BULK_REPS:-5}
LAT_SAMPLES=${BENCH_LAT_SAMPLES:-2000}
LAT_REPS=${BENCH_LAT_REPS:-3}
RATE_SECS=${BENCH_RATE_SECS:-2}
RATE_REPS=${BENCH_RATE_REPS:-3}
IDLE=${BENCH_IDLE:-5000}
PEERS=${BENCH_PEERS:-1}
TLS_PEERS=$PEERS # stunnel, also with BENCH_ONLY=tls
BARE_PIPE=${BENCH_BARE_PIPE:-1048576}
S2H_ARGS=${BENCH_S2H_ARGS:-}
FAR_MS=${BENCH_FAR_MS:-20}
FAR_SAMPLES=${BENCH_FAR_SAMPLES:-200}
PREWARM=${BENCH_PREWARM:-8}
JUNK=${BENCH_JUNK:-5000}
STRACE=${BENCH_STRACE:-1}
DATA=${BENCH_DATA:-65536 4096}
DATA_FEW=${BENCH_DATA_FEW:-1000}
HELD_REPS=${BENCH_HELD_REPS:-3}
TLS=${BENCH_TLS:-1}
TLS_KEY=${BENCH_TLS_KEY:-p256}
TLS_BYTES=${BENCH_TLS_BYTES:-268435456}
TLS_BULK_REPS=${BENCH_TLS_BULK_REPS:-3}
TLS_RATE_REPS=${BENCH_TLS_RATE_REPS:-3}
TLS_SESSIONS=${BENCH_TLS_SESSIONS:-64}
TLS_WARMUP=${BENCH_TLS_WARMUP:-1}
ONLY=${BENCH_ONLY:-}
case $ONLY in
"") ;;
tls) PEERS=0 TLS=1 ;;
*) echo "bench: BENCH_ONLY: tls or nothing" >&2; exit 2 ;;
esac

die() { echo "bench: $*" >&2; exit 1; }

# ---- build ----
make -C "$build" src/socks2http >/dev/null || die "cannot build socks2http in $build"
S2H=$build/src/socks2http
mkdir -p "$bin"
rm -rf "$out"
mkdir -p "$out"
for p in sink upstream barerelay; do
	$CC -std=c11 -O2 -Wall -Wextra -o "$bin/$p" "$top/test/bench/$p.c" || die "cannot build $p"
done
# the TLS side (tlsproxy, and loadgen's route tls) needs OpenSSL; without it, a loadgen
# without TLS, and the TLS rows are left out
TLS_BUILT=""
SSL_FLAGS=$(pkg-config --cflags --libs openssl 2>/dev/null || echo "-lssl -lcrypto")
if [ "$TLS" = 1 ] &&
	$CC -std=c11 -O2 -Wall -Wextra -DBENCH_TLS -o "$bin/loadgen" "$top/test/bench/loadgen.c" $SSL_FLAGS 2>"$out/build-tls.err" &&
	$CC -std=c11 -O2 -Wall -Wextra -o "$bin/tlsproxy" "$top/test/bench/tlsproxy.c" $SSL_FLAGS 2>>"$out/build-tls.err"; then
	TLS_BUILT=1
else
	$CC -std=c11 -O2 -Wall -Wextra -o "$bin/loadgen" "$top/test/bench/loadgen.c" || die "cannot build loadgen"
fi
LG=$bin/loadgen

# ---- processes: each started one is ended by its own pid ----
pids=()
WATCHDOG=""
cleanup() {
	local p
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the watchdog: a run still going after BENCH_LIMIT seconds (600) is stopped, and cleaned up
# by the EXIT trap: first the TERM (run once the foreground child is gone), then our children
LIMIT=${BENCH_LIMIT:-600}
(
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep "$LIMIT" &
	s=$!
	wait "$s" || exit 0
	echo "bench: still running after ${LIMIT}s: stopped" >&2
	kill -TERM $$
	for p in $(ps -o pid= --ppid $$); do [ "$p" != "$BASHPID" ] && kill "$p" 2>/dev/null; done
) &
WATCHDOG=$!

# start NAME CMD...: runs CMD in the background, stdout/stderr to out/NAME.{out,err}
start() {
	local name=$1
	shift
	"$@" >"$out/$name.out" 2>"$out/$name.err" &
	LAST_PID=$!
	pids+=("$LAST_PID")
}
# announced_port NAME: the "port N" a bench server prints
announced_port() {
	for _ in $(seq 50); do
		local p
		p=$(awk '$1 == "port" { print $2; exit }' "$out/$1.out" 2>/dev/null)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	die "$1 did not start: $(cat "$out/$1.err")"
}
# wait_port PORT PID: until something accepts on PORT (and PID is alive)
wait_port() {
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
freeport() { "$LG" freeport | awk '{ print $2 }'; }
# up_accepted PID NAME: the accept count of upstream PID (started as NAME), which it prints on
# SIGUSR1; waits for the answer, so the count is exact at the time of the call
up_accepted() {
	local f=$out/$2.out n0 n
	n0=$(grep -c '^accepted ' "$f")
	kill -USR1 "$1" 2>/dev/null || return
	for _ in $(seq 250); do
		n=$(grep -c '^accepted ' "$f")
		[ "$n" -gt "$n0" ] && { awk '$1 == "accepted" { v = $2 } END { print v }' "$f"; return; }
		sleep 0.02
	done
}
# wait_held NAME PID: until loadgen idle --hold says "held" (0), or ends (1: it stalled)
wait_held() {
	for _ in $(seq 1200); do
		grep -q '^held ' "$out/$1.out" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop() { # PID: ends one process started here and forgets it
	local p=$1 keep=() q
	kill "$p" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${pids[@]}"; do [ "$q" != "$p" ] && keep+=("$q"); done
	pids=("${keep[@]}")
}

# 5,000 idle tunnels need 2 or more fds each in every hop: use the hard limit
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ $((NOFILE / 2 - 100)) -lt "$IDLE" ]; then
	echo "bench: open-file limit $NOFILE: idle test lowered to $((NOFILE / 2 - 100)) tunnels" >&2
	IDLE=$((NOFILE / 2 - 100))
fi

start sink "$bin/sink"
SINK_PID=$LAST_PID
SP=$(announced_port sink)
TARGET=127.0.0.1:$SP
start upstream "$bin/upstream" --pipe-size 1048576
UP_PID=$LAST_PID
UP=$(announced_port upstream)

start_bare() { # NAME: a barerelay in front of the upstream (BARE_UP: another); sets B_PID, B_PORT, BARE_PIPE_GOT
	start "$1" "$bin/barerelay" -u "127.0.0.1:${BARE_UP:-$UP}" --pipe-size "$BARE_PIPE"
	B_PID=$LAST_PID
	B_PORT=$(announced_port "$1")
	BARE_PIPE_GOT=$(awk '$1 == "pipe_size" { print $2; exit }' "$out/$1.out")
}
start_s2h() { # NAME [OPTIONS...]: a socks2http in front of the upstream (S2H_UP: another); sets S_PID, S_PORT
	local name=$1
	shift
	S_PORT=$(freeport)
	# shellcheck disable=SC2086
	start "$name" "$S2H" -l "127.0.0.1:$S_PORT" -x "http://127.0.0.1:${S2H_UP:-$UP}" -q "$@" $S2H_ARGS
	S_PID=$LAST_PID
	wait_port "$S_PORT" "$S_PID" || die "socks2http did not start: $(cat "$out/$name.err")"
}
start_cntlm() { # NAME: sets C_PID, C_PORT ("" when it does not run)
	C_PID="" C_PORT=""
	[ "$PEERS" = 1 ] && command -v cntlm >/dev/null || return 0
	local port lport
	port=$(freeport)
	lport=$(freeport)
	# -c /dev/null: not the system's /etc/cntlm.conf; the credentials are dummies (the
	# upstream ignores Proxy-Authorization)
	start "$1" cntlm -f -c /dev/null -u bench -p bench -d bench -l "127.0.0.1:$lport" -O "127.0.0.1:$port" \
		"127.0.0.1:$UP"
	wait_port "$port" "$LAST_PID" || { echo "bench: cntlm did not start (left out)" >&2; return 0; }
	C_PID=$LAST_PID C_PORT=$port
}
start_dante() { # NAME: sets D_PID, D_PORT ("" when it does not run)
	D_PID="" D_PORT=""
	[ "$PEERS" = 1 ] && command -v danted >/dev/null || return 0
	local port
	port=$(freeport)
	cat >"$out/$1.conf" <<EOF
logoutput: $out/$1.log
internal: 127.0.0.1 port = $port
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }
route {
	from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $UP
	proxyprotocol: http_v1.0
	command: connect
}
EOF
	start "$1" danted -f "$out/$1.conf" -p "$out/$1.pid"
	wait_port "$port" "$LAST_PID" || { echo "bench: danted did not start (left out)" >&2; return 0; }
	D_PID=$LAST_PID D_PORT=$port
}

start_bare barerelay
BARE_PID=$B_PID BARE=$B_PORT
start_s2h socks2http
S2H_PID=$S_PID S2HP=$S_PORT
start_cntlm cntlm
CNTLM_PID=$C_PID CNTLM=$C_PORT
start_dante danted
DANTE_PID=$D_PID DANTE=$D_PORT
# a direct route (--route '* direct'): socks2http to the target itself, against the same
# splice relay pointed at the target (no proxy behind either); measured in the rate loop
start barerelay-direct "$bin/barerelay" -u "$TARGET" --pipe-size "$BARE_PIPE"
BD_PID=$LAST_PID
BD=$(announced_port barerelay-direct)
start_s2h socks2http-direct --route '* direct'
SD_PID=$S_PID SD=$S_PORT

# the routes: NAME ROUTE PID-whose-CPU-counts BULK-BYTES
routes=("direct connect@127.0.0.1:$UP $UP_PID $BYTES"
	"bare connect@127.0.0.1:$BARE $BARE_PID $BYTES"
	"s2h socks5@127.0.0.1:$S2HP $S2H_PID $BYTES")
[ -n "$CNTLM" ] && routes+=("cntlm socks5@127.0.0.1:$CNTLM $CNTLM_PID $PEER_BYTES")
[ -n "$DANTE" ] && routes+=("dante socks5@127.0.0.1:$DANTE $DANTE_PID $PEER_BYTES")

RAW=$out/results.txt
: >"$RAW"
run() { # NAME loadgen-args...: the result line, tagged with NAME, into $RAW
	local name=$1 line rc
	shift
	line=$("$LG" "$@" 2>>"$out/loadgen.err")
	rc=$?
	[ -n "$line" ] && echo "$line" | sed "s/^\([a-z]*\) /\1 name=$name /" >>"$RAW"
	if [ $rc -ne 0 ]; then
		echo "bench: FAILED: loadgen $* ($(tail -1 "$out/loadgen.err"))" >&2
		echo "fail name=$name $*" >>"$RAW"
	fi
	return $rc
}
pidarg() { [ "$1" = - ] && return; echo "--pid $1"; }

# every route carries a small transfer both ways before anything is measured; a peer
# that cannot is left out
ok_routes=()
for r in "${routes[@]}"; do
	set -- $r
	if "$LG" bulk "$2" "$TARGET" down 1048576 >/dev/null 2>>"$out/loadgen.err" &&
		"$LG" bulk "$2" "$TARGET" up 1048577 >/dev/null 2>>"$out/loadgen.err"; then
		ok_routes+=("$r")
	else
		case $1 in cntlm | dante) echo "bench: $1 failed the check transfer (left out)" >&2 ;;
		*) die "$1 ($2) failed the check transfer: $(tail -1 "$out/loadgen.err")" ;;
		esac
	fi
done
routes=("${ok_routes[@]}")
names=()
for r in "${routes[@]}"; do set -- $r; names+=("$1"); done
has() { local n; for n in "${names[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

elapsed() { awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%3.0fs", b - a }'; }
if [ "$ONLY" != tls ]; then # ---- everything but the TLS rows ----
echo "bench: $(elapsed) bulk ($BULK_REPS x down+up per route: ${names[*]})..." >&2
# "raw" (loadgen straight to the sink, no proxy) shows what loopback TCP itself does here
bulk_routes=("raw raw@127.0.0.1:0 - $BYTES" "${routes[@]}")
# every other rep in reverse order: no route always runs right after the same other one
# (in the runs before, socks2http always followed the bare relay)
rev_routes=()
for ((i = ${#bulk_routes[@]} - 1; i >= 0; i--)); do rev_routes+=("${bulk_routes[i]}"); done
for rep in $(seq "$BULK_REPS"); do
	for dir in down up; do
		if ((rep % 2)); then order=("${bulk_routes[@]}"); else order=("${rev_routes[@]}"); fi
		for r in "${order[@]}"; do
			set -- $r
			# shellcheck disable=SC2046
			run "$1" bulk "$2" "$TARGET" "$dir" "$4" $(pidarg "$3")
		done
	done
done

echo "bench: $(elapsed) latency ($LAT_REPS x $LAT_SAMPLES samples per route, interleaved)..." >&2
# the peers in a run of their own: their slow tunnels' teardown would disturb the samples
# that follow them
latargs=() peerargs=()
for r in "${routes[@]}"; do
	set -- $r
	case $1 in cntlm | dante) peerargs+=("$1=$2") ;; *) latargs+=("$1=$2") ;; esac
done
latargs+=("s2h4a=socks4a@127.0.0.1:$S2HP")
for rep in $(seq "$LAT_REPS"); do
	"$LG" lat "$TARGET" "$LAT_SAMPLES" "${latargs[@]}" 2>>"$out/loadgen.err" >>"$RAW" ||
		echo "fail name=lat rep $rep" >>"$RAW"
done
if [ ${#peerargs[@]} -gt 0 ]; then
	"$LG" lat "$TARGET" "$LAT_SAMPLES" "peerdirect=connect@127.0.0.1:$UP" "${peerargs[@]}" 2>>"$out/loadgen.err" \
		>>"$RAW" || echo "fail name=peers-lat" >>"$RAW"
fi

echo "bench: $(elapsed) tunnel rate ($RATE_REPS x ${RATE_SECS}s per route, 64 clients)..." >&2
rate_routes=("${routes[@]}" "bared relay@127.0.0.1:$BD $BD_PID" "s2hd socks5@127.0.0.1:$SD $SD_PID")
for rep in $(seq "$RATE_REPS"); do
	for r in "${rate_routes[@]}"; do
		set -- $r
		# shellcheck disable=SC2046
		run "$1" rate "$2" "$TARGET" 64 "$RATE_SECS" $(pidarg "$3")
	done
done

echo "bench: $(elapsed) failed handshakes ($JUNK per kind and bridge, 32 at a time)..." >&2
# what a client that never completes its SOCKS handshake costs: the bridge's CPU, and the
# proxy connections it opened for nothing (the bare relay opens one for every client)
for kind in close garbage; do
	for r in "bare connect@127.0.0.1:$BARE $BARE_PID" "s2h socks5@127.0.0.1:$S2HP $S2H_PID"; do
		set -- $r
		a0=$(up_accepted "$UP_PID" upstream)
		# the bare relay cannot tell a TLS client from a slow one (the upstream waits for a
		# header that never comes): its clients give up after 0.2 s
		# shellcheck disable=SC2046
		run "$1" junk "$2" "$JUNK" 32 "$kind" --pid "$3" $([ "$1" = bare ] && echo --abandon 0.2)
		a1=$(up_accepted "$UP_PID" upstream)
		[ -n "$a0" ] && [ -n "$a1" ] &&
			echo "junkup name=$1 kind=$kind attempts=$JUNK accepts=$((a1 - a0)) per_attempt=$(awk -v a=$((a1 - a0)) -v n="$JUNK" 'BEGIN { printf "%.3f", a / n }')" >>"$RAW"
	done
done

command -v strace >/dev/null || STRACE=0
# strace_bulk NAME ROUTE PID DIR: a "sys" result line: PID's system calls per GiB (strace -c)
# during one bulk transfer; strace slows PID down, the counts stay
strace_bulk() {
	local f=$out/strace-$1-$4 st
	start "strace-$1-$4" strace -c -f -p "$3" -o "$f.txt"
	st=$LAST_PID
	for _ in $(seq 100); do grep -qs attached "$f.err" && break; sleep 0.05; done
	"$LG" bulk "$2" "$TARGET" "$4" "$BYTES" >/dev/null 2>>"$out/loadgen.err" || echo "fail name=strace-$1-$4" >>"$RAW"
	kill -INT "$st" # strace detaches and writes its summary
	for _ in $(seq 100); do kill -0 "$st" 2>/dev/null || break; sleep 0.05; done
	stop "$st"
	awk -v n="$1" -v d="$4" -v gib="$(awk -v b="$BYTES" 'BEGIN { print b / 1073741824 }')" '
		$NF == "splice" { sp = $4 } $NF ~ /^epoll_(p)?wait$/ { ew += $4 } $NF == "total" { t = $4 }
		$NF ~ /^(read|write|readv|writev|recvfrom|sendto|recvmsg|sendmsg)$/ { rw += $4 }
		END { if (t) printf "sys name=%s dir=%s splice=%.0f epoll_wait=%.0f readwrite=%.0f total=%.0f\n",
			n, d, sp / gib, ew / gib, rw / gib, t / gib }' "$f.txt" >>"$RAW"
}
if [ "$STRACE" = 1 ]; then
	echo "bench: $(elapsed) syscalls per GiB (strace -c, one transfer each way, bare relay and socks2http)..." >&2
	for dir in down up; do
		strace_bulk bare "connect@127.0.0.1:$BARE" "$BARE_PID" "$dir"
		strace_bulk s2h "socks5@127.0.0.1:$S2HP" "$S2H_PID" "$dir"
	done
fi

echo "bench: $(elapsed) idle tunnels ($IDLE per bridge, fresh instances)..." >&2
for p in "$BARE_PID" "$S2H_PID" $CNTLM_PID $DANTE_PID "$BD_PID" "$SD_PID"; do stop "$p"; done
start_bare barerelay-idle
run bare idle "connect@127.0.0.1:$B_PORT" "$TARGET" "$IDLE" --pid "$B_PID"
stop "$B_PID"
start_s2h socks2http-idle --max-tunnels 10000
# socks2http lowers --max-tunnels to what its open-file limit allows (it says so): above
# that, clients wait in the backlog, so it gets as many as it takes, and a --workers run
# (one fd limit per process) is added to reach the full count
S2H_CAP=$(sed -n 's/.*--max-tunnels [0-9]* lowered to \([0-9]*\).*/\1/p' "$out/socks2http-idle.err" | head -1)
S2H_IDLE=$IDLE
[ -n "$S2H_CAP" ] && [ "$S2H_CAP" -lt "$IDLE" ] && S2H_IDLE=$((S2H_CAP - 28))
run s2h idle "socks5@127.0.0.1:$S_PORT" "$TARGET" "$S2H_IDLE" --pid "$S_PID"
stop "$S_PID"
# after data: each tunnel carried DATA (down, up) before it went idle
echo "bench: $(elapsed) idle tunnels after data ($DATA bytes down, up each; fresh instances)..." >&2
# shellcheck disable=SC2086
set -- $DATA
DATA_ARGS=(--data "$1" "$2")
start_bare barerelay-idle-data
run bare_d idle "connect@127.0.0.1:$B_PORT" "$TARGET" "$IDLE" --pid "$B_PID" "${DATA_ARGS[@]}"
stop "$B_PID"
start_s2h socks2http-idle-data --max-tunnels 10000
run s2h_d idle "socks5@127.0.0.1:$S_PORT" "$TARGET" "$S2H_IDLE" --pid "$S_PID" "${DATA_ARGS[@]}"
stop "$S_PID"
# socks2http's default options (--max-tunnels 1024), where its fd budget leaves room for pipes
start_s2h socks2http-idle-data-few
run s2h_df idle "socks5@127.0.0.1:$S_PORT" "$TARGET" "$DATA_FEW" --pid "$S_PID" "${DATA_ARGS[@]}"
stop "$S_PID"
if [ "$S2H_IDLE" -lt "$IDLE" ]; then
	NW=$(((IDLE + S2H_IDLE - 1) / S2H_IDLE))
	start_s2h socks2http-idle-workers --max-tunnels 10000 --workers "$NW"
	run s2hw idle "socks5@127.0.0.1:$S_PORT" "$TARGET" "$IDLE" --pid "$S_PID"
	stop "$S_PID"
fi
if has cntlm; then
	start_cntlm cntlm-idle
	[ -n "$C_PID" ] && run cntlm idle "socks5@127.0.0.1:$C_PORT" "$TARGET" "$IDLE" --pid "$C_PID"
	[ -n "$C_PID" ] && stop "$C_PID"
fi
if has dante; then
	start_dante danted-idle
	[ -n "$D_PID" ] && run dante idle "socks5@127.0.0.1:$D_PORT" "$TARGET" "$IDLE" --pid "$D_PID"
	[ -n "$D_PID" ] && stop "$D_PID"
fi

# ---- bulk while IDLE tunnels that carried DATA sit idle in the same bridge ----
# each bridge with its own upstream (one upstream holding both sets would need 4 fds per
# tunnel pair, over the open-file limit), both upstreams alike
echo "bench: $(elapsed) bulk with $IDLE idle tunnels held ($HELD_REPS x down+up, bare and socks2http --max-tunnels 10000)..." >&2
# (fresh ones: the first upstream has served every route above, the peers' stalled tunnels too)
start upstream-held "$bin/upstream" --pipe-size 1048576
UPH_PID=$LAST_PID
UPH=$(announced_port upstream-held)
start upstream-held-bare "$bin/upstream" --pipe-size 1048576
UPHB_PID=$LAST_PID
BARE_UP=$(announced_port upstream-held-bare) start_bare barerelay-held
HB_PID=$B_PID HB_PORT=$B_PORT
S2H_UP=$UPH start_s2h socks2http-held --max-tunnels 10000
HS_PID=$S_PID HS_PORT=$S_PORT
start holder-bare "$LG" idle "connect@127.0.0.1:$HB_PORT" "$TARGET" "$IDLE" --pid "$HB_PID" "${DATA_ARGS[@]}" --hold
HOLDB_PID=$LAST_PID
wait_held holder-bare "$HOLDB_PID" || echo "bench: the bare relay did not take $IDLE tunnels to hold" >&2
start holder-s2h "$LG" idle "socks5@127.0.0.1:$HS_PORT" "$TARGET" "$S2H_IDLE" --pid "$HS_PID" "${DATA_ARGS[@]}" --hold
HOLDS_PID=$LAST_PID
wait_held holder-s2h "$HOLDS_PID" || echo "bench: socks2http did not take $S2H_IDLE tunnels to hold" >&2
HELD_B=$(awk '$1 == "held" { sub(".*tunnels=", ""); print }' "$out/holder-bare.out")
HELD_S=$(awk '$1 == "held" { sub(".*tunnels=", ""); print }' "$out/holder-s2h.out")
for rep in $(seq "$HELD_REPS"); do
	for dir in down up; do
		((rep % 2)) && run bare_h bulk "connect@127.0.0.1:$HB_PORT" "$TARGET" "$dir" "$BYTES" --pid "$HB_PID"
		run s2h_h bulk "socks5@127.0.0.1:$HS_PORT" "$TARGET" "$dir" "$BYTES" --pid "$HS_PID"
		((rep % 2)) || run bare_h bulk "connect@127.0.0.1:$HB_PORT" "$TARGET" "$dir" "$BYTES" --pid "$HB_PID"
	done
done
if [ "$STRACE" = 1 ]; then # how each bridge relays in this condition
	strace_bulk bare_h "connect@127.0.0.1:$HB_PORT" "$HB_PID" down
	strace_bulk s2h_h "socks5@127.0.0.1:$HS_PORT" "$HS_PID" down
fi
for h in "bare_h $HOLDB_PID holder-bare" "s2h_h $HOLDS_PID holder-s2h"; do
	set -- $h
	stop "$2" # checks its tunnels, then prints its result line
	grep '^idle ' "$out/$3.out" | sed "s/^idle /idle name=$1 /" >>"$RAW"
done
stop "$HB_PID"
stop "$HS_PID"
stop "$UPH_PID"
stop "$UPHB_PID"

# ---- scaling and a far proxy ----
# --workers: the tunnel rate with 1 and 2 worker processes (64 clients, same run)
echo "bench: $(elapsed) --workers 1 and 2 (tunnel rate, $RATE_REPS x ${RATE_SECS}s each)..." >&2
for rep in $(seq "$RATE_REPS"); do
	for nw in 1 2; do
		start_s2h "socks2http-w$nw" --workers "$nw"
		run "s2hw$nw" rate "socks5@127.0.0.1:$S_PORT" "$TARGET" 64 "$RATE_SECS" --pid "$S_PID"
		stop "$S_PID"
	done
done
# --prewarm: an upstream that reads a new connection only FAR_MS after accepting it, as a
# far proxy's TCP handshake would delay it; spare connections opened ahead have paid that
echo "bench: $(elapsed) far proxy (${FAR_MS} ms handshake), --prewarm 0 and $PREWARM..." >&2
start upstream-far "$bin/upstream" --handshake-ms "$FAR_MS"
FAR_PID=$LAST_PID
FAR=$(announced_port upstream-far)
FAR0=127.0.0.1:$(freeport)
start socks2http-far "$S2H" -l "$FAR0" -x "http://127.0.0.1:$FAR" -q
FAR0_PID=$LAST_PID
FARP=127.0.0.1:$(freeport)
start socks2http-far-prewarm "$S2H" -l "$FARP" -x "http://127.0.0.1:$FAR" -q --prewarm "$PREWARM"
FARP_PID=$LAST_PID
wait_port "${FAR0##*:}" "$FAR0_PID" && wait_port "${FARP##*:}" "$FARP_PID" || die "socks2http (far) did not start"
sleep 1 # the spares connect
"$LG" lat "$TARGET" "$FAR_SAMPLES" "fardirect=connect@127.0.0.1:$FAR" "far0=socks5@$FAR0" "farN=socks5@$FARP" \
	2>>"$out/loadgen.err" >>"$RAW" || echo "fail name=far lat" >>"$RAW"
stop "$FAR0_PID"
stop "$FARP_PID"
stop "$FAR_PID"
fi # ---- the TLS rows from here (BENCH_ONLY=tls: only these) ----

# ---- TLS to the proxy: socks2http -x https://... against a client speaking TLS itself ----
# tlsproxy (ours, not stunnel in front of the upstream): one hop fewer for both clients, and
# its handshake counters are exact (SSL_session_reused per connection), where stunnel's log
# would have to be parsed line by line
TLS_SKIP="" # why the TLS rows are left out, or ""
TP_PID="" TN_PID="" ST_PID="" SN_PID="" TLS_PROTO=""
if [ "$TLS" != 1 ]; then
	TLS_SKIP="BENCH_TLS=$TLS"
elif [ -z "$TLS_BUILT" ]; then
	TLS_SKIP="tlsproxy or the TLS loadgen did not build with OpenSSL ($(head -1 "$out/build-tls.err"))"
elif ! command -v openssl >/dev/null; then
	TLS_SKIP="no openssl command to make the certificate with"
elif ! "$S2H" --help 2>&1 | grep -q -- --proxy-cacert; then
	TLS_SKIP="this socks2http has no https:// proxies yet (no --proxy-cacert in its --help)"
fi
TLS_CERT=$out/tls-cert.pem
TLS_KEYF=$out/tls-key.pem
if [ -z "$TLS_SKIP" ]; then
	case $TLS_KEY in
	p256) kargs=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa2048) kargs=(-newkey rsa:2048) ;;
	rsa4096) kargs=(-newkey rsa:4096) ;;
	*) die "BENCH_TLS_KEY: p256, rsa2048 or rsa4096, not $TLS_KEY" ;;
	esac
	# self-signed, for 127.0.0.1 (IP SAN: socks2http and the load generator check the
	# address against it) and localhost; it is its own CA for --proxy-cacert and --tls-ca
	openssl req -x509 "${kargs[@]}" -nodes -keyout "$TLS_KEYF" -out "$TLS_CERT" -days 2 -subj /CN=127.0.0.1 \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$out/tls-cert.err" 2>&1 ||
		TLS_SKIP="openssl req failed: $(tail -1 "$out/tls-cert.err")"
fi
TLSA=(--tls-ca "$TLS_CERT" --tls-sessions "$TLS_SESSIONS")
# tls_counted NAME EPNAME EPPID LOADGEN-ARGS...: a rate run that has EPPID report its handshake
# counters when counting starts and ends (--usr1); their difference into $RAW as a "tlsep" line
tls_counted() {
	local name=$1 epn=$2 epp=$3 f=$out/$2.out n0 n
	shift 3
	n0=$(grep -c '^tls ' "$f")
	run "$name" "$@" --usr1 "$epp" --warmup "$TLS_WARMUP"
	for _ in $(seq 250); do
		n=$(grep -c '^tls ' "$f")
		[ "$n" -ge $((n0 + 2)) ] && break
		sleep 0.02
	done
	[ "$n" -ge $((n0 + 2)) ] || return 0
	grep '^tls ' "$f" | sed -n "$((n0 + 1))p;$((n0 + 2))p" | tr '=' ' ' | awk -v n="$name" '
		NR == 1 { f = $5; r = $7; x = $9 }
		NR == 2 { printf "tlsep name=%s full=%d resumed=%d failed=%d\n", n, $5 - f, $7 - r, $9 - x }' >>"$RAW"
}
if [ -z "$TLS_SKIP" ]; then
	start tlsproxy "$bin/tlsproxy" --cert "$TLS_CERT" --key "$TLS_KEYF"
	TP_PID=$LAST_PID
	TP=$(announced_port tlsproxy)
	start tlsproxy-noresume "$bin/tlsproxy" --cert "$TLS_CERT" --key "$TLS_KEYF" --no-resume
	TN_PID=$LAST_PID
	TN=$(announced_port tlsproxy-noresume)
	start_s2h_tls() { # NAME PORT: socks2http with an https:// proxy; sets S_PID, S_PORT
		S_PORT=$(freeport)
		# shellcheck disable=SC2086
		start "$1" "$S2H" -l "127.0.0.1:$S_PORT" -x "https://127.0.0.1:$2" --proxy-cacert "$TLS_CERT" -q $S2H_ARGS
		S_PID=$LAST_PID
		wait_port "$S_PORT" "$S_PID"
	}
	if ! start_s2h_tls socks2http-tls "$TP"; then
		TLS_SKIP="socks2http -x https://... did not start: $(tail -1 "$out/socks2http-tls.err")"
	else
		ST_PID=$S_PID ST=$S_PORT
		start_s2h_tls socks2http-tls-noresume "$TN" || TLS_SKIP="socks2http (no resumption) did not start"
		SN_PID=$S_PID SN=$S_PORT
	fi
fi
# stunnel, the usual plain-to-TLS relay (client mode, one thread per connection), as a peer:
# the load generator speaks CONNECT through it to tlsproxy, as it does through the bare relay
STN="" STF=""
start_stunnel() { # NAME TLS-PORT: sets X_PID, X_PORT ("" when it does not run)
	X_PORT="" X_PID=""
	local port
	port=$(freeport)
	cat >"$out/$1.conf" <<-EOC
		foreground = yes
		pid =
		debug = 3
		[tls]
		client = yes
		accept = 127.0.0.1:$port
		connect = 127.0.0.1:$2
		verifyPeer = yes
		CAfile = $TLS_CERT
		checkIP = 127.0.0.1
	EOC
	start "$1" "$STUNNEL" "$out/$1.conf"
	wait_port "$port" "$LAST_PID" || { echo "bench: $1 did not start (left out)" >&2; return 0; }
	X_PID=$LAST_PID X_PORT=$port
}
STUNNEL=$(command -v stunnel4 || command -v stunnel)
if [ -z "$TLS_SKIP" ] && [ "$TLS_PEERS" = 1 ] && [ -n "$STUNNEL" ]; then
	start_stunnel stunnel "$TP"
	STN_PID=$X_PID STN=$X_PORT
	[ -n "$STN" ] && start_stunnel stunnel-noresume "$TN"
	STF_PID=$X_PID STF=$X_PORT
	for r in "connect@127.0.0.1:$STN" "connect@127.0.0.1:$STF"; do
		[ -n "$STF" ] || break
		if ! "$LG" bulk "$r" "$TARGET" down 1048576 >/dev/null 2>>"$out/loadgen.err" ||
			! "$LG" bulk "$r" "$TARGET" up 1048577 >/dev/null 2>>"$out/loadgen.err"; then
			echo "bench: stunnel failed the check transfer (left out)" >&2
			STN="" STF=""
		fi
	done
	[ -n "$STF" ] || STN=""
fi
if [ -z "$TLS_SKIP" ]; then
	for r in "tls@127.0.0.1:$TP" "socks5@127.0.0.1:$ST" "tls@127.0.0.1:$TN" "socks5@127.0.0.1:$SN"; do
		if ! "$LG" bulk "$r" "$TARGET" down 1048576 "${TLSA[@]}" >/dev/null 2>>"$out/loadgen.err" ||
			! "$LG" bulk "$r" "$TARGET" up 1048577 "${TLSA[@]}" >/dev/null 2>>"$out/loadgen.err"; then
			TLS_SKIP="$r failed the check transfer: $(tail -1 "$out/loadgen.err")"
			break
		fi
	done
fi
if [ -z "$TLS_SKIP" ]; then
	echo "bench: $(elapsed) TLS bulk ($TLS_BULK_REPS x down+up, $(awk -v b="$TLS_BYTES" 'BEGIN { print b / 1048576 }') MiB, TLS client and socks2http, $TLS_KEY)..." >&2
	for rep in $(seq "$TLS_BULK_REPS"); do
		for dir in down up; do
			((rep % 2)) && run tls bulk "tls@127.0.0.1:$TP" "$TARGET" "$dir" "$TLS_BYTES" --pid "$TP_PID" "${TLSA[@]}"
			run s2h_tls bulk "socks5@127.0.0.1:$ST" "$TARGET" "$dir" "$TLS_BYTES" --pid "$ST_PID" --pid2 "$TP_PID"
			((rep % 2)) || run tls bulk "tls@127.0.0.1:$TP" "$TARGET" "$dir" "$TLS_BYTES" --pid "$TP_PID" "${TLSA[@]}"
			[ -n "$STN" ] && run stn_tls bulk "connect@127.0.0.1:$STN" "$TARGET" "$dir" "$TLS_BYTES" --pid "$STN_PID" \
				--pid2 "$TP_PID"
		done
	done
	echo "bench: $(elapsed) TLS tunnel rate ($TLS_RATE_REPS x ${RATE_SECS}s per route and mode, 64 clients)..." >&2
	tls_rate() { # client|s2h resumed|full
		case $1-$2 in
		client-resumed) tls_counted tlsres tlsproxy "$TP_PID" rate "tls@127.0.0.1:$TP" "$TARGET" 64 "$RATE_SECS" \
			--pid2 "$TP_PID" "${TLSA[@]}" ;;
		s2h-resumed) tls_counted s2h_tlsres tlsproxy "$TP_PID" rate "socks5@127.0.0.1:$ST" "$TARGET" 64 "$RATE_SECS" \
			--pid "$ST_PID" --pid2 "$TP_PID" ;;
		client-full) tls_counted tlsfull tlsproxy-noresume "$TN_PID" rate "tls@127.0.0.1:$TN" "$TARGET" 64 \
			"$RATE_SECS" --pid2 "$TN_PID" --tls-ca "$TLS_CERT" --tls-sessions 0 ;;
		s2h-full) tls_counted s2h_tlsfull tlsproxy-noresume "$TN_PID" rate "socks5@127.0.0.1:$SN" "$TARGET" 64 \
			"$RATE_SECS" --pid "$SN_PID" --pid2 "$TN_PID" ;;
		stunnel-resumed) tls_counted stn_tlsres tlsproxy "$TP_PID" rate "connect@127.0.0.1:$STN" "$TARGET" 64 \
			"$RATE_SECS" --pid "$STN_PID" --pid2 "$TP_PID" ;;
		stunnel-full) tls_counted stn_tlsfull tlsproxy-noresume "$TN_PID" rate "connect@127.0.0.1:$STF" "$TARGET" 64 \
			"$RATE_SECS" --pid "$STF_PID" --pid2 "$TN_PID" ;;
		esac
	}
	for rep in $(seq "$TLS_RATE_REPS"); do
		for mode in resumed full; do # every other rep socks2http first
			if ((rep % 2)); then tls_rate client $mode; tls_rate s2h $mode; else tls_rate s2h $mode; tls_rate client $mode; fi
			[ -n "$STN" ] && tls_rate stunnel $mode
		done
	done
	TLS_PROTO=$(awk '$1 == "proto" { print $2, $3, $4; exit }' "$out/tlsproxy.out")
fi
[ -n "$TLS_SKIP" ] && echo "bench: TLS rows left out: $TLS_SKIP" >&2
for p in $ST_PID $SN_PID $TP_PID $TN_PID; do stop "$p"; done


# ---- the table ----
set +u # absent figures are empty strings
# val KIND NAME DIR FIELD: FIELD over the matching result lines, in run order (DIR "" = any;
# DIR may also be KEY=VALUE, e.g. kind=close)
val() {
	local d=$3
	[ -n "$d" ] && [[ $d != *=* ]] && d="dir=$d"
	awk -v k="$1" -v n="name=$2" -v d="$d" -v f="$4" '
		$1 == k && $2 == n && (d == "" || index($0 " ", " " d " ")) {
			for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2)
		}' "$RAW"
}
med() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
sum() { awk '{ s += $1 } END { if (NR) print s }'; }
isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]*)?(e[+-]?[0-9]+)?$ ]]; }
fmt() { isnum "$2" || { echo "${2:--}"; return; }; awk -v v="$2" -v f="$1" 'BEGIN { printf f, v }'; }
ratio() { isnum "$1" && isnum "$2" || return; awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) printf "%.3f", a / b }'; }
# paired KIND DIR FIELD A B [BASE]: rep by rep, A/B (or (A-BASE)/(B-BASE)), each rep's
# routes having run back to back; prints "median min max"
paired() {
	paste <(val "$1" "$4" "$2" "$3") <(val "$1" "$5" "$2" "$3") <(if [ -n "$6" ]; then val "$1" "$6" "$2" "$3"; fi) |
		awk '$1 != "" && $2 != "" { b = ($3 == "") ? 0 : $3; if ($2 - b != 0) print ($1 - b) / ($2 - b) }' |
		sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.3f %.3f %.3f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'
}
pr() { [ -z "$1" ] && { echo "-"; return; }; set -- $1; [ "$2" = "$3" ] && echo "$1" || echo "$1 ($2-$3)"; }
verdict() { # VALUE OP LIMIT
	case $1 in stalled*) echo FAIL; return ;; esac
	isnum "$1" || { echo "-"; return; }
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == ">=") ? (r >= l) : (r <= l); print ok ? "PASS" : "FAIL" }'
}
first() { set -- $1; echo "$1"; }

cols=(raw direct bare s2h cntlm dante bare_h s2h_h bare_d s2h_d s2h_df bared s2hd)
declare -A M
for n in "${cols[@]}"; do
	for d in down up; do
		M[tp_$d,$n]=$(val bulk "$n" "$d" gibps | med)
		c=$(val bulk "$n" "$d" cpu | sum)
		b=$(val bulk "$n" "$d" bytes | sum)
		case $n in raw) ;; *) [ -n "$c" ] && M[cpu_$d,$n]=$(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.4f", c / (b / 1073741824) }') ;; esac
	done
	M[rate,$n]=$(val rate "$n" "" per_s | med)
	M[rateus,$n]=$(val rate "$n" "" cpu_us_per_tunnel | med)
	M[idlen,$n]=$(val idle "$n" "" tunnels | med)
	M[idle,$n]=$(val idle "$n" "" bytes_per_tunnel | med)
	M[idlepss,$n]=$(val idle "$n" "" pss_bytes_per_tunnel | med)
	M[slab,$n]=$(val idle "$n" "" slab_bytes_per_tunnel | med)
	M[idlefd,$n]=$(val idle "$n" "" fds_per_tunnel | med)
	[ "$(val idle "$n" "" stalled)" = 1 ] && M[idle,$n]="stalled@${M[idlen,$n]}" M[idlepss,$n]="-" M[slab,$n]="-" M[idlefd,$n]="-"
	for k in close garbage; do
		M[junkus_$k,$n]=$(val junk "$n" "kind=$k" cpu_us_per_attempt | med)
		M[junkup_$k,$n]=$(val junkup "$n" "kind=$k" per_attempt | med)
	done
	for d in down up; do
		for q in splice epoll_wait readwrite total; do M[sys_${q}_$d,$n]=$(val sys "$n" "$d" "$q" | med); done
	done
done
M[idle,s2hw]=$(val idle s2hw "" bytes_per_tunnel | med)
for n in direct bare s2h s2h4a peerdirect cntlm dante; do
	M[lat50,$n]=$(val lat "$n" "" median_us | med)
	M[lat99,$n]=$(val lat "$n" "" p99_us | med)
done
for n in bare s2h s2h4a cntlm dante; do
	base=direct
	case $n in cntlm | dante) base=peerdirect ;; esac # measured in the peers' own run
	for q in 50 99; do
		isnum "${M[lat$q,$n]}" && M[add$q,$n]=$(awk -v a="${M[lat$q,$n]}" -v b="${M[lat$q,$base]}" 'BEGIN { printf "%.1f", a - b }')
	done
done
# the verdicts: s2h against bare, rep by rep
P_down=$(paired bulk down gibps s2h bare)
P_up=$(paired bulk up gibps s2h bare)
P_cpu_down=$(ratio "${M[cpu_down,s2h]}" "${M[cpu_down,bare]}")
P_cpu_up=$(ratio "${M[cpu_up,s2h]}" "${M[cpu_up,bare]}")
P_lat5=$(paired lat "" median_us s2h bare direct)
P_lat4a=$(paired lat "" median_us s2h4a bare direct)
P_lat5_99=$(paired lat "" p99_us s2h bare direct)
P_lat4a_99=$(paired lat "" p99_us s2h4a bare direct)
P_rate=$(paired rate "" per_s s2h bare)
P_rateus=$(paired rate "" cpu_us_per_tunnel s2h bare)
P_h_down=$(paired bulk down gibps s2h_h bare_h)
P_h_up=$(paired bulk up gibps s2h_h bare_h)
P_h_cpu_down=$(ratio "${M[cpu_down,s2h_h]}" "${M[cpu_down,bare_h]}")
P_h_cpu_up=$(ratio "${M[cpu_up,s2h_h]}" "${M[cpu_up,bare_h]}")
# the held-count target: IDLE tunnels in one socks2http process with --max-tunnels 10000
V_held=FAIL
[ "${M[idlen,s2h]}" = "$IDLE" ] && [ "$(val idle s2h "" alive)" = "$IDLE" ] && V_held=PASS
# fds: at most 2 per tunnel, to 2 decimals (a few pooled pipes or log fds are not per tunnel)
fdverdict() { isnum "$1" || { echo "-"; return; }; verdict "$(fmt %.2f "$1")" "<=" 2; }

row() { # LABEL direct bare s2h cntlm dante TARGET S2H/BARE VERDICT
	printf "%-40s %9s %15s %15s %15s %15s  %-13s %-21s %s\n" "$@"
}
x() { # VALUE BASE FORMAT: "v (r x)"
	isnum "$1" || { echo "${1:--}"; return; }
	printf "%s (%sx)" "$(fmt "$3" "$1")" "$(fmt %.2f "$(ratio "$1" "$2")")"
}
T_END=$(date +%s.%N)
# what the rest of the machine did meanwhile: all CPU time but ours (this script's tree,
# the waited-for loadgens included), and the hypervisor's steal
OURS=$("$LG" cpu $$)
NOISE=$(awk -v s0="$STAT0" -v t0="$T_START" -v t1="$T_END" -v ours="$OURS" -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" '
	/^cpu / { split(s0, a, " "); busy = ($2 + $3 + $4 + $7 + $8 - a[1]) / hz; steal = ($9 - a[2]) / hz
		wall = (t1 - t0) * n
		printf "other processes %.0f%%, steal %.0f%% of the machine during the run", 100 * (busy - ours) / wall, 100 * steal / wall }' /proc/stat)
HOST_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$top" rev-parse --short HEAD 2>/dev/null)
[ -n "$(git -C "$top" status --porcelain -- src include 2>/dev/null)" ] && REV="$REV, with uncommitted changes in src/ include/"
gib() { awk -v b="$1" 'BEGIN { printf "%g", b / 1073741824 }'; }

echo
echo "socks2http benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): $("$S2H" -V 2>&1 | head -1) ($REV)"
echo "machine: nproc=$(nproc), $HOST_CPU, kernel $(uname -r); loopback only; load average $LOAD0 at the start;"
echo "  $NOISE"
if [ "$ONLY" != tls ]; then # the main table
echo "bulk: $(gib "$BYTES") GiB per transfer (peers $(gib "$PEER_BYTES") GiB), $BULK_REPS reps; latency: $LAT_SAMPLES samples x $LAT_REPS reps;" \
	"rate: 64 clients, ${RATE_SECS}s x $RATE_REPS reps; idle: $IDLE tunnels;"
echo "  after data: $DATA bytes down, up per tunnel, then idle; failed handshakes: $JUNK attempts per kind, 32 at a time"
echo "loopback TCP with no proxy at all (loadgen <-> sink): $(fmt %.3f "${M[tp_down,raw]}") GiB/s down, $(fmt %.3f "${M[tp_up,raw]}") GiB/s up"
echo "upstream (splice, 1 MiB pipes): $(fmt %.3f "${M[cpu_down,direct]}") / $(fmt %.3f "${M[cpu_up,direct]}") CPU s per GiB down / up (direct);" \
	"barerelay: splice until EAGAIN, pipes of $BARE_PIPE_GOT B (asked: $BARE_PIPE; 0 = the kernel's default);" \
	"socks2http: -q${S2H_ARGS:+ $S2H_ARGS} (the idle and held tests add --max-tunnels 10000)"
echo
row "" direct "bare relay" socks2http cntlm dante target "s2h/bare (range)" ""
row "bulk download, GiB/s (x direct)" "$(fmt %.3f "${M[tp_down,direct]}")" \
	"$(x "${M[tp_down,bare]}" "${M[tp_down,direct]}" %.3f)" "$(x "${M[tp_down,s2h]}" "${M[tp_down,direct]}" %.3f)" \
	"$(x "${M[tp_down,cntlm]}" "${M[tp_down,direct]}" %.3f)" "$(x "${M[tp_down,dante]}" "${M[tp_down,direct]}" %.3f)" \
	">= 0.95x bare" "$(pr "$P_down")" "$(verdict "$(first "$P_down")" ">=" 0.95)"
row "bulk upload, GiB/s (x direct)" "$(fmt %.3f "${M[tp_up,direct]}")" \
	"$(x "${M[tp_up,bare]}" "${M[tp_up,direct]}" %.3f)" "$(x "${M[tp_up,s2h]}" "${M[tp_up,direct]}" %.3f)" \
	"$(x "${M[tp_up,cntlm]}" "${M[tp_up,direct]}" %.3f)" "$(x "${M[tp_up,dante]}" "${M[tp_up,direct]}" %.3f)" \
	">= 0.95x bare" "$(pr "$P_up")" "$(verdict "$(first "$P_up")" ">=" 0.95)"
row "bridge CPU s per GiB, download" - "$(fmt %.3f "${M[cpu_down,bare]}")" "$(fmt %.3f "${M[cpu_down,s2h]}")" \
	"$(fmt %.3f "${M[cpu_down,cntlm]}")" "$(fmt %.3f "${M[cpu_down,dante]}")" "<= 1.0x bare" "${P_cpu_down:--}" \
	"$(verdict "$P_cpu_down" "<=" 1.0)"
row "bridge CPU s per GiB, upload" - "$(fmt %.3f "${M[cpu_up,bare]}")" "$(fmt %.3f "${M[cpu_up,s2h]}")" \
	"$(fmt %.3f "${M[cpu_up,cntlm]}")" "$(fmt %.3f "${M[cpu_up,dante]}")" "<= 1.0x bare" "${P_cpu_up:--}" \
	"$(verdict "$P_cpu_up" "<=" 1.0)"
row "with $IDLE idle tunnels held:" "" "" "" "" "" "" "" ""
row "  bulk download, GiB/s" - "$(fmt %.3f "${M[tp_down,bare_h]}")" "$(fmt %.3f "${M[tp_down,s2h_h]}")" - - \
	">= 0.95x bare" "$(pr "$P_h_down")" "$(verdict "$(first "$P_h_down")" ">=" 0.95)"
row "  bulk upload, GiB/s" - "$(fmt %.3f "${M[tp_up,bare_h]}")" "$(fmt %.3f "${M[tp_up,s2h_h]}")" - - \
	">= 0.95x bare" "$(pr "$P_h_up")" "$(verdict "$(first "$P_h_up")" ">=" 0.95)"
row "  bridge CPU s per GiB, download" - "$(fmt %.3f "${M[cpu_down,bare_h]}")" "$(fmt %.3f "${M[cpu_down,s2h_h]}")" - - \
	"<= 1.0x bare" "${P_h_cpu_down:--}" "$(verdict "$P_h_cpu_down" "<=" 1.0)"
row "  bridge CPU s per GiB, upload" - "$(fmt %.3f "${M[cpu_up,bare_h]}")" "$(fmt %.3f "${M[cpu_up,s2h_h]}")" - - \
	"<= 1.0x bare" "${P_h_cpu_up:--}" "$(verdict "$P_h_cpu_up" "<=" 1.0)"
row "  idle tunnels held (after data)" - "${HELD_B:-0}" "${HELD_S:-0}" - - "$IDLE" "" ""
row "connect->echo SOCKS5, median us" "$(fmt %.1f "${M[lat50,direct]}")" "$(fmt %.1f "${M[lat50,bare]}")" \
	"$(fmt %.1f "${M[lat50,s2h]}")" "$(fmt %.1f "${M[lat50,cntlm]}")" "$(fmt %.1f "${M[lat50,dante]}")" "" "" ""
row "  added over direct, median us" - "$(fmt %.1f "${M[add50,bare]}")" "$(fmt %.1f "${M[add50,s2h]}")" \
	"$(fmt %.1f "${M[add50,cntlm]}")" "$(fmt %.1f "${M[add50,dante]}")" "<= 1.0x bare" "$(pr "$P_lat5")" \
	"$(verdict "$(first "$P_lat5")" "<=" 1.0)"
row "  p99 us" "$(fmt %.1f "${M[lat99,direct]}")" "$(fmt %.1f "${M[lat99,bare]}")" "$(fmt %.1f "${M[lat99,s2h]}")" \
	"$(fmt %.1f "${M[lat99,cntlm]}")" "$(fmt %.1f "${M[lat99,dante]}")" "" "" ""
row "  added over direct, p99 us" - "$(fmt %.1f "${M[add99,bare]}")" "$(fmt %.1f "${M[add99,s2h]}")" \
	"$(fmt %.1f "${M[add99,cntlm]}")" "$(fmt %.1f "${M[add99,dante]}")" "(no target)" "$(pr "$P_lat5_99")" ""
row "connect->echo SOCKS4a, median us" "$(fmt %.1f "${M[lat50,direct]}")" "$(fmt %.1f "${M[lat50,bare]}")" \
	"$(fmt %.1f "${M[lat50,s2h4a]}")" - - "" "" ""
row "  added over direct, median us" - "$(fmt %.1f "${M[add50,bare]}")" "$(fmt %.1f "${M[add50,s2h4a]}")" - - \
	"(no target)" "$(pr "$P_lat4a")" ""
row "  p99 us" "$(fmt %.1f "${M[lat99,direct]}")" "$(fmt %.1f "${M[lat99,bare]}")" "$(fmt %.1f "${M[lat99,s2h4a]}")" - - "" "" ""
row "  added over direct, p99 us" - "$(fmt %.1f "${M[add99,bare]}")" "$(fmt %.1f "${M[add99,s2h4a]}")" - - \
	"(no target)" "$(pr "$P_lat4a_99")" ""
row "new tunnels/s, 1 worker (x direct)" "$(fmt %.0f "${M[rate,direct]}")" \
	"$(x "${M[rate,bare]}" "${M[rate,direct]}" %.0f)" "$(x "${M[rate,s2h]}" "${M[rate,direct]}" %.0f)" \
	"$(x "${M[rate,cntlm]}" "${M[rate,direct]}" %.0f)" "$(x "${M[rate,dante]}" "${M[rate,direct]}" %.0f)" \
	">= 0.9x bare" "$(pr "$P_rate")" "$(verdict "$(first "$P_rate")" ">=" 0.9)"
row "  bridge CPU us per tunnel" - "$(fmt %.1f "${M[rateus,bare]}")" "$(fmt %.1f "${M[rateus,s2h]}")" \
	"$(fmt %.1f "${M[rateus,cntlm]}")" "$(fmt %.1f "${M[rateus,dante]}")" "(no target)" "$(pr "$P_rateus")" ""
P_rated=$(paired rate "" per_s s2hd bared)
P_rateusd=$(paired rate "" cpu_us_per_tunnel s2hd bared)
P_ratedp=$(paired rate "" per_s s2hd bare)
P_ratedx=$(paired rate "" per_s s2hd s2h)
row "direct route: new tunnels/s, 1 worker" - "$(fmt %.0f "${M[rate,bared]}")" "$(fmt %.0f "${M[rate,s2hd]}")" - - \
	">= 0.9x bare" "$(pr "$P_rated")" "$(verdict "$(first "$P_rated")" ">=" 0.9)"
row "  bridge CPU us per tunnel" - "$(fmt %.1f "${M[rateus,bared]}")" "$(fmt %.1f "${M[rateus,s2hd]}")" - - \
	"(no target)" "$(pr "$P_rateusd")" ""
row "  x the proxied bare relay above" - - - - - "(no target)" "$(pr "$P_ratedp")" ""
row "  x socks2http proxied above" - - - - - "(no target)" "$(pr "$P_ratedx")" ""
row "memory per idle tunnel, B (VmRSS)" - "$(fmt %.0f "${M[idle,bare]}")" "$(fmt %.0f "${M[idle,s2h]}")" \
	"$(fmt %.0f "${M[idle,cntlm]}")" "$(fmt %.0f "${M[idle,dante]}")" "<= 1024 B" \
	"$(ratio "${M[idle,s2h]}" "${M[idle,bare]}")" "$(verdict "${M[idle,s2h]}" "<=" 1024)"
row "  PSS growth per tunnel, B" - "$(fmt %.0f "${M[idlepss,bare]}")" "$(fmt %.0f "${M[idlepss,s2h]}")" \
	"$(fmt %.0f "${M[idlepss,cntlm]}")" "$(fmt %.0f "${M[idlepss,dante]}")" "" "" ""
row "  kernel slab growth per tunnel, B" - "$(fmt %.0f "${M[slab,bare]}")" "$(fmt %.0f "${M[slab,s2h]}")" \
	"$(fmt %.0f "${M[slab,cntlm]}")" "$(fmt %.0f "${M[slab,dante]}")" "(no target)" "" ""
row "  fds per idle tunnel" - "$(fmt %.3f "${M[idlefd,bare]}")" "$(fmt %.3f "${M[idlefd,s2h]}")" \
	"$(fmt %.3f "${M[idlefd,cntlm]}")" "$(fmt %.3f "${M[idlefd,dante]}")" "<= 2" "" "$(fdverdict "${M[idlefd,s2h]}")"
row "  idle tunnels held, --max-tunnels 10000" - "${M[idlen,bare]:--}" "${M[idlen,s2h]:--}" "${M[idlen,cntlm]:--}" \
	"${M[idlen,dante]:--}" "$IDLE" "" "$V_held"
if isnum "${M[idle,s2hw]}"; then
	row "  socks2http --workers $NW, B" - - "$(fmt %.0f "${M[idle,s2hw]}")" - - "<= 1024 B" "" \
		"$(verdict "${M[idle,s2hw]}" "<=" 1024)"
	row "  idle tunnels held" - - "$(val idle s2hw "" tunnels)" - - "$IDLE" "" ""
fi
row "idle after data, B per tunnel (VmRSS)" - "$(fmt %.0f "${M[idle,bare_d]}")" "$(fmt %.0f "${M[idle,s2h_d]}")" - - \
	"<= 1024 B" "$(ratio "${M[idle,s2h_d]}" "${M[idle,bare_d]}")" "$(verdict "${M[idle,s2h_d]}" "<=" 1024)"
row "  PSS growth per tunnel, B" - "$(fmt %.0f "${M[idlepss,bare_d]}")" "$(fmt %.0f "${M[idlepss,s2h_d]}")" - - "" "" ""
row "  kernel slab growth per tunnel, B" - "$(fmt %.0f "${M[slab,bare_d]}")" "$(fmt %.0f "${M[slab,s2h_d]}")" - - \
	"(no target)" "" ""
row "  fds per idle tunnel" - "$(fmt %.3f "${M[idlefd,bare_d]}")" "$(fmt %.3f "${M[idlefd,s2h_d]}")" - - "<= 2" "" \
	"$(fdverdict "${M[idlefd,s2h_d]}")"
row "  idle tunnels held, --max-tunnels 10000" - "${M[idlen,bare_d]:--}" "${M[idlen,s2h_d]:--}" - - "$IDLE" "" ""
row "  $DATA_FEW tunnels, default options, B" - - "$(fmt %.0f "${M[idle,s2h_df]}")" - - "<= 1024 B" "" \
	"$(verdict "${M[idle,s2h_df]}" "<=" 1024)"
row "    fds per idle tunnel" - - "$(fmt %.3f "${M[idlefd,s2h_df]}")" - - "<= 2" "" "$(fdverdict "${M[idlefd,s2h_df]}")"
row "failed handshake: client closes at once" "" "" "" "" "" "" "" ""
row "  bridge CPU us per attempt" - "$(fmt %.1f "${M[junkus_close,bare]}")" "$(fmt %.1f "${M[junkus_close,s2h]}")" - - \
	"(no target)" "$(ratio "${M[junkus_close,s2h]}" "${M[junkus_close,bare]}")" ""
row "  proxy connections per attempt" - "$(fmt %.3f "${M[junkup_close,bare]}")" "$(fmt %.3f "${M[junkup_close,s2h]}")" - - \
	"(no target)" "" ""
row "failed handshake: TLS instead" "" "" "" "" "" "" "" ""
row "  bridge CPU us per attempt" - "$(fmt %.1f "${M[junkus_garbage,bare]}")" "$(fmt %.1f "${M[junkus_garbage,s2h]}")" - - \
	"(no target)" "$(ratio "${M[junkus_garbage,s2h]}" "${M[junkus_garbage,bare]}")" ""
row "  proxy connections per attempt" - "$(fmt %.3f "${M[junkup_garbage,bare]}")" "$(fmt %.3f "${M[junkup_garbage,s2h]}")" - - \
	"(no target)" "" ""
echo
if isnum "${M[sys_total_down,bare]}"; then
	echo "system calls per GiB (strace -c, one $(gib "$BYTES") GiB transfer; strace slows the process, the counts stay):"
	for n in bare s2h bare_h s2h_h; do
		case $n in
		bare) l="bare relay" ;; s2h) l=socks2http ;;
		bare_h) l="bare relay, $IDLE idle held" ;; s2h_h) l="socks2http, $IDLE idle held" ;;
		esac
		printf "  %-30s" "$l"
		for d in down up; do
			isnum "${M[sys_total_$d,$n]}" || continue
			printf " %s: splice %s, epoll_wait %s, read/write %s, all %s;" "$d" "$(fmt %.0f "${M[sys_splice_$d,$n]}")" \
				"$(fmt %.0f "${M[sys_epoll_wait_$d,$n]}")" "$(fmt %.0f "${M[sys_readwrite_$d,$n]}")" "$(fmt %.0f "${M[sys_total_$d,$n]}")"
		done
		echo
	done
fi
W1=$(val rate s2hw1 "" per_s | med)
W2=$(val rate s2hw2 "" per_s | med)
echo "new tunnels/s, 64 clients: socks2http --workers 1: $(fmt %.0f "$W1"), --workers 2: $(fmt %.0f "$W2")" \
	"($(fmt %.2f "$(ratio "$W2" "$W1")")x; medians of $RATE_REPS; the load generator and upstream share the 2 cores)"
F0=$(val lat far0 "" median_us | med)
FN=$(val lat farN "" median_us | med)
FD=$(val lat fardirect "" median_us | med)
echo "far proxy (${FAR_MS} ms TCP handshake), connect->echo median: direct CONNECT $(fmt %.0f "$FD") us," \
	"socks2http $(fmt %.0f "$F0") us, socks2http --prewarm $PREWARM $(fmt %.0f "$FN") us ($FAR_SAMPLES sequential samples)"
echo
[ -n "$S2H_CAP" ] && [ "$S2H_CAP" -lt "$IDLE" ] &&
	echo "socks2http lowered --max-tunnels to $S2H_CAP at ulimit -n $NOFILE (its own warning), so one worker held $S2H_IDLE idle tunnels;" &&
	echo "  the --workers $NW row holds all $IDLE (one open-file limit per process)."
for f in "$out"/socks2http*.err; do # what socks2http itself had to say (it runs with -q)
	[ -s "$f" ] && sed -e 's/^[^ ]* socks2http\[[0-9]*\] /  /' -e "s|^|$(basename "$f" .err):|" "$f" | sort -u | head -5
done
if [ "$PEERS" != 1 ]; then
	echo "cntlm, danted: left out (BENCH_PEERS=$PEERS)."
else
	has cntlm || echo "cntlm: not installed or not working (apt-get install -y cntlm): its column is empty."
	has dante || echo "danted: not installed or not working (apt-get install -y dante-server): its column is empty."
fi
echo "s2h/bare: the median over reps of socks2http's figure over the bare relay's from the same rep (range over reps);"
echo "  latency: of the figures added over direct; CPU per GiB: over all reps' bytes. 'x direct': ratio of medians."
echo "Idle: VmRSS/PSS and /proc/PID/fd growth over the tunnels opened (fds to 2 decimals in the verdict); 'after data':"
echo "  each tunnel carried its bytes (checked) first. 'With idle tunnels held': each bridge holds $IDLE such tunnels"
echo "  (through an upstream of its own) while the bulk transfers run, rep by rep as above."
echo "Failed handshakes: 'proxy connections' counts the upstream's accepts during the run over the attempts."
echo "Kernel slab growth is machine-wide (/proc/meminfo): every hop's sockets (loadgen, bridge, upstream, sink)"
echo "  and the bridge's pipes if it keeps any; other activity on the machine adds noise to it."
echo "CPU and memory are summed over the bridge's process tree (danted forks; cntlm is threaded); a forked child's"
echo "  shared pages count again in its RSS, not in PSS."
isnum "${M[lat50,peerdirect]}" && echo "The peers' latency comes from a run of their own (direct there:" \
	"$(fmt %.1f "${M[lat50,peerdirect]}") us median, $(fmt %.1f "${M[lat99,peerdirect]}") us p99)."
else
	echo "BENCH_ONLY=tls: the TLS rows only (the routes' check transfers ran; nothing else was measured)"
fi

# ---- the TLS table ----
echo
if [ -n "$TLS_SKIP" ]; then
	echo "TLS to the proxy: left out: $TLS_SKIP"
else
	for n in tls s2h_tls stn_tls; do
		for d in down up; do
			M[tp_$d,$n]=$(val bulk "$n" "$d" gibps | med)
			b=$(val bulk "$n" "$d" bytes | sum)
			for f in cpu cpu2 self_cpu; do
				c=$(val bulk "$n" "$d" "$f" | sum)
				[ -n "$c" ] && M[${f}_$d,$n]=$(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.4f", c / (b / 1073741824) }')
			done
		done
	done
	for n in tlsres s2h_tlsres stn_tlsres tlsfull s2h_tlsfull stn_tlsfull; do
		M[rate,$n]=$(val rate "$n" "" per_s | med)
		M[rateus,$n]=$(val rate "$n" "" cpu_us_per_tunnel | med)
		M[rateus2,$n]=$(val rate "$n" "" cpu2_us_per_tunnel | med)
		M[rateself,$n]=$(val rate "$n" "" self_cpu_us_per_tunnel | med)
		for f in full resumed failed; do M[ep_$f,$n]=$(val tlsep "$n" "" "$f" | sum); done
		M[own_full,$n]=$(val rate "$n" "" tls_full | sum)
		M[own_res,$n]=$(val rate "$n" "" tls_resumed | sum)
		M[tun,$n]=$(val rate "$n" "" tunnels | sum)
	done
	# the TLS proxy's CPU per GiB: in the TLS client's runs (--pid there) and in socks2http's (--pid2)
	for d in down up; do
		M[epcpu_$d,tls]=${M[cpu_$d,tls]}
		M[epcpu_$d,s2h_tls]=${M[cpu2_$d,s2h_tls]}
		M[epcpu_$d,stn_tls]=${M[cpu2_$d,stn_tls]}
	done
	P_tdown=$(paired bulk down gibps s2h_tls tls)
	P_tup=$(paired bulk up gibps s2h_tls tls)
	P_tres=$(paired rate "" per_s s2h_tlsres tlsres)
	P_tfull=$(paired rate "" per_s s2h_tlsfull tlsfull)
	hs() { # NAME: "F full, R resumed (P% resumed)" from the TLS proxy's counters
		isnum "${M[ep_full,$1]}" || { echo "-"; return; }
		awk -v f="${M[ep_full,$1]}" -v r="${M[ep_resumed,$1]}" 'BEGIN { printf "%d full, %d resumed (%.1f%%)", f, r, (f + r) ? 100 * r / (f + r) : 0 }'
	}
	trow() { # LABEL CLIENT S2H STUNNEL TARGET S2H/CLIENT VERDICT
		printf "%-44s %11s %11s %11s  %-16s %-21s %s\n" "$@"
	}
	echo "TLS to the proxy: $TLS_PROTO, $TLS_KEY certificate (self-signed, checked by both clients); tlsproxy: ours,"
	echo "  one thread, OpenSSL read-ahead (64 KiB), 256 KiB buffers; the TLS client: loadgen route tls, the same CONNECT"
	echo "  bytes, a pool of $TLS_SESSIONS sessions, each TLS 1.3 ticket used once, uploads four records per send (as the"
	echo "  bridge sends them); socks2http: -x https://127.0.0.1:PORT --proxy-cacert -q${S2H_ARGS:+ $S2H_ARGS}"
	echo "  stunnel (when installed): client mode, verifyPeer with the same CA, the load generator speaking CONNECT"
	echo "  through it (as through the bare relay), run after the other two in each rep"
	echo "  bulk: $(gib "$TLS_BYTES") GiB per transfer, $TLS_BULK_REPS reps; rate: 64 clients, ${RATE_SECS}s (after ${TLS_WARMUP}s) x $TLS_RATE_REPS reps per mode"
	echo
	trow "" "TLS client" socks2http stunnel target "s2h/client (range)" ""
	trow "TLS bulk download, GiB/s" "$(fmt %.3f "${M[tp_down,tls]}")" "$(fmt %.3f "${M[tp_down,s2h_tls]}")" \
		"$(fmt %.3f "${M[tp_down,stn_tls]}")" ">= 0.9x client" "$(pr "$P_tdown")" "$(verdict "$(first "$P_tdown")" ">=" 0.9)"
	trow "TLS bulk upload, GiB/s" "$(fmt %.3f "${M[tp_up,tls]}")" "$(fmt %.3f "${M[tp_up,s2h_tls]}")" \
		"$(fmt %.3f "${M[tp_up,stn_tls]}")" ">= 0.9x client" "$(pr "$P_tup")" "$(verdict "$(first "$P_tup")" ">=" 0.9)"
	for d in down up; do
		case $d in down) l=download ;; up) l=upload ;; esac
		trow "the bridge's CPU s per GiB, $l" - "$(fmt %.3f "${M[cpu_$d,s2h_tls]}")" "$(fmt %.3f "${M[cpu_$d,stn_tls]}")" \
			"(no target)" "$(ratio "${M[cpu_$d,s2h_tls]}" "${M[epcpu_$d,tls]}")" "x tlsproxy's, below"
		trow "  tlsproxy CPU s per GiB, $l" "$(fmt %.3f "${M[epcpu_$d,tls]}")" "$(fmt %.3f "${M[epcpu_$d,s2h_tls]}")" \
			"$(fmt %.3f "${M[epcpu_$d,stn_tls]}")" "" "" ""
		trow "  the client's own CPU s per GiB, $l" "$(fmt %.3f "${M[self_cpu_$d,tls]}")" \
			"$(fmt %.3f "${M[self_cpu_$d,s2h_tls]}")" "$(fmt %.3f "${M[self_cpu_$d,stn_tls]}")" "" "" ""
	done
	trow "new tunnels/s, full handshakes" "$(fmt %.0f "${M[rate,tlsfull]}")" "$(fmt %.0f "${M[rate,s2h_tlsfull]}")" \
		"$(fmt %.0f "${M[rate,stn_tlsfull]}")" "(no target)" "$(pr "$P_tfull")" ""
	trow "  the bridge's CPU us per tunnel" - "$(fmt %.1f "${M[rateus,s2h_tlsfull]}")" "$(fmt %.1f "${M[rateus,stn_tlsfull]}")" \
		"" "" ""
	trow "  tlsproxy CPU us per tunnel" "$(fmt %.1f "${M[rateus2,tlsfull]}")" "$(fmt %.1f "${M[rateus2,s2h_tlsfull]}")" \
		"$(fmt %.1f "${M[rateus2,stn_tlsfull]}")" "" "" ""
	trow "  the client's own CPU us per tunnel" "$(fmt %.1f "${M[rateself,tlsfull]}")" "$(fmt %.1f "${M[rateself,s2h_tlsfull]}")" \
		"$(fmt %.1f "${M[rateself,stn_tlsfull]}")" "" "$(ratio "${M[rateus,s2h_tlsfull]}" "${M[rateself,tlsfull]}")" \
		"socks2http's x the TLS client's"
	trow "new tunnels/s, with resumption" "$(fmt %.0f "${M[rate,tlsres]}")" "$(fmt %.0f "${M[rate,s2h_tlsres]}")" \
		"$(fmt %.0f "${M[rate,stn_tlsres]}")" ">= 0.9x client" "$(pr "$P_tres")" "$(verdict "$(first "$P_tres")" ">=" 0.9)"
	trow "  the bridge's CPU us per tunnel" - "$(fmt %.1f "${M[rateus,s2h_tlsres]}")" "$(fmt %.1f "${M[rateus,stn_tlsres]}")" \
		"" "" ""
	trow "  tlsproxy CPU us per tunnel" "$(fmt %.1f "${M[rateus2,tlsres]}")" "$(fmt %.1f "${M[rateus2,s2h_tlsres]}")" \
		"$(fmt %.1f "${M[rateus2,stn_tlsres]}")" "" "" ""
	trow "  the client's own CPU us per tunnel" "$(fmt %.1f "${M[rateself,tlsres]}")" "$(fmt %.1f "${M[rateself,s2h_tlsres]}")" \
		"$(fmt %.1f "${M[rateself,stn_tlsres]}")" "" "$(ratio "${M[rateus,s2h_tlsres]}" "${M[rateself,tlsres]}")" \
		"socks2http's x the TLS client's"
	trow "  resumption's gain (x full handshakes)" "$(fmt %.2f "$(ratio "${M[rate,tlsres]}" "${M[rate,tlsfull]}")")" \
		"$(fmt %.2f "$(ratio "${M[rate,s2h_tlsres]}" "${M[rate,s2h_tlsfull]}")")" \
		"$(fmt %.2f "$(ratio "${M[rate,stn_tlsres]}" "${M[rate,stn_tlsfull]}")")" "" "" ""
	if [ -n "$STN" ]; then
		P_sdown=$(paired bulk down gibps stn_tls tls)
		P_sup=$(paired bulk up gibps stn_tls tls)
		P_sres=$(paired rate "" per_s stn_tlsres tlsres)
		P_sfull=$(paired rate "" per_s stn_tlsfull tlsfull)
		echo "stunnel x the TLS client (rep by rep, median (range)): bulk down $(pr "$P_sdown"), up $(pr "$P_sup");"
		echo "  new tunnels/s with resumption $(pr "$P_sres"), full handshakes $(pr "$P_sfull")"
	fi
	echo "tlsproxy's handshakes while counting (all reps; the first ${TLS_WARMUP}s of each run, not counted, fills the session stores):"
	for n in tlsres s2h_tlsres stn_tlsres tlsfull s2h_tlsfull stn_tlsfull; do
		case $n in
		tlsres) l="TLS client, resumption" ;; s2h_tlsres) l="socks2http, resumption" ;;
		tlsfull) l="TLS client, no resumption" ;; s2h_tlsfull) l="socks2http, no resumption" ;;
		stn_tlsres) l="stunnel" ;; stn_tlsfull) l="stunnel, no resumption" ;;
		esac
		[ -n "${M[tun,$n]}" ] || continue
		own=""
		isnum "${M[own_full,$n]}" && own="; the client's own count: ${M[own_full,$n]} full, ${M[own_res,$n]} resumed"
		printf "  %-28s %s, %s failed, for %s tunnels done%s\n" "$l:" "$(hs "$n")" "${M[ep_failed,$n]:--}" "${M[tun,$n]:--}" "$own"
	done
	echo "  ('failed': handshakes cut short, e.g. the clients still in flight when a run ends)"
	echo "TLS CPU per GiB: socks2http's over tlsproxy's in the TLS client's runs (tlsproxy: a TLS<->TCP relay, the same"
	echo "  work as the bridge's, one thread); the client's own: the load generator's CPU (TLS, the stream's hash, copies)."
	echo "CPU per tunnel: socks2http's (SOCKS5 in, TLS and CONNECT out) against the TLS client's own (the load generator,"
	echo "  TLS and CONNECT for 64 clients: the same client-side work without the SOCKS side)."
	echo "Full handshakes: both clients against a tlsproxy that refuses resumption (no tickets, no session cache)."
fi
fails=$(grep -c '^fail' "$RAW")
ownfails=$(grep '^fail' "$RAW" | grep -vc -e "^fail name=cntlm" -e "^fail name=dante" -e "^fail name=peers")
echo "raw results: $RAW ($fails failed runs, $((fails - ownfails)) of them the peers');" \
	"total time $(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.0f", b - a }') s"
[ "$ownfails" -eq 0 ]
