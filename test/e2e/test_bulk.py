"""Large transfers through socks2http and tinyproxy, checked with sha256 at the far end,
and a client that does not read while the origin pushes 200 MiB (memory stays bounded)."""

import hashlib
import time

import pytest

from bulkdata import MIB, RELAY_MODES, Worker, data64, stream_blocks
from socksclient import recv_exact, sha256_recv, socks5_tunnel


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_upload_64mib(socks2http, tinyproxy, acceptor, mode):
    a = acceptor()
    d = socks2http("-x", tinyproxy.url, *mode)
    data = data64()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()

    def origin_side():
        digest = sha256_recv(o, len(data), timeout=90)
        o.sendall(digest.encode())

    w = Worker(origin_side)
    w.start()
    s.settimeout(90)
    s.sendall(data)
    assert recv_exact(s, 64, timeout=90).decode() == hashlib.sha256(data).hexdigest()
    w.get(10)
    s.close()
    o.close()
    t = d.wait_tunnel(target=f"127.0.0.1:{a.port}")
    assert t["up"] == str(len(data)) and t["down"] == "64"


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_download_64mib(socks2http, tinyproxy, acceptor, mode):
    a = acceptor()
    d = socks2http("-x", tinyproxy.url, *mode)
    data = data64()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.settimeout(90)
    w = Worker(o.sendall, data)
    w.start()
    assert sha256_recv(s, len(data), timeout=90) == hashlib.sha256(data).hexdigest()
    w.get(10)
    s.close()
    o.close()
    t = d.wait_tunnel(target=f"127.0.0.1:{a.port}")
    assert t["down"] == str(len(data)) and t["up"] == "0"


def test_small_buffer_size_still_carries_everything(socks2http, tinyproxy, acceptor):
    a = acceptor()
    d = socks2http("-x", tinyproxy.url, "--buffer-size", "4096")
    data = data64()[: 8 * MIB]
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.settimeout(60)
    w = Worker(o.sendall, data)
    w.start()
    s.settimeout(60)
    up = Worker(s.sendall, data[:MIB])  # both directions at once
    up.start()
    got_up = Worker(recv_exact, o, MIB, 60)
    got_up.start()
    assert sha256_recv(s, len(data), timeout=60) == hashlib.sha256(data).hexdigest()
    assert got_up.get(60) == data[:MIB]
    up.get(10)
    w.get(10)
    s.close()
    o.close()


@pytest.mark.parametrize("mode", RELAY_MODES)
def test_slow_reader_memory_bounded(socks2http, tinyproxy, acceptor, mode):
    n_mib = 200
    a = acceptor()
    d = socks2http("-x", tinyproxy.url, *mode)
    time.sleep(0.3)
    baseline = d.rss_kib()
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.settimeout(120)

    def push():
        h = hashlib.sha256()
        sent = 0
        for block in stream_blocks(n_mib):
            o.sendall(block)
            h.update(block)
            sent += len(block)
        return h.hexdigest()

    w = Worker(push)
    w.start()
    time.sleep(3)  # the client reads nothing meanwhile
    assert w.is_alive(), "200 MiB were absorbed without the client reading"
    stalled = d.rss_kib()
    assert stalled - baseline < 8 * 1024, f"RSS grew from {baseline} to {stalled} KiB while the client stalled"
    digest = sha256_recv(s, n_mib * MIB, timeout=120)
    assert digest == w.get(10)
    after = d.rss_kib()
    assert after - baseline < 8 * 1024, f"RSS grew from {baseline} to {after} KiB"
    s.close()
    o.close()
    t = d.wait_tunnel(target=f"127.0.0.1:{a.port}")
    assert t["down"] == str(n_mib * MIB)

