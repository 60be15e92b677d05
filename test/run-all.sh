#!/usr/bin/env bash
# The whole test suite: builds socks2http three times, plain, with AddressSanitizer +
# UndefinedBehaviorSanitizer, and portable (configure --enable-portable: the code other
# systems run, without splice or sock_diag), and on each runs the unit tests and
# fuzz-corpus replays (make check) and the end-to-end tests (real clients and proxies on
# loopback; for the portable build those not marked linux_only).
# Ends with one line "N passed, N failed"; exits non-zero if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
PYTEST=${PYTEST:-/usr/bin/python3 -m pytest}
passed=0
failed=0

count_lines() { # sums "N passed, N failed" lines from the files given
	cat "$@" 2>/dev/null | awk '/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 } END { print p + 0, f + 0 }'
}

# Runs pytest with the given arguments, output to $1 as well; adds its counts to the totals.
# A run that fails without counting a failure, or counts nothing, counts as one failure.
run_pytest() {
	local out=$1 rc p f summary
	shift
	$PYTEST -p no:cacheprovider -q -rfE "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	summary=$(tail -1 "$out")
	p=$(echo "$summary" | grep -o '[0-9]\+ passed' | grep -o '[0-9]\+')
	f=$(echo "$summary" | grep -o '[0-9]\+ \(failed\|error\|errors\)' | awk '{ n += $1 } END { print n + 0 }')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
}

if [ ! -x configure ]; then
	autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
fi

for variant in plain sanitize portable; do
	dir=build/$variant
	flags=--enable-werror
	e2e_select=()
	[ "$variant" = sanitize ] && flags="$flags --enable-sanitizers"
	[ "$variant" = portable ] && flags="$flags --enable-portable" && e2e_select=(-m 'not linux_only')
	echo "=== $variant build ($flags)"
	mkdir -p "$dir"
	if ! (cd "$dir" && ../../configure $flags >configure.out 2>&1 && make -j2 >make.out 2>&1); then
		echo "build failed:"; tail -30 "$dir/configure.out" "$dir/make.out" 2>/dev/null
		failed=$((failed + 1))
		continue
	fi
	if grep -q 'warning:' "$dir/make.out"; then
		echo "compiler warnings:"; grep 'warning:' "$dir/make.out"
		failed=$((failed + 1))
	fi

	echo "=== $variant: unit tests and fuzz-corpus replays (make check)"
	rm -f "$dir"/test/*.log "$dir"/test/unit/*.log "$dir"/test/fuzz/*.log
	make -C "$dir" -j2 check >"$dir/check.out" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS)' "$dir/check.out"
	read -r p f < <(count_lines "$dir"/test/*.log "$dir"/test/unit/*.log "$dir"/test/fuzz/*.log)
	if [ $rc -ne 0 ]; then
		echo "make check failed:"; cat "$dir"/test/unit/*.log "$dir"/test/fuzz/*.log 2>/dev/null | grep -v '^[0-9]* passed' | tail -40
		[ "$f" -eq 0 ] && f=1 # a crash prints no count
	fi
	echo "$variant unit: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))

	echo "=== $variant: end-to-end tests"
	SOCKS2HTTP_BIN="$top/$dir/src/socks2http" run_pytest "$dir/e2e.out" ${e2e_select[@]+"${e2e_select[@]}"} test/e2e
done

# Once more under valgrind (memcheck, leak checking) on the plain build: the end-to-end
# tests that exercise every code path of a tunnel; any report fails the test.
if [ -x build/plain/src/socks2http ] && command -v valgrind >/dev/null; then
	echo "=== plain under valgrind: end-to-end tests"
	SOCKS2HTTP_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
		SOCKS2HTTP_BIN="$top/build/plain/src/socks2http" run_pytest build/plain/valgrind.out \
		test/e2e/test_curl.py test/e2e/test_clients.py test/e2e/test_replies.py test/e2e/test_tunnel.py \
		test/e2e/test_failover.py test/e2e/test_hostile.py test/e2e/test_env.py \
		test/e2e/test_routes.py test/e2e/test_routes_direct.py test/e2e/test_noproxy.py test/e2e/test_pac.py \
		test/e2e/test_tls_proxy.py test/e2e/test_tls_layouts.py test/e2e/test_auth_digest.py test/e2e/test_auth_ntlm.py test/e2e/test_auth_mixed.py \
		test/e2e/test_auth_negotiate.py
fi

# Fuzzing for a bounded time (FUZZ_SECONDS per parser; CI sets it), with clang.
if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
	echo "=== fuzzing each parser for ${FUZZ_SECONDS}s"
	make -C build/plain fuzz FUZZ_SECONDS="$FUZZ_SECONDS" 2>&1 | tee build/plain/fuzz.out
	p=$(grep -c ', no crash$' build/plain/fuzz.out)
	f=$(grep -c ': CRASH' build/plain/fuzz.out)
	[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1 # the fuzzers did not build
	passed=$((passed + p))
	failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
