"""Route rules (--route 'PATTERN ACTION', `route` lines in a config file): every pattern kind,
first match, and the actions block, proxy and chain (direct: test_routes_direct.py)."""

import os
import re
import threading
import time

import pytest

import daemon as daemon_mod
import upstreams
from clients import curl
from fakeproxy import ok, relay, respond
from hardening import fakedns  # noqa: F401 (fixture)
from routing import echoes, http_connect_status, http_get_status, no_requests, wait_rule_log
from socksclient import recv_until_eof, socks4_open, socks5_open


def dns_args(dns):
    return ["--dns-servers", dns.addr, "--dns-timeout", "0.3"]


def no_rule(t):
    return t.get("rule") in (None, "-")


# ---------------------------------------------------------------- pattern kinds (with block)

# (pattern, target host, target port, blocked?).  {p} in a pattern is 8443.
PATTERNS = [
    ("host.example", "host.example", 443, True),
    ("host.example", "HOST.Example", 443, True),
    ("host.example", "host.example.", 443, True),
    ("host.example", "a.host.example", 443, False),
    ("host.example", "xhost.example", 443, False),
    ("host.example.", "host.example", 443, True),
    (".example.com", "example.com", 443, True),
    (".example.com", "a.example.com", 443, True),
    (".example.com", "a.b.Example.COM", 443, True),
    (".example.com", "badexample.com", 443, False),
    (".example.com", "example.com.evil", 443, False),
    ("*.example.com", "example.com", 443, False),
    ("*.example.com", "a.example.com", 443, True),
    ("*.example.com", "a.b.example.com", 443, True),
    ("10.1.2.3", "10.1.2.3", 443, True),
    ("10.1.2.3", "10.1.2.4", 443, False),
    ("10.0.0.0/8", "10.200.3.4", 443, True),
    ("10.0.0.0/8", "11.0.0.1", 443, False),
    ("192.168.4.0/22", "192.168.7.255", 80, True),
    ("192.168.4.0/22", "192.168.8.0", 80, False),
    ("2001:db8::7", "2001:db8::7", 443, True),
    ("2001:db8::7", "2001:db8::8", 443, False),
    ("2001:db8::/32", "2001:db8:ffff::1", 443, True),
    ("2001:db8::/32", "2001:db9::1", 443, False),
    ("[2001:db8::/32]:443", "2001:db8::5", 443, True),
    ("[2001:db8::/32]:443", "2001:db8::5", 80, False),
    ("*:8443", "anything.example", 8443, True),
    ("*:8443", "10.9.9.9", 8443, True),
    ("*:8443", "anything.example", 443, False),
    ("*:8000-8099", "r.example", 8000, True),
    ("*:8000-8099", "r.example", 8050, True),
    ("*:8000-8099", "r.example", 8099, True),
    ("*:8000-8099", "r.example", 7999, False),
    ("*:8000-8099", "r.example", 8100, False),
    ("host.example:22", "host.example", 22, True),
    ("host.example:22", "host.example", 23, False),
    (".example.com:1000-2000", "a.example.com", 1500, True),
    (".example.com:1000-2000", "a.example.com", 2001, False),
    ("10.0.0.0/8:443", "10.1.1.1", 443, True),
    ("10.0.0.0/8:443", "10.1.1.1", 80, False),
    ("*", "whatever.example", 443, True),
    ("*", "192.0.2.55", 9, True),
    ("*", "2001:db8::99", 22, True),
]


@pytest.mark.parametrize("pattern,host,port,blocked", PATTERNS,
                         ids=[f"{p}~{h}:{n}-{'block' if b else 'pass'}" for p, h, n, b in PATTERNS])
def test_pattern_kinds(socks2http, fake_proxy, pattern, host, port, blocked):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", f"{pattern} block")
    s, rep = socks5_open(d.port, host, port)
    if blocked:
        assert rep.rep == 0x02, f"{host}:{port} should match {pattern!r}: {rep!r}"
        assert recv_until_eof(s, 5) == b""
        s.close()
        t = d.wait_tunnel()
        assert t.get("route") == "block" and t.get("rule") == "1" and t["reply"] == "0x02", t
        no_requests(fp)
    else:
        assert rep.rep == 0x00, f"{host}:{port} should not match {pattern!r}: {rep!r}"
        s.close()
        (req,) = fp.wait_requests(1)
        assert req.target() == (host, port)
        t = d.wait_tunnel()
        assert t.get("route") == "proxy" and no_rule(t), t


def test_socks4_ipv4_target_matches_cidr(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "10.0.0.0/8 block")
    s, code = socks4_open(d.port, "10.20.30.40", 443)
    assert code == 91
    s.close()
    s, code = socks4_open(d.port, "11.20.30.40", 443)
    assert code == 90
    s.close()
    assert [r.line for r in fp.wait_requests(1)] == ["CONNECT 11.20.30.40:443 HTTP/1.1"]


@pytest.mark.parametrize("pattern", ["127.0.0.0/8", "127.0.0.1", "::1", "::/0", "0.0.0.0/0"])
def test_ip_pattern_never_resolves_a_name(socks2http, fake_proxy, fakedns, pattern):
    """A name is not looked up to test an IP pattern: it goes on to the proxy unresolved,
    and the DNS server sees no query for it."""
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"cidr.test": ["127.0.0.1", "::1"]})
    d = socks2http("-x", fp.url, "--route", f"{pattern} block", *dns_args(dns))
    s, rep = socks5_open(d.port, "cidr.test", 443)
    assert rep.rep == 0
    s.close()
    assert fp.wait_requests(1)[0].line == "CONNECT cidr.test:443 HTTP/1.1"
    d.wait_tunnel()
    assert "cidr.test" not in dns.names(), dns.queries


# ---------------------------------------------------------------- order

def test_first_match_wins(socks2http, fake_proxy):
    a, b, c = fake_proxy(ok()), fake_proxy(ok()), fake_proxy(ok())
    d = socks2http("-x", a.url, "--route", "keep.example block", "--route", f".example proxy {b.url}",
                   "--route", f"* proxy {c.url}")
    s, rep = socks5_open(d.port, "keep.example", 443)
    assert rep.rep == 0x02
    s.close()
    for host, proxy in (("other.example", b), ("another.org", c)):
        s, rep = socks5_open(d.port, host, 443)
        assert rep.rep == 0
        s.close()
        assert proxy.wait_requests(1)[0].line == f"CONNECT {host}:443 HTTP/1.1"
    assert d.wait_tunnel(target="keep.example:443").get("rule") == "1"
    assert d.wait_tunnel(target="other.example:443").get("rule") == "2"
    assert d.wait_tunnel(target="another.org:443").get("rule") == "3"
    assert len(b.requests) == 1 and len(c.requests) == 1
    no_requests(a)


def test_command_line_rules_before_config_file(socks2http, fake_proxy, tmp):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {a.url}\nroute .example block\nroute ok.example direct\n")
    d = socks2http("-c", conf, "--route", f"ok.example proxy {b.url}")
    s, rep = socks5_open(d.port, "ok.example", 443)
    assert rep.rep == 0
    s.close()
    assert b.wait_requests(1)[0].line == "CONNECT ok.example:443 HTTP/1.1"
    s, rep = socks5_open(d.port, "bad.example", 443)
    assert rep.rep == 0x02
    s.close()
    assert d.wait_tunnel(target="ok.example:443").get("rule") == "1"
    t = d.wait_tunnel(target="bad.example:443")
    assert t.get("rule") == "2" and t.get("route") == "block"
    s, rep = socks5_open(d.port, "elsewhere.org", 443)  # nothing matches: the config's proxy
    assert rep.rep == 0
    s.close()
    assert a.wait_requests(1)[0].line == "CONNECT elsewhere.org:443 HTTP/1.1"


def test_rules_listed_at_start(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "listed.example block", "--route", "*:8000-8099 direct")
    d.wait_line(re.escape("listed.example block"))
    d.wait_line(re.escape("*:8000-8099 direct"))


# ---------------------------------------------------------------- block

def test_block_socks5_socks4_http(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "other.example direct", "--route", "blocked.example block",
                   "--route", "10.6.6.6 block")
    s, rep = socks5_open(d.port, "blocked.example", 443)
    assert rep.rep == 0x02
    assert recv_until_eof(s, 5) == b""
    s.close()
    s, code = socks4_open(d.port, "blocked.example", 443)  # 4a
    assert code == 91
    s.close()
    s, code = socks4_open(d.port, "10.6.6.6", 443)
    assert code == 91
    s.close()
    status, s = http_connect_status(d.port, "blocked.example", 443)
    assert status == 403
    s.close()
    assert http_get_status(d.port, "http://blocked.example/x") == 403
    ts = d.wait_tunnels(3, target="blocked.example:443")
    assert all(t.get("route") == "block" and t.get("rule") == "2" for t in ts), ts
    assert sorted(t["reply"] for t in ts) == sorted(["0x02", "91", "403"]), ts
    t = d.wait_tunnel(target="blocked.example:80")  # the forwarded GET
    assert t.get("route") == "block" and t.get("rule") == "2" and t["reply"] == "403", t
    t = d.wait_tunnel(target="10.6.6.6:443")
    assert t.get("route") == "block" and t.get("rule") == "3" and t["reply"] == "91"
    wait_rule_log(d, "blocked.example:443", "blocked.example block")
    wait_rule_log(d, "10.6.6.6:443", "10.6.6.6 block")
    no_requests(fp)


# ---------------------------------------------------------------- proxy

def test_proxy_action_fails_over_instead_of_x(socks2http, fake_proxy, closed_port):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    d = socks2http("-x", a.url, "--route", f".example proxy http://127.0.0.1:{closed_port} {b.url}")
    for i in range(2):
        s, rep = socks5_open(d.port, f"t{i}.example", 443)
        assert rep.rep == 0
        s.sendall(b"x")
        s.close()
    assert [r.line for r in b.wait_requests(2)] == [f"CONNECT t{i}.example:443 HTTP/1.1" for i in range(2)]
    ts = d.wait_tunnels(2)
    for t in ts:
        assert t.get("route") == "proxy" and t.get("rule") == "1" and t["proxy"] == f"127.0.0.1:{b.port}", t
    no_requests(a)


def test_proxy_action_without_url_is_the_x_list(socks2http, fake_proxy):
    a = fake_proxy(ok())
    d = socks2http("-x", a.url, "--route", "viax.example proxy", "--route", "* block")
    s, rep = socks5_open(d.port, "viax.example", 443)
    assert rep.rep == 0
    s.close()
    assert a.wait_requests(1)[0].line == "CONNECT viax.example:443 HTTP/1.1"
    s, rep = socks5_open(d.port, "other.example", 443)
    assert rep.rep == 0x02
    s.close()


def test_proxy_action_real_tinyproxy(socks2http, fake_proxy, tinyproxy, origin):
    a = fake_proxy(ok())
    d = socks2http("-x", a.url, "--route", f"127.0.0.1 proxy {tinyproxy.url}")
    r = curl("--proxy", f"socks5://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel()
    assert t.get("route") == "proxy" and t["proxy"] == tinyproxy.addr and t["http"] == "200"
    no_requests(a)


# ---------------------------------------------------------------- chain

def _squid_access_size(squid):
    try:
        return os.path.getsize(os.path.join(squid.workdir, "access.log"))
    except OSError:
        return 0


def _squid_access_has(squid, since, needle, timeout=5.0):
    """needle appears in squid's access.log after offset since (squid writes it lazily)."""
    path = os.path.join(squid.workdir, "access.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                f.seek(since)
                if needle.encode() in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def test_chain_tinyproxy_then_squid(socks2http, fake_proxy, tinyproxy, squid, origin):
    a = fake_proxy(ok())
    d = socks2http("-x", a.url, "--route", f"127.0.0.1 chain {tinyproxy.url} {squid.url}")
    tiny_before, squid_before = len(tinyproxy.proc.output()), _squid_access_size(squid)
    r = curl("--proxy", f"socks5://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel()
    assert t.get("route") == "chain" and t.get("rule") == "1" and t["reply"] == "0x00", t
    # the first proxy was asked for the second, the second for the target
    tiny_log = tinyproxy.proc.output()[tiny_before:]
    assert re.search(rf"Request \(file descriptor \d+\): CONNECT 127\.0\.0\.1:{squid.port} ", tiny_log), tiny_log
    assert _squid_access_has(squid, squid_before, f"CONNECT 127.0.0.1:{origin.port}"), \
        "squid's access.log has no CONNECT to the origin"
    assert squid.password not in d.log()
    assert f"***@127.0.0.1:{squid.port}" in d.log()  # the rule as the start log lists it
    if not daemon_mod.WRAPPER:  # a wrapper (valgrind) keeps its own copy of the arguments
        assert squid.password.encode() not in d.cmdline()  # scrubbed from argv like -x
    no_requests(a)


def test_chain_of_three(socks2http, fake_proxy, tinyproxy, squid, origin):
    """A recording relay, then tinyproxy, then squid: each hop is asked for the next."""
    hop1 = fake_proxy(relay())
    d = socks2http("-x", "http://127.0.0.1:9", "--route", f"* chain {hop1.url} {tinyproxy.url} {squid.url}")
    tiny_before = len(tinyproxy.proc.output())
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    assert hop1.wait_requests(1)[0].line == f"CONNECT 127.0.0.1:{tinyproxy.port} HTTP/1.1"
    tiny_log = tinyproxy.proc.output()[tiny_before:]
    assert re.search(rf"CONNECT 127\.0\.0\.1:{squid.port} ", tiny_log), tiny_log
    t = d.wait_tunnel()
    assert t.get("route") == "chain" and t["reply"] == "0x00"


def test_chain_ipv6_target(socks2http, tinyproxy, squid, origin):
    d = socks2http("-x", "http://127.0.0.1:9", "--route", f"::1 chain {tinyproxy.url} {squid.url}")
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("::1"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel(target=f"[::1]:{origin.port}")
    assert t.get("route") == "chain" and t.get("rule") == "1"


def test_chain_each_hop_with_its_own_login(socks2http, tinyproxy_auth, squid, origin):
    """Both hops want a login: each CONNECT carries that hop's credentials."""
    d = socks2http("-x", "http://127.0.0.1:9", "--route", f"* chain {tinyproxy_auth.url} {squid.url}")
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    assert d.wait_tunnel().get("route") == "chain"
    log = d.log()
    assert tinyproxy_auth.password not in log and squid.password not in log


def test_chain_first_hop_sees_only_connect_to_second(socks2http, fake_proxy, squid, origin):
    """A recording first hop (relaying for real): it is asked `CONNECT squid:port` and never
    sees squid's credentials; the target is reached through both."""
    hop1 = fake_proxy(relay())
    d = socks2http("-x", "http://127.0.0.1:9", "--route", f"* chain {hop1.url} {squid.url}")
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    (req,) = hop1.wait_requests(1)
    assert req.line == f"CONNECT 127.0.0.1:{squid.port} HTTP/1.1"
    assert req.header("Host") == [f"127.0.0.1:{squid.port}"]
    assert req.header("Proxy-Authorization") == []
    assert d.wait_tunnel().get("route") == "chain"


def test_chain_from_config_file(socks2http, tinyproxy, squid, origin, tmp):
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy http://127.0.0.1:9\nroute localhost chain {tinyproxy.url} {squid.url}\n")
    os.chmod(conf, 0o600)
    d = socks2http("-c", conf)
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel()
    assert t.get("route") == "chain" and t.get("rule") == "1"
    assert squid.password not in d.log()


@pytest.mark.parametrize("case,want5", [
    ("hop1-403", 0x02),
    ("hop1-refused", 0x01),
    ("hop2-target-refused", 0x05),
    ("hop2-port-policy", 0x02),
])
@pytest.mark.parametrize("version", [5, 4])
def test_chain_hop_refuses(socks2http, fake_proxy, squid, closed_port, case, want5, version):
    """Where a hop says no, the reply follows the proxy table, whichever hop said it."""
    target_port = 443
    if case == "hop1-403":
        hop1 = fake_proxy(respond(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")).url
    elif case == "hop1-refused":
        hop1 = f"http://127.0.0.1:{closed_port}"
    else:
        hop1 = fake_proxy(relay()).url
        target_port = closed_port if case == "hop2-target-refused" else upstreams.SQUID_BLOCKED_PORT
    d = socks2http("-x", "http://127.0.0.1:9", "--route", f"* chain {hop1} {squid.url}")
    if version == 5:
        s, rep = socks5_open(d.port, "127.0.0.1", target_port, timeout=15)
        assert rep.rep == want5, rep
    else:
        s, code = socks4_open(d.port, "127.0.0.1", target_port, timeout=15)
        assert code == 91
    assert recv_until_eof(s, 5) == b""
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "chain" and t["reply"] == (f"0x{want5:02x}" if version == 5 else "91"), t


# ---------------------------------------------------------------- routes do not disturb each other

def test_direct_and_proxied_tunnels_side_by_side(socks2http, fake_proxy, echo):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--route", "127.0.0.1 direct", "--route", "blocked.example block")
    errors = []

    def one(i):
        try:
            if i % 3 == 0:
                s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
                assert rep.rep == 0
                echoes(s, b"d%d" % i)
            elif i % 3 == 1:
                s, rep = socks5_open(d.port, f"p{i}.example", 443)
                assert rep.rep == 0
                echoes(s, b"p%d" % i)
            else:
                s, rep = socks5_open(d.port, "blocked.example", 443)
                assert rep.rep == 0x02
                s.close()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors[:3]
    ts = d.wait_tunnels(30)
    routes = sorted(t.get("route") for t in ts)
    assert routes.count("direct") == 10 and routes.count("proxy") == 10 and routes.count("block") == 10
    assert len(fp.requests) == 10
    assert d.alive()


def test_sighup_replaces_rules(socks2http, fake_proxy, tmp):
    import signal
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {fp.url}\nroute hup.example block\n")
    d = socks2http("-c", conf)
    s, rep = socks5_open(d.port, "hup.example", 443)
    assert rep.rep == 0x02
    s.close()
    with open(conf + ".new", "w") as f:
        f.write(f"proxy {fp.url}\n")
    os.replace(conf + ".new", conf)
    d.signal(signal.SIGHUP)
    d.wait_line(r"reloaded")
    s, rep = socks5_open(d.port, "hup.example", 443)
    assert rep.rep == 0
    s.close()
    assert fp.wait_requests(1)[0].line == "CONNECT hup.example:443 HTTP/1.1"

