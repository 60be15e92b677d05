"""--prewarm: spare connections to the first healthy proxy, used by new tunnels, and a
daemon that sleeps while nothing is due."""

import time

from fakeproxy import ok
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
