"""Resource bounds: --max-tunnels, running out of file descriptors, and an upstream that
stops reading while the client keeps sending."""

import hashlib
import os
import resource
import socket
import time

import pytest

from bulkdata import MIB, RELAY_MODES, Worker, stream_blocks
from fakeproxy import ok
from socksclient import (connect, read_socks5_reply, recv_exact, sha256_recv, socks5_greeting,
                         socks5_open, socks5_request, socks5_tunnel)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_max_tunnels_holds_further_clients(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--max-tunnels", "2")
    first = socks5_tunnel(d.port, "example.com", 1)
    second = socks5_tunnel(d.port, "example.com", 2)
    third = connect(d.port)  # the kernel's backlog takes it
    third.sendall(socks5_greeting() + socks5_request("example.com", 3))
    third.settimeout(1.0)
    try:
        got = third.recv(1)
    except socket.timeout:
        got = None
    assert got is None, f"a third tunnel was served with --max-tunnels 2: {got!r}"
    assert len(fp.requests) == 2
    first.close()
    assert recv_exact(third, 2, timeout=5) == b"\x05\x00"
    assert read_socks5_reply(third).rep == 0
    third.sendall(b"3")
    assert recv_exact(third, 1) == b"3"
    for s in (second, third):
        s.close()


def test_out_of_file_descriptors_no_spin_and_recovery(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (40, 40))
    clients = []
    try:
        for i in range(60):
            c = connect(d.port)
            c.sendall(socks5_greeting() + socks5_request("example.com", 1000 + i))
            clients.append(c)
        time.sleep(0.5)
        c0 = cpu_seconds(d.pid)
        time.sleep(2.0)
        used = cpu_seconds(d.pid) - c0
        assert used < 0.5, f"daemon used {used:.2f}s of CPU in 2s while out of fds (spinning?)"
        assert d.alive()
    finally:
        for c in clients:
            c.close()
    # fds come free as those tunnels end: service resumes
    deadline = time.monotonic() + 10
    while True:
        try:
            s, rep = socks5_open(d.port, "after.example", 443, timeout=3)
            if rep.rep == 0:
                break
            s.close()
        except (AssertionError, OSError):
            pass
        assert time.monotonic() < deadline, "no service 10s after the fds came free"
        time.sleep(0.3)
    s.sendall(b"ok")
    assert recv_exact(s, 2) == b"ok"
    s.close()


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_stalled_upstream_reader_memory_bounded(socks2http, tinyproxy, acceptor, mode):
    """The client pushes 100 MiB while the origin reads nothing for 3 s."""
    n_mib = 100
    a = acceptor()
    d = socks2http("-x", tinyproxy.url, *mode)
    time.sleep(0.3)
    baseline = d.rss_kib()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    s.settimeout(120)

    def push():
        h = hashlib.sha256()
        for block in stream_blocks(n_mib):
            s.sendall(block)
            h.update(block)
        return h.hexdigest()

    w = Worker(push)
    w.start()
    time.sleep(3)
    assert w.is_alive(), "100 MiB were absorbed without the origin reading"
    stalled = d.rss_kib()
    assert stalled - baseline < 8 * 1024, f"RSS grew from {baseline} to {stalled} KiB while the origin stalled"
    assert sha256_recv(o, n_mib * MIB, timeout=120) == w.get(10)
    s.close()
    o.close()
    assert d.wait_tunnel(target=f"127.0.0.1:{a.port}")["up"] == str(n_mib * MIB)
