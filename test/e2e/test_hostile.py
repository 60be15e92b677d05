"""Malformed, truncated, oversized and stalled SOCKS input.  After each, nothing reached
the upstream and the daemon still serves a normal request."""

import random
import socket
import struct
import time

import pytest

from fakeproxy import ok
from socksclient import (connect, read_socks4_reply, read_socks5_reply, recv_exact, recv_until_eof,
                         socks4_request, socks4a_request, socks5_greeting, socks5_open, socks5_request)


@pytest.fixture
def setup(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    return d, fp


def still_serves(d, fp, nrequests_before=0):
    assert d.alive(), "daemon died"
    assert len(fp.requests) == nrequests_before, f"unexpected CONNECT(s): {fp.requests}"
    s, rep = socks5_open(d.port, "after.example", 443)
    assert rep.rep == 0
    s.sendall(b"still alive")
    assert recv_exact(s, 11) == b"still alive"
    s.close()
    req = fp.wait_requests(nrequests_before + 1)[-1]
    assert req.line == "CONNECT after.example:443 HTTP/1.1"


def send_ignoring_reset(s, data):
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def closed_with(s, timeout=5.0):
    """What the daemon sent before closing; fails if it keeps the connection open."""
    try:
        return recv_until_eof(s, timeout)
    except ConnectionResetError:
        return b""


# ---------------------------------------------------------------- bad versions and methods

@pytest.mark.parametrize("data", [
    b"\x06\x01\x00",
    b"\x00\x01\x00",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
], ids=["v6", "v0", "tls-hello"])
def test_wrong_version_byte_closes_silently(setup, data):
    d, fp = setup
    s = connect(d.port)
    send_ignoring_reset(s, data)
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
], ids=["http-get", "http-connect"])
def test_http_client_with_no_http_closes_silently(socks2http, fake_proxy, data):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--no-http")
    s = connect(d.port)
    send_ignoring_reset(s, data)
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


def test_http_origin_form_for_another_host_is_400_and_closed(setup):
    """An HTTP client is served on the port, but a request in origin form naming another
    host (a rebound name) gets 400 and the connection ends; nothing reaches the proxy."""
    d, fp = setup
    s = connect(d.port)
    send_ignoring_reset(s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed_with(s).startswith(b"HTTP/1.1 400 ")
    s.close()
    still_serves(d, fp)


def test_socks5_zero_methods(setup):
    d, fp = setup
    s = connect(d.port)
    s.sendall(b"\x05\x00")
    assert closed_with(s) in (b"", b"\x05\xff")
    s.close()
    still_serves(d, fp)


@pytest.mark.parametrize("methods", [(0x02,), (0x01, 0x02, 0x80), (0xFF,)])
def test_socks5_no_acceptable_method(setup, methods):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks5_greeting(methods))
    assert closed_with(s) == b"\x05\xff"
    s.close()
    still_serves(d, fp)


def test_socks5_picks_no_auth_among_offered(setup):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks5_greeting((0x02, 0x01, 0x00)))
    assert recv_exact(s, 2) == b"\x05\x00"
    s.sendall(socks5_request("example.com", 443))
    assert read_socks5_reply(s).rep == 0
    s.close()


@pytest.mark.parametrize("cmd", [2, 3, 9])
def test_socks5_unsupported_command(setup, cmd):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks5_greeting() + socks5_request("example.com", 443, cmd=cmd))
    assert recv_exact(s, 2) == b"\x05\x00"
    rep = read_socks5_reply(s)
    assert rep.rep == 0x07, rep
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


def test_socks4_bind_rejected(setup):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks4_request("10.0.0.1", 443, cmd=2))
    assert read_socks4_reply(s)[0] == 91
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


@pytest.mark.parametrize("atyp", [0x00, 0x02, 0x05, 0xFF])
def test_socks5_unknown_address_type(setup, atyp):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks5_greeting() + bytes([5, 1, 0, atyp]) + b"\x7f\x00\x00\x01\x01\xbb")
    assert recv_exact(s, 2) == b"\x05\x00"
    rep = read_socks5_reply(s)
    assert rep.rep == 0x08, rep
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


# ---------------------------------------------------------------- truncated input

@pytest.mark.parametrize("data,answer", [
    (b"\x05", b""),
    (b"\x05\x03\x00\x01", b""),
    (b"\x05\x01\x00\x05\x01", b"\x05\x00"),
    (b"\x05\x01\x00\x05\x01\x00\x03\x0bexam", b"\x05\x00"),
    (b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00", b"\x05\x00"),
    (b"\x05\x01\x00\x05\x01\x00\x04" + b"\x00" * 15, b"\x05\x00"),
    (b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x01", b"\x05\x00"),
    (b"\x04\x01\x00\x50", b""),
    (b"\x04\x01\x00\x50\x7f\x00\x00\x01user", b""),
    (b"\x04\x01\x00\x50\x00\x00\x00\x01user\x00exam", b""),
], ids=["v5-1", "v5-greeting", "v5-req-head", "v5-name", "v5-ipv4", "v5-ipv6", "v5-port",
        "v4-head", "v4-userid", "v4a-name"])
def test_truncated_then_eof(setup, data, answer):
    """EOF in the middle of a message: closed at once (not at the 10 s handshake timeout)."""
    d, fp = setup
    s = connect(d.port)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    assert closed_with(s, 4) == answer
    assert time.monotonic() - t0 < 3
    s.close()
    still_serves(d, fp)


# ---------------------------------------------------------------- oversized garbage

@pytest.mark.parametrize("first", [b"\x01", b"\x05", b"\x04\x01\x01\xbb\x0a\x00\x00\x01"],
                         ids=["no-version", "socks5", "socks4-endless-userid"])
def test_300k_of_garbage(setup, first):
    d, fp = setup
    rnd = random.Random(1928)
    garbage = first + bytes(rnd.randrange(1, 256) for _ in range(300 * 1024))  # no NUL bytes
    s = connect(d.port)
    send_ignoring_reset(s, garbage)
    got = closed_with(s, 5)
    assert len(got) <= 12, f"{len(got)} bytes in answer to garbage"
    assert not got.startswith(b"\x05\x00\x00") and got[1:2] != b"\x5a", got
    s.close()
    still_serves(d, fp)


# ---------------------------------------------------------------- stalled clients

@pytest.mark.parametrize("data", [b"", b"\x05", socks5_greeting(), socks5_greeting() + b"\x05\x01\x00\x03",
                                  b"\x04\x01\x00\x50\x7f\x00"],
                         ids=["silent", "v5-partial-greeting", "v5-no-request", "v5-partial-request",
                              "v4-partial"])
def test_handshake_timeout(socks2http, fake_proxy, data):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--handshake-timeout", "1")
    s = connect(d.port)
    t0 = time.monotonic()
    if data:
        s.sendall(data)
    got = closed_with(s, 6)
    took = time.monotonic() - t0
    assert got in (b"", b"\x05\x00")
    assert 0.7 <= took <= 3.5, f"closed after {took:.2f}s with --handshake-timeout 1"
    s.close()
    still_serves(d, fp)


def test_many_idle_connections_then_service(socks2http, fake_proxy):
    """100 clients connect and say nothing; a normal client is still served meanwhile."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--handshake-timeout", "5")
    idle = [connect(d.port) for _ in range(100)]
    try:
        still_serves(d, fp)
    finally:
        for s in idle:
            s.close()


def test_connect_and_drop_storm(setup):
    d, fp = setup
    for i in range(200):
        s = connect(d.port)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        if i % 3 == 0:
            s.sendall(socks5_greeting())
        s.close()
    still_serves(d, fp)


# ---------------------------------------------------------------- bad names

BAD_NAMES = [b"exa\x00mple.com", b"a b.example", b"evil.example\r\nX-Injected: 1", b"evil.example\n",
             b"", b"host:80", b"a/b", b"[::1]", b"\xff\xfe", b"x\tab"]
BAD_IDS = ["nul", "space", "crlf", "lf", "empty", "colon", "slash", "brackets", "high-bytes", "tab"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=BAD_IDS)
def test_socks5_bad_name_rejected(setup, name):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks5_greeting() + b"\x05\x01\x00\x03" + bytes([len(name)]) + name + b"\x01\xbb")
    assert recv_exact(s, 2) == b"\x05\x00"
    rep = read_socks5_reply(s)
    assert rep.rep != 0, rep
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if b"\x00" not in n],
                         ids=[i for n, i in zip(BAD_NAMES, BAD_IDS) if b"\x00" not in n])
def test_socks4a_bad_name_rejected(setup, name):
    d, fp = setup
    s = connect(d.port)
    s.sendall(socks4a_request(name, 443))
    assert read_socks4_reply(s)[0] == 91
    assert closed_with(s) == b""
    s.close()
    still_serves(d, fp)


def test_longest_name_accepted(setup):
    d, fp = setup
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 63])  # 255 bytes
    assert len(name) == 255
    s, rep = socks5_open(d.port, name, 443)
    assert rep.rep == 0
    (req,) = fp.wait_requests(1)
    assert req.line == f"CONNECT {name}:443 HTTP/1.1"
    s.close()
