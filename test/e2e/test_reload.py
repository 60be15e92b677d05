"""Reloads (SIGHUP) racing with the old generation's last tunnels, and a log reader that
stops reading."""

import os
import re
import signal
import socket
import time

from hardening import fakedns, wait_until  # noqa: F401 (fixture)
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
