"""Faults around the daemon: an upstream that dies mid-transfer, never answers, or cannot be
reached; DNS that is silent, broken or right (through a fake DNS server); the bad-proxy
list; proxies answering garbage; clients resetting mid-handshake.  After each: a prompt
answer to the client, a log line, service goes on, and no fd is left behind."""

import random
import re
import socket
import struct
import threading
import time

import pytest

from fakeproxy import OK, ok, respond, silent
from hardening import blackhole, fakedns, fd_count, wait_fds_back, wait_until  # noqa: F401 (fixtures)
from socksclient import (connect, read_socks5_reply, recv_exact, socks4_open, socks5_greeting,
                         socks5_open, socks5_request, socks5_tunnel)


def serves(d, host="after.example", port=443, data=b"still serving"):
    assert d.alive(), "daemon died"
    s, rep = socks5_open(d.port, host, port, timeout=5)
    assert rep.rep == 0, f"no service after the fault: {rep!r}"
    s.sendall(data)
    assert recv_exact(s, len(data), timeout=5) == data
    s.close()


def baseline_fds(d):
    """fd count once a first tunnel has come and gone (lazy allocations done)."""
    serves(d, "warmup.example")
    time.sleep(0.1)
    return fd_count(d.pid)


def greeted_fds(d):
    """fd count once a first client has been accepted (the owner lookup's netlink socket is
    opened then, and kept), for tests whose proxy never serves a tunnel."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"\x05\x01\x00")
    assert recv_exact(s, 2, timeout=5) == b"\x05\x00"
    s.close()
    d.wait_tunnel()  # its summary line, which the test's own waits then skip
    d.forget_tunnels()
    time.sleep(0.05)
    return fd_count(d.pid)


def eof_or_reset(s, timeout):
    """Reads until EOF or reset; returns (bytes, seconds)."""
    t0 = time.monotonic()
    buf = bytearray()
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
            s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        raise AssertionError(f"connection still open {timeout}s later ({len(buf)} bytes received)")
    return bytes(buf), time.monotonic() - t0


# ---------------------------------------------------------------- upstream dies mid-transfer

def dies_after(nbytes, how, killed):
    """200, then echo until nbytes went back, then close (FIN) or reset (RST); sets killed."""

    def run(ctx):
        conn = ctx.conn
        conn.sendall(OK)
        done = 0
        pending = ctx.extra
        while done < nbytes:
            if not pending:
                pending = conn.recv(65536)
                if not pending:
                    break
            chunk = pending[: nbytes - done]
            conn.sendall(chunk)
            done += len(chunk)
            pending = pending[len(chunk):]
        if how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.shutdown(socket.SHUT_RDWR)
        killed["t"] = time.monotonic()
        conn.close()

    return run


@pytest.mark.parametrize("how", ["close", "reset"])
def test_upstream_killed_mid_transfer(socks2http, fake_proxy, how):
    killed = {}
    fp = fake_proxy(dies_after(100_000, how, killed))
    d = socks2http("-x", fp.url)
    # the warm-up goes through the dying proxy too: give it its own echo budget
    s = socks5_tunnel(d.port, "warmup.example", 443)
    s.sendall(b"w")
    assert recv_exact(s, 1) == b"w"
    s.close()
    d.wait_tunnel(target="warmup.example:443")
    time.sleep(0.1)
    base = greeted_fds(d)

    s = socks5_tunnel(d.port, "victim.example", 443)
    payload = random.Random(1).randbytes(4 << 20)
    sent = {"n": 0, "err": None}

    def sender():
        try:
            s.settimeout(10)
            for off in range(0, len(payload), 16384):
                s.sendall(payload[off:off + 16384])
                sent["n"] = off + 16384
        except OSError as e:
            sent["err"] = e

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got, _ = eof_or_reset(s, 10)
    assert "t" in killed, "the proxy was not killed (test setup)"
    took = time.monotonic() - killed["t"]
    assert took < 2.0, f"client saw the end {took:.2f}s after the upstream died"
    assert payload.startswith(got), "bytes out of order or corrupted before the upstream died"
    assert len(got) <= 100_000
    th.join(12)
    assert not th.is_alive(), "the client's sender is still blocked 12s after the upstream died"
    s.close()
    t = d.wait_tunnel(target="victim.example:443")
    assert t["reason"] in ("upstream-error", "closed"), t
    wait_fds_back(d.pid, base)
    # healthy: the next tunnel works (each connection to the fake proxy has its own budget)
    serves(d, "again.example")


def test_upstream_sends_then_closes_client_gets_everything(socks2http, fake_proxy):
    """The upstream sends 256 KiB and closes at once: all of it reaches the idle client, then EOF."""
    blob = random.Random(2).randbytes(256 << 10)
    fp = fake_proxy(ok(tunnel=blob, then="close"))
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "example.com", 443)
    got, took = eof_or_reset(s, 5)
    assert got == blob, f"got {len(got)} of {len(blob)} bytes before EOF"
    assert took < 2
    s.close()
    d.wait_tunnel(target="example.com:443")
    assert d.alive()


# ---------------------------------------------------------------- upstream silent / unreachable

@pytest.mark.parametrize("version", [5, 4])
def test_upstream_never_answers_reply_timeout(socks2http, fake_proxy, version):
    fp = fake_proxy(silent())
    d = socks2http("-x", fp.url, "--reply-timeout", "1")
    base = greeted_fds(d)
    t0 = time.monotonic()
    if version == 5:
        s, rep = socks5_open(d.port, "example.com", 443, timeout=6)
        code = rep.rep
    else:
        s, code = socks4_open(d.port, "127.0.0.1", 443, timeout=6)
    took = time.monotonic() - t0
    assert code == (0x06 if version == 5 else 91)
    assert 0.8 <= took <= 3.0, f"reply after {took:.2f}s with --reply-timeout 1"
    assert eof_or_reset(s, 3)[0] == b""
    s.close()
    d.wait_tunnel(reason="proxy-reply-timeout")
    assert re.search(r"did not answer CONNECT .* within 1s", d.log())
    wait_fds_back(d.pid, base)


def test_connect_timeout_single_proxy(socks2http, blackhole):
    d = socks2http("-x", f"http://127.0.0.1:{blackhole}", "--connect-timeout", "1")
    base = greeted_fds(d)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=6)
    took = time.monotonic() - t0
    assert rep.rep == 0x01
    assert 0.8 <= took <= 3.0, f"reply after {took:.2f}s with --connect-timeout 1"
    s.close()
    t = d.wait_tunnel(reason="proxy-unreachable")
    assert t["reply"] == "0x01"
    assert re.search(rf"proxy 127\.0\.0\.1:{blackhole}.*(time|connect)", d.log())
    wait_fds_back(d.pid, base)


def test_connect_timeout_fails_over(socks2http, fake_proxy, blackhole):
    fp = fake_proxy(ok())
    d = socks2http("-x", f"http://127.0.0.1:{blackhole}", "-x", fp.url, "--connect-timeout", "1")
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=6)
    took = time.monotonic() - t0
    assert rep.rep == 0
    assert 0.8 <= took <= 3.0, f"failover after {took:.2f}s with --connect-timeout 1"
    s.sendall(b"fo")
    assert recv_exact(s, 2) == b"fo"
    s.close()
    assert d.wait_tunnel()["proxy"] == f"127.0.0.1:{fp.port}"
    # the black hole is now tried last: the next tunnel does not wait for it
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=6)
    assert rep.rep == 0
    assert time.monotonic() - t0 < 0.5
    s.close()


# ---------------------------------------------------------------- DNS through a fake server

def dns_args(dns, timeout="0.3"):
    return ["--dns-servers", dns.addr, "--dns-timeout", timeout]


def test_dns_answer_used_end_to_end(socks2http, fake_proxy, fakedns):
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"proxy.test": "127.0.0.1"})
    d = socks2http("-x", f"http://proxy.test:{fp.port}", *dns_args(dns))
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.sendall(b"resolved")
    assert recv_exact(s, 8) == b"resolved"
    s.close()
    assert ("proxy.test", "A") in dns.queries, dns.queries
    (req,) = fp.wait_requests(1)
    assert req.line == "CONNECT example.com:443 HTTP/1.1"
    assert d.wait_tunnel()["proxy"] == f"proxy.test:{fp.port}"


def test_dns_several_addresses_next_tried(socks2http, fake_proxy, fakedns, closed_port):
    """The name has two addresses; nothing listens on the first (refused): the second is used."""
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"proxy.test": ["127.0.0.2", "127.0.0.1"]})
    d = socks2http("-x", f"http://proxy.test:{fp.port}", *dns_args(dns))
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()
    d.wait_tunnel()
    assert re.search(rf"proxy proxy\.test:{fp.port} \(127\.0\.0\.2:{fp.port}\).*refused", d.log()), d.log()
    assert len(fp.wait_requests(1)) == 1


def test_dns_answer_cached_then_expires(socks2http, fake_proxy, fakedns):
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"proxy.test": "127.0.0.1"})
    d = socks2http("-x", f"http://proxy.test:{fp.port}", "--dns-cache-ttl", "1", *dns_args(dns))
    for _ in range(3):
        serves(d)
    assert dns.names().count("proxy.test") in (1, 2), f"queries: {dns.queries}"  # A (+ AAAA) once
    first = len(dns.queries)
    time.sleep(1.3)
    serves(d)
    assert len(dns.queries) > first, "the cached answer was used after --dns-cache-ttl 1"


def test_dns_silent_prompt_failure(socks2http, fakedns):
    dns = fakedns("silent")
    d = socks2http("-x", "http://proxy.test:3128", *dns_args(dns))
    base = greeted_fds(d)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=10)
    took = time.monotonic() - t0
    assert rep.rep == 0x01
    assert took < 4.0, f"reply 01 after {took:.2f}s with a silent DNS server and --dns-timeout 0.3"
    s.close()
    assert dns.queries, "the daemon did not ask the --dns-servers server"
    d.wait_tunnel(reason="proxy-unreachable")
    assert re.search(r"cannot resolve proxy\.test", d.log())
    assert d.alive()
    wait_fds_back(d.pid, base)


def test_dns_silent_fails_over_to_ip_proxy(socks2http, fake_proxy, fakedns):
    fp = fake_proxy(ok())
    dns = fakedns("silent")
    d = socks2http("-x", "http://proxy.test:3128", "-x", fp.url, *dns_args(dns))
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=10)
    took = time.monotonic() - t0
    assert rep.rep == 0
    assert took < 4.0
    s.sendall(b"ok")
    assert recv_exact(s, 2) == b"ok"
    s.close()
    assert dns.queries
    assert d.wait_tunnel()["proxy"] == f"127.0.0.1:{fp.port}"


@pytest.mark.parametrize("mode", ["garbage", "garbage-id", "servfail", "nxdomain", "loop"])
def test_dns_broken_answers_clean_failure(socks2http, fake_proxy, fakedns, mode):
    fp = fake_proxy(ok())
    dns = fakedns(mode)
    d = socks2http("-x", "http://proxy.test:3128", *dns_args(dns))
    for _ in range(3):
        t0 = time.monotonic()
        s, rep = socks5_open(d.port, "example.com", 443, timeout=10)
        assert rep.rep == 0x01
        assert time.monotonic() - t0 < 4.0
        s.close()
    assert dns.queries
    assert d.alive()
    # with a second proxy given as an address, service goes on
    d2 = socks2http("-x", "http://proxy.test:3128", "-x", fp.url, *dns_args(dns))
    serves(d2)


def test_dns_many_concurrent_lookups_silent(socks2http, fakedns):
    """50 clients at once while DNS is silent: all get 01 within the bound, none hangs."""
    dns = fakedns("silent")
    d = socks2http("-x", "http://proxy.test:3128", *dns_args(dns))
    socks = []
    t0 = time.monotonic()
    for i in range(50):
        c = connect(d.port)
        c.sendall(socks5_greeting() + socks5_request(f"t{i}.example", 443))
        socks.append(c)
    for c in socks:
        assert recv_exact(c, 2, timeout=6) == b"\x05\x00"
        assert read_socks5_reply(c, timeout=6).rep == 0x01
        c.close()
    assert time.monotonic() - t0 < 6
    assert d.alive()


# ---------------------------------------------------------------- the bad-proxy list

def dead_attempts(d, port):
    return [l for l in d.log().splitlines() if re.search(rf"proxy 127\.0\.0\.1:{port} \(.*connect", l)]


def tried_last(d, port):
    return [l for l in d.log().splitlines() if re.search(rf"proxy 127\.0\.0\.1:{port} is unreachable: trying it last", l)]


def served_and_logged(d, host):
    """A tunnel through d, and its log line (every line logged for it comes before)."""
    serves(d, host)
    return d.wait_tunnel(target=f"{host}:443")


def test_bad_proxy_tried_last_then_retried(socks2http, fake_proxy, closed_port):
    fp = fake_proxy(ok())
    d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "-x", fp.url, "--proxy-retry", "1")
    t0 = time.monotonic()
    assert served_and_logged(d, "t1.example")["proxy"] == f"127.0.0.1:{fp.port}"
    assert len(dead_attempts(d, closed_port)) == 1, d.log()
    assert len(tried_last(d, closed_port)) == 1, d.log()
    for i in range(3):
        served_and_logged(d, f"t{i + 2}.example")
    assert time.monotonic() - t0 < 0.9, "test too slow for --proxy-retry 1"
    assert len(dead_attempts(d, closed_port)) == 1, "the dead proxy was tried again within --proxy-retry"
    time.sleep(1.2)
    served_and_logged(d, "t5.example")
    assert len(dead_attempts(d, closed_port)) == 2, "the dead proxy was not tried again after --proxy-retry"
    assert len(tried_last(d, closed_port)) == 2
    assert len(fp.requests) == 5


def test_bad_proxy_default_retry_30s(socks2http, fake_proxy, closed_port):
    fp = fake_proxy(ok())
    d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "-x", fp.url)
    served_and_logged(d, "t1.example")
    m = re.search(r"trying it last for (\S+)s", d.log())
    assert m and float(m.group(1)) == 30
    time.sleep(1.2)
    served_and_logged(d, "t2.example")
    assert len(dead_attempts(d, closed_port)) == 1


def test_all_proxies_down_still_tried(socks2http, closed_port):
    """Both proxies on the bad list: they are still tried (as a last resort), not skipped."""
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    try:
        p2 = other.getsockname()[1]
        d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "-x", f"http://127.0.0.1:{p2}")
        for _ in range(2):
            s, rep = socks5_open(d.port, "example.com", 443)
            assert rep.rep == 0x01
            s.close()
        d.wait_tunnels(2, reason="proxy-unreachable")
        assert len(dead_attempts(d, closed_port)) == 2
        assert len(dead_attempts(d, p2)) == 2
    finally:
        other.close()


# ---------------------------------------------------------------- proxies answering garbage

_rng = random.Random(7)
GARBAGE = {
    "random-close": (_rng.randbytes(1024), "close"),
    "random-crlf": (_rng.randbytes(2048) + b"\r\n\r\n", "hold"),
    "status-2000": (b"HTTP/1.1 2000 OK\r\n\r\n", "hold"),
    "status-20": (b"HTTP/1.1 20 OK\r\n\r\n", "hold"),
    "status-letters": (b"HTTP/1.1 2OO OK\r\n\r\n", "hold"),
    "status-negative": (b"HTTP/1.1 -200 OK\r\n\r\n", "hold"),
    "not-http": (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "hold"),
    "nul-in-header": (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", "hold"),
    "header-no-colon": (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "hold"),
    "blank-only": (b"\r\n\r\n", "hold"),
    "truncated-close": (b"HTTP/1.1 200 Connection est", "close"),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_proxy_garbage_answer(socks2http, fake_proxy, name):
    head, then = GARBAGE[name]
    fp = fake_proxy(respond(head, then=then))
    d = socks2http("-x", fp.url, "--reply-timeout", "3")
    base = greeted_fds(d)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443, timeout=6)
    assert rep.rep == 0x01, f"{name}: SOCKS5 reply {rep!r}"
    took = time.monotonic() - t0
    assert took < 1.5, f"01 only after {took:.2f}s: the garbage was not recognised (reply timeout?)"
    assert eof_or_reset(s, 3)[0] == b""
    s.close()
    t = d.wait_tunnel()
    assert t["reply"] == "0x01"
    assert t["reason"] == "bad-proxy-reply", t
    wait_fds_back(d.pid, base)
    assert d.alive()


# ---------------------------------------------------------------- clients resetting mid-handshake

def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def hold_noting(closed_events):
    """Never answers; notes when the daemon closes the upstream connection."""

    def run(ctx):
        ctx.conn.settimeout(10)
        try:
            while ctx.conn.recv(4096):
                pass
        except OSError:
            pass
        closed_events.append(time.monotonic())

    return run


HALF = {
    "half-greeting": b"\x05\x02\x00",
    "greeting-half-request": socks5_greeting() + b"\x05\x01\x00\x03\x0bexam",
    "socks4-half-userid": b"\x04\x01\x01\xbb\x7f\x00\x00\x01user",
    "socks4a-half-name": b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00exa",
}


@pytest.mark.parametrize("name", list(HALF))
def test_client_reset_mid_handshake(socks2http, fake_proxy, name):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    base = baseline_fds(d)
    for _ in range(20):
        c = connect(d.port)
        c.sendall(HALF[name])
        time.sleep(0.005)
        rst_close(c)
    wait_until(lambda: len([t for t in d.tunnels() if t["target"] != "warmup.example:443"]) >= 20, 5,
               what="20 tunnel log lines")
    wait_fds_back(d.pid, base)
    assert len(fp.requests) == 1  # the warm-up only
    serves(d)


def test_client_reset_while_waiting_for_proxy(socks2http, fake_proxy):
    """The client resets after its request, before the proxy answered: the daemon drops the
    upstream connection too, at once."""
    events = []
    fp = fake_proxy(hold_noting(events))
    d = socks2http("-x", fp.url, "--reply-timeout", "30")
    base = greeted_fds(d)
    for i in range(10):
        c = connect(d.port)
        c.sendall(socks5_greeting() + socks5_request("example.com", 443))
        assert recv_exact(c, 2) == b"\x05\x00"
        fp.wait_requests(i + 1)
        t0 = time.monotonic()
        rst_close(c)
        wait_until(lambda: len(events) == i + 1, 3, what="the upstream connection closed after the client reset")
        assert events[-1] - t0 < 1.0
    wait_fds_back(d.pid, base)
    assert len(d.wait_tunnels(10)) == 10
    assert d.alive()


def test_client_reset_mid_relay(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    base = baseline_fds(d)
    blob = random.Random(3).randbytes(1 << 20)
    for i in range(10):
        s = socks5_tunnel(d.port, "example.com", 443)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        try:
            s.sendall(blob[: 256 << 10])
        except socket.timeout:
            pass
        rst_close(s)
    wait_until(lambda: len(d.tunnels()) >= 11, 5, what="11 tunnel lines")
    wait_fds_back(d.pid, base)
    serves(d)
