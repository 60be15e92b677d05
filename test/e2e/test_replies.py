"""The CONNECT request socks2http sends, and the SOCKS reply it makes of each answer,
against the scripted upstream (fakeproxy.py)."""

import base64
import socket
import threading
import time

import pytest

import fakeproxy
from fakeproxy import OK, dribble, ok, respond
from socksclient import (connect, read_socks4_reply, read_socks5_reply, recv_exact, recv_until_eof,
                         socks4_open, socks4a_request, socks5_greeting, socks5_open, socks5_request)

# ---------------------------------------------------------------- the request


@pytest.mark.parametrize("host,atyp,authority", [
    ("example.com", None, "example.com:443"),
    ("10.1.2.3", None, "10.1.2.3:443"),
    ("2001:db8::1", None, "[2001:db8::1]:443"),
    ("::1", 3, "[::1]:443"),  # an IPv6 literal sent as a name is still bracketed
    ("localhost", None, "localhost:443"),
])
def test_connect_request_line_and_host(socks2http, fake_proxy, host, atyp, authority):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, host, 443, atyp=atyp)
    assert rep.rep == 0
    (req,) = fp.wait_requests(1)
    assert req.line == f"CONNECT {authority} HTTP/1.1"
    assert req.header("Host") == [authority]
    assert req.header("Proxy-Authorization") == []
    assert req.raw.endswith(b"\r\n\r\n") and b"\n" not in req.raw.replace(b"\r\n", b"")
    s.close()
    t = d.wait_tunnel()
    assert t["target"] == authority and t["proxy"] == f"127.0.0.1:{fp.port}"


def test_socks4a_name_sent_unresolved(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s, code = socks4_open(d.port, "no-such-host.invalid", 8443, userid=b"someone")
    assert code == 90
    (req,) = fp.wait_requests(1)
    assert req.line == "CONNECT no-such-host.invalid:8443 HTTP/1.1"
    assert req.header("Host") == ["no-such-host.invalid:8443"]
    s.close()


@pytest.mark.parametrize("userinfo,expected", [
    ("user:secret", "user:secret"),
    ("us%40er:p%3Ass%20w%25rd", "us@er:p:ss w%rd"),
    ("user:", "user:"),
])
def test_proxy_authorization_basic(socks2http, fake_proxy, userinfo, expected):
    """Basic goes out only once the proxy asked for it: 407, then a new connection (this
    proxy closes) with the credentials; the next tunnel sends them at once."""
    fp = fake_proxy(fakeproxy.basic_first())
    d = socks2http("-x", fp.url_with(userinfo))
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    first, req = fp.wait_requests(2)
    assert first.header("Proxy-Authorization") == []
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(expected.encode()).decode()]
    s2, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    assert fp.wait_requests(3)[2].header("Proxy-Authorization") == req.header("Proxy-Authorization")
    s2.close()
    s.close()
    password = expected.split(":", 1)[1]
    if password:
        d.wait_tunnel()
        assert password not in d.log()


def test_user_agent_option(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--user-agent", "e2e-agent/1.0")
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    (req,) = fp.wait_requests(1)
    assert req.header("User-Agent") == ["e2e-agent/1.0"]
    s.close()


# ---------------------------------------------------------------- success answers

def echo_check(s, data=b"ping through the tunnel"):
    s.sendall(data)
    assert recv_exact(s, len(data)) == data


@pytest.mark.parametrize("version", [5, 4])
def test_tunnel_bytes_in_same_segment_as_200(socks2http, fake_proxy, version):
    fp = fake_proxy(ok(tunnel=b"SSH-2.0-fake-server\r\n"))
    d = socks2http("-x", fp.url)
    if version == 5:
        s, rep = socks5_open(d.port, "example.com", 22)
        assert rep.rep == 0
    else:
        s, code = socks4_open(d.port, "example.com", 22)
        assert code == 90
    assert recv_exact(s, 21) == b"SSH-2.0-fake-server\r\n"
    echo_check(s)
    s.close()
    t = d.wait_tunnel()
    assert t["down"] == str(21 + 23) and t["up"] == "23"


@pytest.mark.parametrize("head", [
    OK,
    b"HTTP/1.0 200 OK\n\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nVia: 1.1 x\r\n\r\n",
    b"HTTP/1.1 201 Created\r\n\r\n",
    b"HTTP/1.1 299 Whatever\r\n\r\n",
    b"HTTP/1.1 200 \r\n\r\n",
    b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\nX-Mixed: bare-lf\r\n\r\n",
    b"HTTP/1.1 200\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Long: part one\r\n  folded part two\r\n\r\n",
], ids=["plain", "http10-bare-lf", "content-length", "chunked", "extra-headers", "201", "299",
        "empty-reason", "mixed-endings", "no-reason", "obs-fold"])
def test_any_2xx_opens_tunnel(socks2http, fake_proxy, head):
    tunnel = b"0123456789-after-header"
    fp = fake_proxy(ok(head, tunnel=tunnel))
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0, rep
    # Content-Length / Transfer-Encoding on a 2xx mean nothing: every byte is tunnel data
    assert recv_exact(s, len(tunnel)) == tunnel
    echo_check(s, b"x" * 5000)
    s.close()
    t = d.wait_tunnel()
    assert t["http"] == head.split(b" ")[1][:3].decode()


@pytest.mark.parametrize("version", [5, 4])
def test_response_header_dribbled(socks2http, fake_proxy, version):
    head = b"HTTP/1.1 200 Connection established\r\nProxy-Agent: dribble\r\n\r\n"
    fp = fake_proxy(dribble(head, tunnel=b"hello"))
    d = socks2http("-x", fp.url)
    if version == 5:
        s, rep = socks5_open(d.port, "example.com", 443)
        assert rep.rep == 0
    else:
        s, code = socks4_open(d.port, "10.0.0.1", 443)
        assert code == 90
    assert recv_exact(s, 5) == b"hello"
    echo_check(s)
    s.close()


def test_reply_only_after_upstream_answered(socks2http, fake_proxy):
    fp = fake_proxy(ok(wait_before=0.8))
    d = socks2http("-x", fp.url)
    s = connect(d.port)
    s.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(s, 2) == b"\x05\x00"
    s.settimeout(0.5)
    with pytest.raises(socket.timeout):
        s.recv(1)
    rep = read_socks5_reply(s)
    assert rep.rep == 0
    echo_check(s)
    s.close()


@pytest.mark.parametrize("version", [5, 4])
def test_early_client_bytes_held_until_2xx(socks2http, fake_proxy, version):
    early = b"GET / HTTP/1.1\r\nHost: pipelined\r\n\r\n"
    fp = fake_proxy(ok(wait_before=0.5))
    d = socks2http("-x", fp.url)
    if version == 5:
        s, rep = socks5_open(d.port, "example.com", 80, early=early)
        assert rep.rep == 0
    else:
        s, code = socks4_open(d.port, "example.com", 80, early=early)
        assert code == 90
    # the fake proxy echoes the held bytes once it answered
    assert recv_exact(s, len(early)) == early
    (req,) = fp.wait_requests(1)
    assert req.pre_reply == b"", "client bytes reached the proxy before its 2xx"
    echo_check(s)
    s.close()
    assert d.wait_tunnel()["up"] == str(len(early) + 23)


def test_socks5_success_reply_shape(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0 and rep.rsv == 0
    assert len(rep.raw) == (10 if rep.atyp == 1 else 22)
    echo_check(s)  # nothing after the reply but tunnel data
    s.close()


# ---------------------------------------------------------------- failure answers

def squid_error(status, reason, err):
    body = b"<html><body>squid says no</body></html>\n"
    return (b"HTTP/1.1 %d %s\r\nServer: squid/5.7\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
            b"X-Squid-Error: %s\r\nVary: Accept-Language\r\n\r\n" % (status, reason, len(body), err) + body)


def plain_error(status, reason, extra=b""):
    return b"HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\n\r\n" % (status, reason, extra)


ERRORS = [
    ("403", plain_error(403, b"Forbidden"), 0x02),
    ("403-squid", squid_error(403, b"Forbidden", b"ERR_ACCESS_DENIED 0"), 0x02),
    ("407", plain_error(407, b"Proxy Authentication Required",
                        b'Proxy-Authenticate: Basic realm="p"\r\nProxy-Authenticate: NTLM\r\n'), 0x02),
    ("407-squid", squid_error(407, b"Proxy Authentication Required", b"ERR_CACHE_ACCESS_DENIED 0"), 0x02),
    ("502", plain_error(502, b"Bad Gateway"), 0x04),
    ("502-refused", squid_error(502, b"Bad Gateway", b"ERR_CONNECT_FAIL 111"), 0x05),
    ("503", plain_error(503, b"Service Unavailable"), 0x04),
    ("503-dns", squid_error(503, b"Service Unavailable", b"ERR_DNS_FAIL 0"), 0x04),
    ("503-refused", squid_error(503, b"Service Unavailable", b"ERR_CONNECT_FAIL 111"), 0x05),
    ("503-timeout", squid_error(503, b"Service Unavailable", b"ERR_CONNECT_FAIL 110"), 0x06),
    ("504", plain_error(504, b"Gateway Timeout"), 0x06),
    ("504-read-timeout", squid_error(504, b"Gateway Timeout", b"ERR_READ_TIMEOUT 0"), 0x06),
    ("504-refused", squid_error(504, b"Gateway Timeout", b"ERR_CONNECT_FAIL 111"), 0x05),
    ("500", plain_error(500, b"Internal Server Error"), 0x04),
    ("503-bare-lf", b"HTTP/1.0 503 Service Unavailable\nX-Squid-Error: ERR_CONNECT_FAIL 110\n\n", 0x06),
]


@pytest.mark.parametrize("head,code", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_socks5_code_for_error_answer(socks2http, fake_proxy, head, code):
    fp = fake_proxy(respond(head, then="hold"))
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == code, f"{head.splitlines()[0]!r}: got 0x{rep.rep:02x}, want 0x{code:02x}"
    assert len(rep.raw) in (10, 22)
    assert recv_until_eof(s, 5) == b"", "bytes after a failure reply"
    s.close()
    t = d.wait_tunnel()
    assert t["http"] == head.split(b" ")[1][:3].decode()
    assert t["reply"] == f"0x{code:02x}"


@pytest.mark.parametrize("head", [e[1] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_socks4_gets_91_for_error_answer(socks2http, fake_proxy, head):
    fp = fake_proxy(respond(head, then="hold"))
    d = socks2http("-x", fp.url)
    s, code = socks4_open(d.port, "example.com", 443)
    assert code == 91
    assert recv_until_eof(s, 5) == b""
    s.close()
    t = d.wait_tunnel()
    assert t["socks"] == "4" and t["reply"] == "91"


@pytest.mark.parametrize("scenario,http", [
    (fakeproxy.close_now(), "-"),
    (respond(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), "-"),
    (respond(b"HTTP/1.1 abc Nope\r\n\r\n"), "-"),
    (respond(b"HTTP/1.1 200 OK\r\nBroken header line\r\n\r\n"), None),
    (respond(b"HTTP/1.1 200 OK\r\n", then="close"), "-"),  # closes mid-header
    (respond(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * (40 * 1024) + b"\r\n\r\n", then="hold"), None),
    (respond(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: aaaaaaaa\r\n" * 4000, then="hold"), None),
], ids=["close-before-answer", "not-http", "bad-status", "bad-header", "close-mid-header",
        "one-40k-header-line", "64k-of-headers-no-end"])
def test_general_failure(socks2http, fake_proxy, scenario, http):
    fp = fake_proxy(scenario)
    d = socks2http("-x", fp.url)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    took = time.monotonic() - t0
    assert rep.rep == 0x01, rep
    assert took < 3, f"reply took {took:.1f}s"
    assert recv_until_eof(s, 5) == b""
    s.close()
    t = d.wait_tunnel()
    assert t["reply"] == "0x01"
    if http:
        assert t["http"] == http


@pytest.mark.parametrize("version", [5, 4])
def test_reply_timeout(socks2http, fake_proxy, version):
    fp = fake_proxy(fakeproxy.silent())
    d = socks2http("-x", fp.url, "--reply-timeout", "1")
    t0 = time.monotonic()
    if version == 5:
        s, rep = socks5_open(d.port, "example.com", 443, timeout=10)
        code = rep.rep
        assert code == 0x06
    else:
        s, code = socks4_open(d.port, "example.com", 443, timeout=10)
        assert code == 91
    took = time.monotonic() - t0
    assert 0.8 <= took <= 2.5, f"reply after {took:.2f}s with --reply-timeout 1"
    assert recv_until_eof(s, 5) == b""
    s.close()
    fp.wait_requests(1)


def test_partial_header_then_silence_is_a_reply_timeout(socks2http, fake_proxy):
    fp = fake_proxy(respond(b"HTTP/1.1 200 OK\r\nVia: x\r\n", then="hold"))
    d = socks2http("-x", fp.url, "--reply-timeout", "1")
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0x06
    assert time.monotonic() - t0 <= 2.5
    s.close()


# ---------------------------------------------------------------- client side dribbling

def dribble_send(s, data, delay=0.003):
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(delay)


@pytest.mark.parametrize("kind", ["socks5", "socks4", "socks4a"])
def test_client_handshake_dribbled(socks2http, fake_proxy, kind):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s = connect(d.port)
    if kind == "socks5":
        dribble_send(s, socks5_greeting())
        assert recv_exact(s, 2) == b"\x05\x00"
        dribble_send(s, socks5_request("dribble.example", 443))
        assert read_socks5_reply(s).rep == 0
    elif kind == "socks4":
        dribble_send(s, b"\x04\x01\x01\xbb\x0a\x00\x00\x01userid\x00")
        assert read_socks4_reply(s)[0] == 90
    else:
        dribble_send(s, socks4a_request("dribble.example", 443, b"userid"))
        assert read_socks4_reply(s)[0] == 90
    echo_check(s)
    s.close()
    (req,) = fp.wait_requests(1)
    assert req.line in ("CONNECT dribble.example:443 HTTP/1.1", "CONNECT 10.0.0.1:443 HTTP/1.1")


# ---------------------------------------------------------------- sizes around the buffer

def test_early_bytes_larger_than_buffer(socks2http, fake_proxy):
    """100 KiB pipelined before the answer (3 x the relay buffer): held, none lost."""
    early = bytes(range(256)) * 400
    fp = fake_proxy(ok(wait_before=0.5))
    d = socks2http("-x", fp.url)
    s = connect(d.port)
    s.settimeout(10)
    s.sendall(socks5_greeting() + socks5_request("example.com", 443))
    # the rest from a thread: the daemon may stop reading (backpressure) until the 2xx
    sender = threading.Thread(target=s.sendall, args=(early,), daemon=True)
    sender.start()
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 0
    assert recv_exact(s, len(early)) == early
    sender.join(10)
    assert fp.wait_requests(1)[0].pre_reply == b""
    s.close()


def test_large_tunnel_data_with_200(socks2http, fake_proxy):
    tunnel = bytes(range(256)) * 512  # 128 KiB right behind the header
    fp = fake_proxy(ok(tunnel=tunnel))
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    assert recv_exact(s, len(tunnel)) == tunnel
    echo_check(s)
    s.close()


def test_interim_1xx_before_200(socks2http, fake_proxy):
    fp = fake_proxy(ok(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n",
                       tunnel=b"t"))
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    assert recv_exact(s, 1) == b"t"
    s.close()
    assert d.wait_tunnel()["http"] == "200"


def test_error_with_large_body_answered_at_once(socks2http, fake_proxy):
    body = b"<p>denied</p>" * 5000
    head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
    fp = fake_proxy(respond(head, body, then="hold"))
    d = socks2http("-x", fp.url)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 8080)
    assert rep.rep == 0x02
    assert time.monotonic() - t0 < 2
    assert recv_until_eof(s, 5) == b""
    s.close()
