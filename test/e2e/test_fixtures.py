"""The test infrastructure itself, checked directly (no socks2http): if one of these
fails, the other tests' results mean nothing."""

import base64
import socket

import fakeproxy
from clients import curl
from socksclient import connect, recv_exact, recv_until_eof


def http_connect(port, target, auth=None, timeout=10):
    s = connect(port, timeout=timeout)
    req = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if auth:
        req += "Proxy-Authorization: Basic " + base64.b64encode(auth.encode()).decode() + "\r\n"
    s.sendall(req.encode() + b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += recv_exact(s, 1, timeout)
    return s, head


def test_origin_http(origin):
    for host in ("127.0.0.1", "::1"):
        r = curl(origin.url(host))
        assert r.returncode == 0, r.stderr
        assert r.stdout == origin.body


def test_origin_sized_content(origin):
    r = curl(origin.url(path="/size/100000"))
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 100000 and r.stdout.startswith(b"00000000:abc")


def test_echo_and_banner(echo, echo6, banner):
    for srv, host in ((echo, "127.0.0.1"), (echo6, "::1")):
        s = connect(srv.port, host)
        s.sendall(b"ping\n")
        assert recv_exact(s, 5) == b"ping\n"
        s.shutdown(socket.SHUT_WR)
        assert recv_until_eof(s) == b""
        s.close()
    s = connect(banner.port)
    assert recv_exact(s, len(banner.banner)) == banner.banner
    s.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    s.close()


def test_tinyproxy_direct_any_port(tinyproxy, origin, echo):
    r = curl(*tinyproxy.curl_proxy_args(), origin.url())
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    # no ConnectPort: a CONNECT to an arbitrary high port is allowed
    s, head = http_connect(tinyproxy.port, f"127.0.0.1:{echo.port}")
    assert head.split(b" ")[1] == b"200", head
    s.sendall(b"through tinyproxy")
    assert recv_exact(s, 17) == b"through tinyproxy"
    s.close()


def test_tinyproxy_basic_auth(tinyproxy_auth, origin):
    s, head = http_connect(tinyproxy_auth.port, f"127.0.0.1:{origin.port}")
    assert head.split(b" ")[1] == b"407", head
    s.close()
    r = curl(*tinyproxy_auth.curl_proxy_args(), origin.url())
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body


def test_squid_direct(squid, origin, closed_port):
    s, head = http_connect(squid.port, f"127.0.0.1:{origin.port}")
    assert head.split(b" ")[1] == b"407", head
    s.close()
    r = curl(*squid.curl_proxy_args(), origin.url())
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    s, head = http_connect(squid.port, f"127.0.0.1:{closed_port}", auth=f"{squid.user}:{squid.password}")
    assert head.split(b" ")[1] in (b"503", b"504"), head
    assert b"X-Squid-Error: ERR_CONNECT_FAIL 111" in head, head
    s.close()


def test_fake_proxy_records_and_echoes(fake_proxy):
    fp = fake_proxy(fakeproxy.ok(tunnel=b"first"))
    s, head = http_connect(fp.port, "example.com:443", auth="a:b")
    assert head == fakeproxy.OK
    assert recv_exact(s, 5) == b"first"
    s.sendall(b"echo me")
    assert recv_exact(s, 7) == b"echo me"
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s) == b""
    (req,) = fp.wait_requests(1)
    assert req.line == "CONNECT example.com:443 HTTP/1.1"
    assert req.header("Host") == ["example.com:443"]
    assert req.header("proxy-authorization") == ["Basic YTpi"]


def test_fake_proxy_relay_half_close(fake_proxy, acceptor):
    a = acceptor()
    fp = fake_proxy(fakeproxy.relay())
    s, head = http_connect(fp.port, f"127.0.0.1:{a.port}")
    assert head == fakeproxy.OK
    o = a.accept()
    s.sendall(b"up")
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(o) == b"up"
    o.sendall(b"down")
    o.close()
    assert recv_until_eof(s) == b"down"
