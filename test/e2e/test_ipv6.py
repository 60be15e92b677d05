"""IPv6: a listener on [::1], IPv6 targets, a proxy on [::1]."""

import socket

from clients import curl
from fakeproxy import ok, relay
from socksclient import recv_exact, recv_until_eof, socks5_open, socks5_tunnel


def test_listener_on_ipv6_loopback(socks2http, fake_proxy, echo6):
    fp = fake_proxy(relay())
    d = socks2http("-x", fp.url, listen=("[::1]:0",))
    assert d.listeners[0][0] == "::1"
    s = socks5_tunnel(d.port, "::1", echo6.port, listen_host="::1")
    s.sendall(b"over v6 both ways")
    assert recv_exact(s, 17) == b"over v6 both ways"
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s) == b""
    s.close()
    (req,) = fp.wait_requests(1)
    assert req.line == f"CONNECT [::1]:{echo6.port} HTTP/1.1"
    assert req.header("Host") == [f"[::1]:{echo6.port}"]
    t = d.wait_tunnel(target=f"[::1]:{echo6.port}")
    assert t["client"].startswith("[::1]:")


def test_ipv4_and_ipv6_listeners_together(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, listen=("127.0.0.1:0", "[::1]:0"))
    by_host = {h: p for h, p in d.listeners}
    assert set(by_host) == {"127.0.0.1", "::1"}
    for host, port in by_host.items():
        s, rep = socks5_open(port, "example.com", 443, listen_host=host)
        assert rep.rep == 0
        s.sendall(b"hi")
        assert recv_exact(s, 2) == b"hi"
        s.close()


def test_proxy_on_ipv6_address(socks2http, fake_proxy):
    fp = fake_proxy(ok(), host="::1")
    d = socks2http("-x", fp.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    assert len(rep.raw) in (10, 22)
    s.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    s.close()
    assert d.wait_tunnel()["proxy"] == f"[::1]:{fp.port}"


def test_curl_ipv6_target_through_squid(socks2http, squid, origin):
    d = socks2http("-x", squid.url, listen=("[::1]:0",))
    r = curl("--proxy", f"socks5h://[::1]:{d.port}", origin.url("::1"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel(target=f"[::1]:{origin.port}")
    assert t["http"] == "200"


def test_curl_ipv6_target_through_tinyproxy(socks2http, tinyproxy, origin):
    d = socks2http("-x", tinyproxy.url)
    r = curl("--proxy", f"socks5://127.0.0.1:{d.port}", origin.url("::1"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    d.wait_tunnel(target=f"[::1]:{origin.port}")
