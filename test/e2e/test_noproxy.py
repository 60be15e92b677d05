"""--no-proxy (default: env no_proxy, else NO_PROXY): the table of cases in noproxy_cases.txt
(checked against curl's own --noproxy elsewhere) run through socks2http, the environment
defaults, and no DNS lookup to match a CIDR entry."""

import ipaddress
import os

import pytest

from daemon import clean_env
from fakeproxy import ok
from hardening import fakedns  # noqa: F401 (fixture)
from routing import authority, no_requests, wait_target
from socksclient import socks4_open, socks5_open

CASES_FILE = os.path.join(os.path.dirname(__file__), "noproxy_cases.txt")

# Used until noproxy_cases.txt exists; same format: ENTRY_LIST<TAB>HOST<TAB>PORT<TAB>direct|proxy
BUILTIN_CASES = """\
example.com\texample.com\t443\tdirect
example.com\twww.example.com\t443\tdirect
example.com\tnotexample.com\t443\tproxy
example.com\texample.org\t443\tproxy
.example.com\texample.com\t443\tdirect
.example.com\ta.b.example.com\t80\tdirect
EXAMPLE.com\twww.Example.COM\t443\tdirect
*\tanything.test\t443\tdirect
a.test,b.test\tb.test\t80\tdirect
a.test, b.test\tb.test\t80\tdirect
a.test,b.test\tc.test\t80\tproxy
192.168.0.0/16\t192.168.3.4\t443\tdirect
192.168.0.0/16\t192.169.0.1\t443\tproxy
10.0.0.1\t10.0.0.1\t22\tdirect
10.0.0.1\t10.0.0.2\t22\tproxy
::1\t::1\t443\tdirect
2001:db8::/32\t2001:db8::5\t443\tdirect
2001:db8::/32\t2001:db9::5\t443\tproxy
"""


def load_cases():
    """[(entries, host, port, want)] from noproxy_cases.txt when it exists, else the built-in
    rows.  Blank lines and lines starting with # are skipped; a bracketed IPv6 host is unbracketed."""
    if os.path.exists(CASES_FILE):
        with open(CASES_FILE) as f:
            text, source = f.read(), "noproxy_cases.txt"
    else:
        text, source = BUILTIN_CASES, "built-in"
    cases = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4 or parts[3].strip() not in ("direct", "proxy"):
            raise ValueError(f"{source} line {n}: want ENTRY_LIST<TAB>HOST<TAB>PORT<TAB>direct|proxy: {line!r}")
        entries, host, port, want = parts[0], parts[1].strip(), int(parts[2]), parts[3].strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        cases.append((entries, host, port, want))
    return source, cases


SOURCE, CASES = load_cases()


def dns_args(dns):
    return ["--dns-servers", dns.addr, "--dns-timeout", "0.3"]


def run_case(d, fp, host, port, want):
    """One SOCKS5 request for host:port; 'proxy' must reach the recording proxy with that
    CONNECT, 'direct' must not (it goes direct and fails fast: NXDOMAIN from the fake DNS
    server, or a 1 s connect timeout)."""
    s, rep = socks5_open(d.port, host, port, timeout=15)  # an IP literal goes as an address (ATYP 1/4)
    s.close()
    try:
        host = str(ipaddress.ip_address(host))  # as the daemon writes it: 0:0::1 is ::1
    except ValueError:
        pass
    t = wait_target(d, host, port, timeout=15)
    if want == "proxy":
        assert rep.rep == 0, f"{host}:{port} should go through the proxy: {rep!r}"
        assert [r.line for r in fp.wait_requests(1)] == [f"CONNECT {authority(host, port)} HTTP/1.1"]
        assert t.get("route") == "proxy", t
    else:
        assert t.get("route") == "direct", t
        no_requests(fp)


@pytest.mark.parametrize("entries,host,port,want", CASES,
                         ids=[f"{i + 1}:{e}|{h}:{p}->{w}" for i, (e, h, p, w) in enumerate(CASES)])
def test_noproxy_table(socks2http, fake_proxy, fakedns, entries, host, port, want):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = socks2http("-x", fp.url, "--no-proxy", entries, "--connect-timeout", "1", *dns_args(dns))
    run_case(d, fp, host, port, want)


def test_noproxy_table_source():
    """Says which table ran (the built-in one until noproxy_cases.txt lands)."""
    assert CASES, f"no rows in the {SOURCE} table"
    print(f"no_proxy table: {SOURCE}, {len(CASES)} rows")


def test_noproxy_direct_reaches_origin(socks2http, fake_proxy, echo):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--no-proxy", "localhost,127.0.0.1")
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
    assert rep.rep == 0
    s.sendall(b"no proxy for me")
    from socksclient import recv_exact
    assert recv_exact(s, 15) == b"no proxy for me"
    s.close()
    s, code = socks4_open(d.port, "127.0.0.1", echo.port)
    assert code == 90
    s.close()
    ts = d.wait_tunnels(2)
    assert all(t.get("route") == "direct" and t.get("rule") in (None, "-") for t in ts), ts
    no_requests(fp)


def test_noproxy_entry_with_port(socks2http, fake_proxy, fakedns):
    """An entry with :port matches that port only (our extension to curl's syntax)."""
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = socks2http("-x", fp.url, "--no-proxy", "port.test:8443", *dns_args(dns))
    run_case(d, fp, "port.test", 443, "proxy")
    fp.requests.clear()
    run_case(d, fp, "port.test", 8443, "direct")


def test_cidr_entry_never_resolves_a_name(socks2http, fake_proxy, fakedns):
    """cidr.test would resolve into 127.0.0.0/8, but no_proxy does not look names up: the
    name goes to the proxy, and the DNS server sees no query at all."""
    fp = fake_proxy(ok())
    dns = fakedns("answer", {"cidr.test": ["127.0.0.1", "::1"]})
    d = socks2http("-x", fp.url, "--no-proxy", "127.0.0.0/8,::1/128,10.0.0.0/8", *dns_args(dns))
    run_case(d, fp, "cidr.test", 443, "proxy")
    assert dns.queries == [], dns.queries


# ---------------------------------------------------------------- the environment

def env_daemon(socks2http, tmp, fp, args=(), **vars):
    env = clean_env(XDG_RUNTIME_DIR=tmp, **vars)
    return socks2http("-x", fp.url, "--connect-timeout", "1", *args, env=env)


def test_env_lower_case_wins(socks2http, fake_proxy, fakedns, tmp):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = env_daemon(socks2http, tmp, fp, dns_args(dns), no_proxy="lower.test", NO_PROXY="upper.test")
    run_case(d, fp, "lower.test", 443, "direct")
    run_case(d, fp, "upper.test", 443, "proxy")


def test_env_upper_case_alone(socks2http, fake_proxy, fakedns, tmp):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = env_daemon(socks2http, tmp, fp, dns_args(dns), NO_PROXY="upper.test")
    run_case(d, fp, "upper.test", 443, "direct")
    fp.requests.clear()
    run_case(d, fp, "other.test", 443, "proxy")


def test_option_overrides_env(socks2http, fake_proxy, fakedns, tmp):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = env_daemon(socks2http, tmp, fp, ["--no-proxy", "opt.test", *dns_args(dns)], no_proxy="env.test")
    run_case(d, fp, "env.test", 443, "proxy")
    fp.requests.clear()
    run_case(d, fp, "opt.test", 443, "direct")


def test_noproxy_in_config_file(socks2http, fake_proxy, fakedns, tmp):
    fp = fake_proxy(ok())
    dns = fakedns("nxdomain")
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {fp.url}\nno-proxy conf.test\ndns-servers {dns.addr}\ndns-timeout 0.3\n")
    d = socks2http("-c", conf)
    run_case(d, fp, "www.conf.test", 443, "direct")
    run_case(d, fp, "other.test", 443, "proxy")


def test_rule_before_noproxy(socks2http, fake_proxy, fakedns):
    """A --route rule decides before the no_proxy list."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    dns = fakedns("nxdomain")
    d = socks2http("-x", a.url, "--no-proxy", ".both.test", "--route", f"r.both.test proxy {b.url}",
                   *dns_args(dns))
    s, rep = socks5_open(d.port, "r.both.test", 443)
    assert rep.rep == 0
    s.close()
    assert b.wait_requests(1)[0].line == "CONNECT r.both.test:443 HTTP/1.1"
    assert d.wait_tunnel(target="r.both.test:443").get("rule") == "1"
    run_case(d, a, "n.both.test", 443, "direct")


def test_noproxy_for_http_proxy_clients(socks2http, fake_proxy, origin):
    """A forwarded GET and a CONNECT from an HTTP proxy client to a no_proxy target go direct."""
    from clients import curl

    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--no-proxy", "127.0.0.1")
    for extra in ([], ["--proxytunnel"]):
        r = curl("--proxy", f"http://127.0.0.1:{d.port}", *extra, origin.url())
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == origin.body
    ts = d.wait_tunnels(2)
    assert all(t["socks"] == "http" and t.get("route") == "direct" for t in ts), ts
    no_requests(fp)
