"""The direct route: IPv4 and IPv6 literals and names resolved by the daemon (Happy Eyeballs,
answers cached), SOCKS and HTTP proxy clients, and the reply each failure makes: name not
found 04, refused 05, network unreachable 03, host unreachable 04, timeout 06 (SOCKS4: 91)."""

import os
import socket
import time

import pytest

from clients import curl
from fakeproxy import ok
from hardening import blackhole, fakedns  # noqa: F401 (fixtures)
from routing import (NO_ROUTE_IP, UNREACHABLE_IP, closed_v6_port, echoes, http_connect_status, netns_prefix,
                     no_requests, unix_socks4, unix_socks5)
from socksclient import socks4_open, socks5_open


def dns_args(dns):
    return ["--dns-servers", dns.addr, "--dns-timeout", "0.3"]


# ---------------------------------------------------------------- direct

def test_direct_ipv4_literal(socks2http, fake_proxy, echo):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "127.0.0.1 direct")
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
    assert rep.rep == 0
    echoes(s)
    s, code = socks4_open(d.port, "127.0.0.1", echo.port)
    assert code == 90
    echoes(s, b"socks4 direct")
    ts = d.wait_tunnels(2, target=f"127.0.0.1:{echo.port}")
    assert all(t.get("route") == "direct" and t.get("rule") == "1" for t in ts), ts
    assert sorted(t["reply"] for t in ts) == ["0x00", "90"]
    no_requests(fp)


def test_direct_ipv6_literal(socks2http, fake_proxy, echo6):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "::1 direct")
    s, rep = socks5_open(d.port, "::1", echo6.port)
    assert rep.rep == 0
    echoes(s, b"over ipv6 direct")
    t = d.wait_tunnel(target=f"[::1]:{echo6.port}")
    assert t.get("route") == "direct" and t.get("rule") == "1"
    no_requests(fp)


def test_direct_name_resolved_by_the_daemon(socks2http, fake_proxy, fakedns, echo):
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"echo.direct.test": "127.0.0.1"})
    d = socks2http("-x", fp.url, "--route", ".direct.test direct", *dns_args(dns))
    s, rep = socks5_open(d.port, "echo.direct.test", echo.port)
    assert rep.rep == 0
    echoes(s)
    s, code = socks4_open(d.port, "echo.direct.test", echo.port)
    assert code == 90
    echoes(s, b"4a by name")
    assert "echo.direct.test" in dns.names()
    ts = d.wait_tunnels(2, target=f"echo.direct.test:{echo.port}")
    assert all(t.get("route") == "direct" for t in ts)
    no_requests(fp)


def test_direct_http_proxy_client_connect(socks2http, fake_proxy, echo):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "* direct")
    status, s = http_connect_status(d.port, "127.0.0.1", echo.port)
    assert status == 200
    echoes(s, b"http client, direct")
    assert d.wait_tunnel().get("route") == "direct"
    no_requests(fp)


def test_direct_http_forwarded_get(socks2http, fake_proxy, origin):
    """An HTTP proxy client's plain GET (no CONNECT) on a direct route goes to the origin."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "127.0.0.1 direct")
    r = curl("--proxy", f"http://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel()
    assert t["socks"] == "http" and t.get("route") == "direct" and t["reply"] == "200", t
    no_requests(fp)


@pytest.mark.parametrize("host_line", [b"Host: other.example\r\n", b""], ids=["other-host", "no-host"])
def test_direct_http_forwarded_host_names_target(socks2http, fake_proxy, acceptor, host_line):
    """On a direct route the forwarded request goes out in origin form, and its Host names
    the absolute target (RFC 9112 section 3.2.2: it replaces the client's, and an
    HTTP/1.1 request has one even when the client sent none)."""
    fp = fake_proxy(ok())
    org = acceptor()
    d = socks2http("-x", fp.url, "--route", "127.0.0.1 direct")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET http://127.0.0.1:%d/x?y HTTP/1.1\r\n%s\r\n" % (org.port, host_line))
    conn = org.accept()
    conn.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        assert chunk, head
        head += chunk
    lines = head.split(b"\r\n")
    assert lines[0] == b"GET /x?y HTTP/1.1", head
    assert [ln for ln in lines if ln.lower().startswith(b"host:")] == [b"Host: 127.0.0.1:%d" % org.port], head
    conn.close()
    s.close()
    no_requests(fp)


def test_direct_through_curl_to_origin(socks2http, fake_proxy, origin):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "* direct")
    r = curl("--proxy", f"socks5://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    assert d.wait_tunnel().get("route") == "direct"
    no_requests(fp)


@pytest.mark.parametrize("listening", ["v4", "v6"])
def test_direct_happy_eyeballs_one_family_listening(socks2http, fake_proxy, fakedns, echo, echo6, listening):
    """he.test has ::1 and 127.0.0.1; only one of them listens on the port: the tunnel connects."""
    fp = fake_proxy(ok())
    server = echo if listening == "v4" else echo6
    held = None
    if listening == "v4":
        held = closed_v6_port(server.port)  # [::1]:port refuses for sure
    dns = fakedns("answer", {"he.test": ["::1", "127.0.0.1"]})
    try:
        d = socks2http("-x", fp.url, "--route", "he.test direct", "--connect-timeout", "3", *dns_args(dns))
        t0 = time.monotonic()
        s, rep = socks5_open(d.port, "he.test", server.port)
        assert rep.rep == 0, rep
        assert time.monotonic() - t0 < 3
        echoes(s, b"happy eyeballs")
        assert d.wait_tunnel().get("route") == "direct"
        no_requests(fp)
    finally:
        if held:
            held.close()


@pytest.mark.parametrize("hangs", ["::1", "127.0.0.1"])
def test_direct_happy_eyeballs_one_family_hangs(socks2http, fake_proxy, fakedns, hangs):
    """he.test has ::1 and 127.0.0.1 on one port; connects to one of them hang (SYNs dropped),
    the other accepts.  Whichever family the daemon tries first, the tunnel is up long before
    --connect-timeout (5 s): the second address was tried while the first still hung."""
    from origin import EchoServer
    from routing import Blackhole

    fp = fake_proxy(ok())
    other = "127.0.0.1" if hangs == "::1" else "::1"
    server = hole = None
    for _ in range(20):  # a port that hangs on one address and is free on the other
        hole = Blackhole(hangs)
        try:
            server = EchoServer(other, hole.port)
            break
        except OSError:
            hole.close()
    assert server is not None, "no port free on both loopback addresses"
    try:
        dns = fakedns("answer", {"he.test": ["::1", "127.0.0.1"]})
        d = socks2http("-x", fp.url, "--route", "he.test direct", "--connect-timeout", "5", *dns_args(dns))
        t0 = time.monotonic()
        s, rep = socks5_open(d.port, "he.test", hole.port, timeout=10)
        took = time.monotonic() - t0
        assert rep.rep == 0, rep
        assert took < 2.5, f"connected after {took:.2f}s: the addresses were tried one after the other"
        echoes(s, b"the other family answered")
        assert d.wait_tunnel().get("route") == "direct"
        no_requests(fp)
    finally:
        server.stop()
        hole.close()


def test_direct_name_answers_cached(socks2http, fake_proxy, fakedns, echo):
    """A direct target's addresses are reused within their TTL (60 s here): three tunnels,
    one lookup (A and AAAA)."""
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"cached.direct.test": "127.0.0.1"})
    d = socks2http("-x", fp.url, "--route", "* direct", *dns_args(dns))
    for i in range(3):
        s, rep = socks5_open(d.port, "cached.direct.test", echo.port)
        assert rep.rep == 0, rep
        echoes(s, b"cached %d" % i)
    assert dns.names().count("cached.direct.test") in (1, 2), dns.queries


# ---------------------------------------------------------------- direct errors

@pytest.mark.parametrize("version", [5, 4])
def test_direct_name_not_found(socks2http, fake_proxy, fakedns, version):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = socks2http("-x", fp.url, "--route", "* direct", *dns_args(dns))
    t0 = time.monotonic()
    if version == 5:
        s, rep = socks5_open(d.port, "nothere.test", 443)
        assert rep.rep == 0x04, rep
    else:
        s, code = socks4_open(d.port, "nothere.test", 443)
        assert code == 91
    assert time.monotonic() - t0 < 3
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "direct" and t["reply"] == ("0x04" if version == 5 else "91")
    assert dns.queries
    no_requests(fp)


@pytest.mark.parametrize("version", [5, 4])
def test_direct_refused(socks2http, fake_proxy, closed_port, version):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "127.0.0.0/8 direct")
    if version == 5:
        s, rep = socks5_open(d.port, "127.0.0.1", closed_port)
        assert rep.rep == 0x05, rep
    else:
        s, code = socks4_open(d.port, "127.0.0.1", closed_port)
        assert code == 91
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "direct" and t["reply"] == ("0x05" if version == 5 else "91")
    no_requests(fp)


@pytest.mark.parametrize("version", [5, 4])
def test_direct_timeout(socks2http, fake_proxy, blackhole, version):  # noqa: F811
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "* direct", "--connect-timeout", "1")
    t0 = time.monotonic()
    if version == 5:
        s, rep = socks5_open(d.port, "127.0.0.1", blackhole)
        assert rep.rep == 0x06, rep
    else:
        s, code = socks4_open(d.port, "127.0.0.1", blackhole)
        assert code == 91
    took = time.monotonic() - t0
    assert 0.8 <= took <= 3.5, f"took {took:.2f}s with --connect-timeout 1"
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "direct" and t["reply"] == ("0x06" if version == 5 else "91")
    no_requests(fp)


@pytest.mark.linux_only()
@pytest.mark.parametrize("case", ["net-unreachable", "host-unreachable"])
@pytest.mark.parametrize("version", [5, 4])
def test_direct_unreachable_in_netns(socks2http, tmp, case, version):
    """The daemon in a network namespace with only lo: 10.1.2.3 has no route (ENETUNREACH ->
    03), 10.99.0.5 an 'unreachable' route (EHOSTUNREACH -> 04).  Reached over a Unix socket."""
    prefix = netns_prefix()
    path = os.path.join(tmp, "s.sock")
    d = socks2http("-x", "http://127.0.0.1:9", "--route", "* direct", "--connect-timeout", "3",
                   listen=(f"unix:{path}",), wait=False, prefix=prefix)
    d.wait_line(r"listening on unix:")
    ip = NO_ROUTE_IP if case == "net-unreachable" else UNREACHABLE_IP
    want5 = 0x03 if case == "net-unreachable" else 0x04
    t0 = time.monotonic()
    if version == 5:
        s, rep = unix_socks5(path, ip, 443)
        assert rep.rep == want5, rep
    else:
        s, code = unix_socks4(path, ip, 443)
        assert code == 91
    assert time.monotonic() - t0 < 2
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "direct" and t["reply"] == (f"0x{want5:02x}" if version == 5 else "91"), t
