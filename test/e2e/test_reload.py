"""Reloads (SIGHUP) racing with the old generation's last tunnels, and a log reader that
stops reading."""

import os
import random
import re
import signal
import socket
import time

from fakeproxy import ok
from hardening import fakedns, run_echo_wave, wait_until  # noqa: F401 (fixture)
from socksclient import connect, read_socks5_reply, recv_exact, recv_until_eof, socks5_greeting, socks5_request


def write_conf(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def test_old_generation_freed_by_its_last_lookup_answer(socks2http, fakedns, tmp):
    """Tunnels of the old configuration wait on the proxy's name when SIGHUP makes a new one;
    then DNS says NXDOMAIN.  Each failure closes its tunnel from inside the resolver's
    delivery (the clients have half-closed, so the tunnel ends as soon as its reply is out),
    and the last one drops the last reference to the old generation, resolver included,
    while the resolver is still walking its queue.  Every client gets its reply, the daemon
    stays up, and the sanitizers (checked at teardown) see nothing."""
    dns = fakedns("nxdomain", hold=True)
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy http://proxy.test:3128\ndns-servers {dns.addr}\ndns-timeout 5\nconnect-timeout 10\n")
    d = socks2http("-c", conf)
    clients = []
    for i in range(4):
        c = connect(d.port)
        c.sendall(socks5_greeting() + socks5_request(f"old{i}.example", 443))
        assert recv_exact(c, 2) == b"\x05\x00"
        c.shutdown(socket.SHUT_WR)
        clients.append(c)
    wait_until(lambda: ("proxy.test", "A") in dns.queries, 3, what="the A query for proxy.test")
    time.sleep(0.2)  # every tunnel is waiting on that one lookup
    d.signal(signal.SIGHUP)
    d.wait_line(r"reloaded: upstream proxy proxy\.test:3128")
    assert dns.release() >= 1
    for i, c in enumerate(clients):
        rep = read_socks5_reply(c, timeout=5)
        assert rep.rep == 0x01, f"client {i}: {rep!r}"
        assert recv_until_eof(c, 5) == b""
        c.close()
    lines = d.wait_tunnels(4, reason="proxy-unreachable")
    assert sorted(t["target"] for t in lines) == [f"old{i}.example:443" for i in range(4)]
    assert d.alive(), d.log()[-3000:]
    # the new generation still resolves (its own channel) and answers
    c = connect(d.port)
    c.sendall(socks5_greeting() + socks5_request("new.example", 443))
    assert recv_exact(c, 2) == b"\x05\x00"
    assert read_socks5_reply(c, timeout=5).rep == 0x01
    c.close()
    assert d.alive()
    assert not re.search(r"AddressSanitizer|runtime error", d.log())


# A target name near the SOCKS5 limit (255): with -v each tunnel logs it twice (CONNECT and
# the summary line), about 850 bytes of log per tunnel.
LONG_NAME = ".".join(["x" * 60, "y" * 60, "z" * 60, "w" * 50]) + ".example"
LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z socks2http\[\d+\] (error|warn|info|debug): ")


def test_log_reader_that_stops_reading_stalls_nothing(socks2http, fake_proxy):
    """stderr is a pipe nobody reads any more (the daemon's 64 KiB fill up at once): 4 waves
    of 200 tunnels, about 700 KB of -v log, all served as fast as ever.  When the reader comes
    back, it gets whole lines and a notice of how many were dropped, and logging goes on."""
    fp = fake_proxy(ok())
    d = socks2http("-v", "-x", fp.url)
    d.pause_log()
    rng = random.Random(11)
    for wave in range(4):
        payloads = [rng.randbytes(rng.randint(1000, 8000)) for _ in range(200)]
        t0 = time.monotonic()
        errors = run_echo_wave(d.port, payloads, target=(LONG_NAME, 443), timeout=20)
        took = time.monotonic() - t0
        bad = [(i, e) for i, e in enumerate(errors) if e]
        assert not bad, f"wave {wave}: {len(bad)} of 200 tunnels failed, first: {bad[:3]}"
        assert took < 10, f"wave {wave} took {took:.1f}s"
    assert len(fp.requests) == 800
    d.resume_log()
    m = d.wait_line(r"log: (\d+) lines dropped \(log reader too slow\)", timeout=10)
    assert int(m.group(1)) > 0
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(socks5_greeting() + socks5_request("after.example", 443))
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 0
    s.close()
    d.wait_tunnel(target="after.example:443")
    lines = d.log().splitlines()
    torn = [line for line in lines if not LINE_RE.match(line)]
    assert not torn, f"{len(torn)} lines not whole, first: {torn[:2]}"
    notice = [i for i, line in enumerate(lines) if "lines dropped" in line]
    after = [i for i, line in enumerate(lines) if "target=after.example:443" in line]
    assert len(notice) == 1 and notice[0] < after[0]
