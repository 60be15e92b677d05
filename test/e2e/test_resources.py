"""Resource bounds under hostile or heavy load: slowloris handshakes, --max-tunnels, an
oversized proxy header, a bounded soak (2,000 checksummed tunnels mixed with garbage and
abandoned connections; fds and memory must come back), and running out of file descriptors
(no spinning, one rate-limited error line, recovery; the soft limit raised at start)."""

import random
import re
import resource
import selectors
import socket
import struct
import time

import pytest

from fakeproxy import ok, respond
from hardening import (cpu_seconds, fd_count, nofile_limits, run_echo_wave, socks2http_rlimit,  # noqa: F401
                       wait_fds_back)
from socksclient import (connect, read_socks5_reply, recv_exact, socks5_greeting, socks5_open, socks5_request,
                         socks5_tunnel)


def sanitized(binary):
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"AddressSanitizer" in data


def serves(d, host="normal.example", data=b"normal client", timeout=5):
    s, rep = socks5_open(d.port, host, 443, timeout=timeout)
    assert rep.rep == 0, f"normal client refused: {rep!r}"
    s.sendall(data)
    assert recv_exact(s, len(data), timeout=timeout) == data
    s.close()


# ---------------------------------------------------------------- slowloris

SLOW_KINDS = [
    b"\x05\xff" + bytes(range(1, 256)),                               # 255 methods, one at a time
    b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 400,                 # SOCKS4 user id without end
    socks5_greeting() + b"\x05\x01\x00\x03\xff" + b"a" * 255,         # SOCKS5 name, byte by byte
    b"\x04\x01\x00\x50\x00\x00\x00\x01\x00" + b"n" * 400,             # SOCKS4a name without end
]


def test_slowloris_handshakes_are_cut(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--handshake-timeout", "1")
    n = 50
    sel = selectors.DefaultSelector()
    conns = {}
    for i in range(n):
        s = connect(d.port)
        s.setblocking(False)
        kind = SLOW_KINDS[i % len(SLOW_KINDS)]
        s.send(kind[:1])
        conns[s] = {"kind": kind, "off": 1, "t0": time.monotonic(), "closed": None}
        sel.register(s, selectors.EVENT_READ)
    served_at = None
    start = time.monotonic()
    next_tick = start + 0.5
    try:
        while time.monotonic() - start < 6 and any(c["closed"] is None for c in conns.values()):
            now = time.monotonic()
            if served_at is None and now - start > 0.3:
                serves(d)  # a normal client is served while 50 slow ones hang around
                served_at = time.monotonic() - start
            if now >= next_tick:
                next_tick += 0.5
                for s, c in conns.items():
                    if c["closed"] is None and c["off"] < len(c["kind"]):
                        try:
                            s.send(c["kind"][c["off"]:c["off"] + 1])
                            c["off"] += 1
                        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                            pass
            for key, _ in sel.select(max(0.01, min(0.1, next_tick - time.monotonic()))):
                s = key.fileobj
                c = conns[s]
                try:
                    data = s.recv(64)
                except ConnectionResetError:
                    data = b""
                except BlockingIOError:
                    continue
                if not data:
                    c["closed"] = time.monotonic() - c["t0"]
                    sel.unregister(s)
                elif data not in (b"\x05\x00", b"\x05\xff"):
                    raise AssertionError(f"slow client got {data.hex()}")
    finally:
        sel.close()
        for s in conns:
            s.close()
    lives = sorted(c["closed"] for c in conns.values() if c["closed"] is not None)
    assert len(lives) == n, f"{n - len(lives)} of {n} slow clients still connected after 6s"
    assert lives[0] >= 0.8, f"a slow client was cut after {lives[0]:.2f}s, before --handshake-timeout 1"
    assert lives[-1] <= 2.5, f"a slow client was cut only after {lives[-1]:.2f}s with --handshake-timeout 1"
    assert served_at is not None and served_at < 2
    cut = d.wait_tunnels(n, reason="handshake-timeout")
    assert len(cut) == n
    assert len(fp.requests) == 1  # the normal client only


# ---------------------------------------------------------------- --max-tunnels

def test_max_tunnels_sixth_waits_in_backlog(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--max-tunnels", "5")
    five = [socks5_tunnel(d.port, "example.com", 1000 + i) for i in range(5)]
    sixth = connect(d.port)
    sixth.sendall(socks5_greeting() + socks5_request("example.com", 2000))
    sixth.settimeout(1.0)
    try:
        early = sixth.recv(1)
    except socket.timeout:
        early = None
    assert early is None, f"a 6th client got an answer with --max-tunnels 5: {early!r}"
    assert len(fp.requests) == 5
    for s in five[1:]:
        s.sendall(b"alive")
        assert recv_exact(s, 5) == b"alive"
    t0 = time.monotonic()
    five[0].close()
    assert recv_exact(sixth, 2, timeout=5) == b"\x05\x00"
    assert read_socks5_reply(sixth).rep == 0
    assert time.monotonic() - t0 < 2
    sixth.sendall(b"sixth")
    assert recv_exact(sixth, 5) == b"sixth"
    for s in five[1:] + [sixth]:
        s.close()
    assert "access-denied" not in d.log()


# ---------------------------------------------------------------- oversized proxy header

def padded_200(total):
    head = b"HTTP/1.1 200 Connection established\r\n"
    i = 0
    while len(head) < total - 1100:
        head += b"X-Pad-%04d: %s\r\n" % (i, b"p" * 1000)
        i += 1
    return head + b"\r\n"


@pytest.mark.parametrize("head", [padded_200(40 * 1024), b"HTTP/1.1 200 OK\r\nX-Long: " + b"l" * 40000 + b"\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nX-Endless: " + b"e" * 200000],
                         ids=["40k-of-headers", "40k-line", "never-ending"])
def test_proxy_header_too_large(socks2http, fake_proxy, head):
    fp = fake_proxy(respond(head, then="hold"))
    d = socks2http("-x", fp.url, "--reply-timeout", "5")
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0x01, rep
    assert time.monotonic() - t0 < 2, "an oversized header was not cut at its size bound"
    s.close()
    t = d.wait_tunnel()
    assert t["reason"] == "bad-proxy-reply", t
    assert re.search(r"too large", d.log())


def test_proxy_header_just_below_bound_accepted(socks2http, fake_proxy):
    fp = fake_proxy(ok(head=padded_200(24 * 1024)))
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "example.com", 443)
    s.sendall(b"fine")
    assert recv_exact(s, 4) == b"fine"
    s.close()


# ---------------------------------------------------------------- bounded soak

WAVES = 10
PER_WAVE = 200
GARBAGE_PER_WAVE = 20
ABANDONED_PER_WAVE = 20


def garbage_and_abandoned(port, rng):
    """Connections that never make a tunnel: junk bytes, silence, half a handshake."""
    for i in range(GARBAGE_PER_WAVE):
        s = connect(port, timeout=5)
        junk = rng.randbytes(rng.randint(1, 600))
        if i % 3 == 0:
            junk = b"\x05" + junk  # looks like SOCKS5 for one byte
        elif i % 3 == 1:
            junk = b"GET / HTTP/1.1\r\n" + junk
        try:
            s.sendall(junk)
        except OSError:
            pass
        s.close()
    for i in range(ABANDONED_PER_WAVE):
        s = connect(port, timeout=5)
        if i % 2:
            s.sendall([b"\x05\x01", socks5_greeting() + b"\x05\x01\x00", b"\x04\x01\x00\x50"][i % 3])
        if i % 4 == 3:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def test_soak_2000_tunnels_fds_and_memory_come_back(socks2http, fake_proxy, binary):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    serves(d, "warmup.example")
    d.wait_tunnel(target="warmup.example:443")
    base_fds = fd_count(d.pid)
    rng = random.Random(2024)
    rss_first = None
    deadline = time.monotonic() + 75
    total_ok = 0
    lengths = []
    for wave in range(WAVES):
        assert time.monotonic() < deadline, f"soak too slow: wave {wave} of {WAVES} after 75s"
        payloads = [rng.randbytes(rng.randint(4096, 65536)) for _ in range(PER_WAVE)]
        lengths += [len(p) for p in payloads]
        garbage_and_abandoned(d.port, rng)
        errors = run_echo_wave(d.port, payloads, timeout=30)
        bad = [(i, e) for i, e in enumerate(errors) if e]
        assert not bad, f"wave {wave}: {len(bad)} of {PER_WAVE} tunnels failed, first: {bad[:3]}"
        total_ok += PER_WAVE
        if wave == 0:
            wait_fds_back(d.pid, base_fds, timeout=10)
            rss_first = d.rss_kib()
    assert total_ok == WAVES * PER_WAVE
    assert d.alive()
    # every tunnel logged, every one of them fully carried
    lines = d.wait_tunnels(WAVES * PER_WAVE, timeout=20, target="echo.example:7")
    sizes = sorted(int(t["up"]) for t in lines)
    assert all(t["reply"] == "0x00" for t in lines)
    assert all(t["up"] == t["down"] for t in lines), "a tunnel's up and down byte counts differ"
    assert sizes == sorted(lengths), "the tunnels' byte counts are not the payloads' sizes"
    wait_fds_back(d.pid, base_fds, timeout=10)
    rss_end = d.rss_kib()
    slack = 64 * 1024 if sanitized(binary) else 4 * 1024
    print(f"VmRSS after wave 1: {rss_first} KiB, after wave {WAVES}: {rss_end} KiB")
    assert rss_end - rss_first <= slack, f"VmRSS grew from {rss_first} KiB after wave 1 to {rss_end} KiB"
    serves(d, "after-soak.example")


# ---------------------------------------------------------------- file descriptors

FD_LINE = r"(warn|error): .*(file descriptors|open-file limit|Too many open files)"


def hold_clients(port, n):
    """n clients that each send a full request and keep their connection (served or not)."""
    out = []
    for i in range(n):
        c = connect(port, timeout=5)
        c.sendall(socks5_greeting() + socks5_request("hold.example", 1000 + i))
        out.append(c)
    return out


def answers(clients):
    """What each client got so far: None (nothing), "method" (only the method selection),
    "closed", or the SOCKS5 reply code."""
    out = []
    for c in clients:
        c.setblocking(False)
        try:
            b = c.recv(64)
        except BlockingIOError:
            b = None
        except ConnectionResetError:
            b = b""
        c.settimeout(5)
        if b is None:
            out.append(None)
        elif b == b"":
            out.append("closed")
        elif len(b) >= 4:
            out.append(b[3])
        else:
            out.append("method")
    return out


def recovers(d, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            serves(d, "after.example", timeout=3)
            return
        except (AssertionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_fd_limit_at_start_low(socks2http_rlimit, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http_rlimit("-x", fp.url, nofile=(64, 64))
    assert nofile_limits(d.pid) == (64, 64)
    clients = hold_clients(d.port, 80)
    try:
        time.sleep(0.5)
        c0 = cpu_seconds(d.pid)
        time.sleep(3.0)
        used = cpu_seconds(d.pid) - c0
        assert used < 0.5, f"daemon used {used:.2f}s of CPU in 3s at its fd limit (spinning?)"
        assert d.alive()
        got = answers(clients)
        assert 0x02 not in got, f"clients refused by policy under fd pressure: {got}"
        served = got.count(0)
        assert served >= 1, f"no client served at all: {got}"
        fd_lines = [l for l in d.log().splitlines() if re.search(FD_LINE, l)]
        assert len(fd_lines) == 1, "want exactly one line about file descriptors:\n" + "\n".join(fd_lines[:20])
        assert fd_count(d.pid) <= 64
    finally:
        for c in clients:
            c.close()
    recovers(d)
    assert len([l for l in d.log().splitlines() if re.search(FD_LINE, l)]) == 1


def test_fd_exhaustion_at_runtime_one_error_no_spin(socks2http, fake_proxy):
    """The limit drops under the running daemon (prlimit): accept() and socket() hit EMFILE.
    Wanted: no spinning, ONE (rate-limited) error line, no client of the daemon's own user
    refused as 'not allowed', and service again once fds come free."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    serves(d, "warmup.example")
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (48, 48))
    problems = []
    clients = hold_clients(d.port, 80)
    try:
        time.sleep(0.5)
        c0 = cpu_seconds(d.pid)
        time.sleep(3.0)
        used = cpu_seconds(d.pid) - c0
        assert used < 0.5, f"daemon used {used:.2f}s of CPU in 3s out of fds (spinning?)"
        assert d.alive()
        got = answers(clients)
        fd_lines = [l for l in d.log().splitlines() if re.search(FD_LINE, l)]
        refused = [i for i, g in enumerate(got) if g == 0x02]
        if refused:
            problems.append(f"{len(refused)} clients of the daemon's own user got 02 (not allowed) because fds "
                            "ran out:\n  " + "\n  ".join([l for l in d.log().splitlines()
                                                          if "refusing client" in l][:3]))
        if len(fd_lines) != 1:
            problems.append(f"{len(fd_lines)} warn/error lines about file descriptors in 3.5s, want one "
                            "(rate-limited):\n  " + "\n  ".join(fd_lines[:8]))
    finally:
        for c in clients:
            c.close()
    recovers(d)
    assert not problems, "\n".join(problems)


def test_soft_fd_limit_raised_to_hard_at_start(socks2http_rlimit, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http_rlimit("-x", fp.url, nofile=(256, 4096))
    assert nofile_limits(d.pid) == (4096, 4096)
    serves(d)
    # --max-tunnels is fitted to the raised limit, not to the soft limit it started with
    m = re.search(r"lowered to \d+: the open-file limit is (\d+)", d.log())
    assert m is None or m.group(1) == "4096", m.group(0)
