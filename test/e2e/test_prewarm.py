"""--prewarm: spare connections to the first healthy proxy, used by new tunnels, and a
daemon that sleeps while nothing is due."""

import time

from fakeproxy import basic_first, ok
from hardening import fakedns  # noqa: F401 (fixture)
from socksclient import recv_exact, socks5_tunnel


def ctxt_switches(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_spare_connection_carries_the_tunnel(socks2http, fake_proxy):
    fp = fake_proxy(ok(then="echo"))
    d = socks2http("-x", fp.url, "--prewarm", "2", "-v")
    time.sleep(0.5)  # the spares connect
    s = socks5_tunnel(d.port, "spare.example", 443)
    s.sendall(b"through a spare")
    assert recv_exact(s, 15) == b"through a spare"
    s.close()
    d.wait_line(r"using a spare connection to proxy")
    assert fp.wait_requests(1)[0].line == "CONNECT spare.example:443 HTTP/1.1"


def test_idle_daemon_with_spares_sleeps(socks2http, fake_proxy):
    """Nothing due for 15 s once the spares are up: no wake-ups twice a second."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--prewarm", "2")
    time.sleep(1.0)
    before = ctxt_switches(d.pid)
    time.sleep(3.0)
    woke = ctxt_switches(d.pid) - before
    assert woke <= 2, f"the idle daemon woke {woke} times in 3 s"


def test_spare_never_carries_another_proxys_credentials(socks2http, fake_proxy, fakedns):
    """The spares' lookup of proxy A's name is pending when A is marked down (a tunnel's own
    lookup of it timed out).  The answer then opens spares to A: they must be labelled A,
    so the next tunnel, which goes to B first, never sends B's credentials to A."""
    import base64

    pa = fake_proxy(basic_first(ok(then="echo")))  # both ask for Basic: credentials go out
    pb = fake_proxy(basic_first(ok(then="echo")))
    dns = fakedns("answer", {"a.test": "127.0.0.1"}, hold=True)
    d = socks2http("-x", f"http://alice:secret-a@a.test:{pa.port}", "-x", f"http://bob:secret-b@127.0.0.1:{pb.port}",
                   "--dns-servers", dns.addr, "--connect-timeout", "0.5", "--prewarm", "2", "-v")
    time.sleep(0.2)  # the spares' lookup of a.test is out, and held
    s = socks5_tunnel(d.port, "first.example", 443)  # A's lookup times out: A is marked down, B serves
    s.close()
    d.wait_line(r"proxy a\.test:\d+ is unreachable")
    assert dns.release() >= 1
    time.sleep(0.5)  # the answer reaches the spares, which connect
    for i in range(3):
        s = socks5_tunnel(d.port, f"next{i}.example", 443)
        s.close()
    time.sleep(0.3)
    bob = "Basic " + base64.b64encode(b"bob:secret-b").decode()
    for req in pa.requests:
        assert bob not in req.header("Proxy-Authorization"), f"proxy A got B's credentials: {req.raw!r}"
    assert len(pb.requests) >= 4


def test_spares_try_the_next_address(socks2http, fake_proxy, fakedns):
    """The proxy's name gives ::1 first, where nothing listens: the spares go to its next
    address (127.0.0.1) on their next try, instead of knocking at ::1 for ever."""
    p = fake_proxy(ok(then="echo"))
    dns = fakedns("answer", {"v6first.test": ["::1", "127.0.0.1"]})
    d = socks2http("-x", f"http://v6first.test:{p.port}", "--dns-servers", dns.addr, "--prewarm", "2", "-v")
    d.wait_line(r"prewarm: connect to the proxy: Connection refused")
    deadline = time.monotonic() + 8
    while p.silent_connections + len(p.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    s = socks5_tunnel(d.port, "after.example", 443)
    s.close()
    d.wait_line(r"using a spare connection to proxy v6first\.test:\d+")
