"""Established tunnels: half-close in each direction, byte counters, idle and linger
timeouts.  Upstream is the fake proxy relaying to an acceptor (tinyproxy and squid do not
carry half-closes themselves)."""

import os
import socket
import struct
import threading
import time

import pytest

from bulkdata import RELAY_MODES
from fakeproxy import OK, ok, relay
from socksclient import (connect, read_socks5_reply, recv_exact, recv_until_eof, socks4_open,
                         socks5_greeting, socks5_request, socks5_tunnel)


@pytest.fixture(params=RELAY_MODES)
def path(socks2http, fake_proxy, acceptor, request):
    """(daemon, fake proxy, origin acceptor) with the fake proxy relaying to the target;
    each test runs with splice(2) and with --no-splice."""

    def make(*args):
        a = acceptor()
        fp = fake_proxy(relay())
        d = socks2http("-x", fp.url, *request.param, *args)
        return d, fp, a

    return make


def test_client_half_close(path):
    d, fp, a = path()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    s.sendall(b"request then EOF")
    s.shutdown(socket.SHUT_WR)
    # the origin sees the EOF...
    assert recv_until_eof(o, 5) == b"request then EOF"
    # ...and its answer, sent afterwards, still reaches the client
    answer = os.urandom(300_000)
    o.sendall(answer)
    o.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s, 10) == answer
    s.close()
    o.close()
    t = d.wait_tunnel()
    assert t["up"] == "16" and t["down"] == str(len(answer))


def test_origin_half_close(path):
    d, fp, a = path()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.sendall(b"server says bye")
    o.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s, 5) == b"server says bye"
    # the client can still talk after the server's EOF
    late = os.urandom(200_000)
    s.sendall(late)
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(o, 10) == late
    o.close()
    s.close()
    t = d.wait_tunnel()
    assert t["up"] == str(len(late)) and t["down"] == "15"


def test_socks4_client_half_close(path):
    d, fp, a = path()
    s, code = socks4_open(d.port, "127.0.0.1", a.port)
    assert code == 90
    o = a.accept()
    s.sendall(b"q")
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(o, 5) == b"q"
    o.sendall(b"a")
    o.close()
    assert recv_until_eof(s, 5) == b"a"
    s.close()


def test_exact_byte_counters(path):
    d, fp, a = path()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    up, down = os.urandom(12345), os.urandom(54321)
    t = threading.Thread(target=o.sendall, args=(down,))
    t.start()
    s.sendall(up)
    assert recv_exact(o, len(up)) == up
    assert recv_exact(s, len(down)) == down
    t.join(10)
    s.close()
    o.close()
    line = d.wait_tunnel(target=f"127.0.0.1:{a.port}")
    assert (line["up"], line["down"]) == ("12345", "54321")
    assert line["http"] == "200" and line["reply"] == "0x00" and line["socks"] == "5"


def test_reset_by_origin_ends_tunnel(path):
    d, fp, a = path()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    o.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    o.close()
    try:
        assert recv_until_eof(s, 5) == b""
    except ConnectionResetError:
        pass
    s.close()
    d.wait_tunnel()


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_proxy_reset_reaches_client_as_reset(socks2http, fake_proxy, mode):
    """The proxy resets the connection in the middle of a transfer: the client gets a reset
    too, not a clean end that would pass the cut-off data for all of it."""
    def run(ctx):
        ctx.conn.sendall(OK + b"partial body")
        time.sleep(0.3)
        ctx.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ctx.conn.close()

    fp = fake_proxy(run)
    d = socks2http("-x", fp.url, *mode)
    s = socks5_tunnel(d.port, "example.com", 80)
    got = b""
    with pytest.raises(ConnectionResetError):
        while True:
            chunk = s.recv(4096)
            assert chunk, f"a clean end after {got!r}"
            got += chunk
    assert got == b"partial body"
    s.close()
    assert d.wait_tunnel()["reason"] == "upstream-error"


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_client_reset_reaches_proxy_as_reset(socks2http, fake_proxy, mode):
    """And the other way: a client that resets makes the proxy's connection a reset."""
    seen = {}

    def run(ctx):
        ctx.conn.sendall(OK)
        ctx.conn.settimeout(5)
        try:
            while ctx.conn.recv(4096):
                pass
            seen["end"] = "clean"
        except ConnectionResetError:
            seen["end"] = "reset"
        except OSError as e:
            seen["end"] = repr(e)

    fp = fake_proxy(run)
    d = socks2http("-x", fp.url, *mode)
    s = socks5_tunnel(d.port, "example.com", 80)
    s.sendall(b"upload, cut short")
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    assert d.wait_tunnel()["reason"] == "client-error"
    deadline = time.monotonic() + 5
    while "end" not in seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.get("end") == "reset", seen


def test_no_idle_timeout_by_default(path):
    d, fp, a = path()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    time.sleep(1.5)
    s.sendall(b"still there?")
    assert recv_exact(o, 12) == b"still there?"
    o.sendall(b"yes")
    assert recv_exact(s, 3) == b"yes"
    s.close()
    o.close()


def test_idle_timeout(path):
    d, fp, a = path("--idle-timeout", "1")
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    s.sendall(b"a")
    assert recv_exact(o, 1) == b"a"
    t0 = time.monotonic()
    assert recv_until_eof(s, 6) == b""
    took = time.monotonic() - t0
    assert 0.7 <= took <= 3.5, f"idle tunnel closed after {took:.2f}s with --idle-timeout 1"
    assert recv_until_eof(o, 5) == b""
    s.close()
    o.close()


def test_linger_timeout_after_half_close(path):
    d, fp, a = path("--linger-timeout", "1")
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    s.sendall(b"bye")
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(o, 5) == b"bye"
    # the origin never answers nor closes: the half-closed tunnel goes after ~1 s
    t0 = time.monotonic()
    assert recv_until_eof(s, 6) == b""
    took = time.monotonic() - t0
    assert took <= 3.5, f"half-closed tunnel lived {took:.2f}s with --linger-timeout 1"
    s.close()
    o.close()


def test_client_half_close_before_proxy_answered(socks2http, fake_proxy, acceptor):
    """Request, data and FIN all sent before the 2xx: the data and then the FIN follow it."""
    a = acceptor()
    fp = fake_proxy(relay(wait_before=0.3))
    d = socks2http("-x", fp.url)
    s = connect(d.port)
    s.sendall(socks5_greeting() + socks5_request("127.0.0.1", a.port) + b"early and final")
    s.shutdown(socket.SHUT_WR)
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 0
    o = a.accept()
    assert recv_until_eof(o, 5) == b"early and final"
    o.sendall(b"answer")
    o.close()
    assert recv_until_eof(s, 5) == b"answer"
    s.close()
    assert fp.wait_requests(1)[0].pre_reply == b""


def test_proxy_sends_data_and_closes_right_after_200(socks2http, fake_proxy):
    fp = fake_proxy(ok(tunnel=b"last words", then="close"))
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "example.com", 443)
    assert recv_until_eof(s, 5) == b"last words"
    s.close()
    t = d.wait_tunnel()
    assert t["down"] == "10" and t["http"] == "200"
