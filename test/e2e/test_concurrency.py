"""Many tunnels open at the same time, each with its own payload."""

import hashlib
import os
import threading

from socksclient import recv_exact, socks4_open, socks5_tunnel

N = 200


def test_200_concurrent_tunnels(socks2http, tinyproxy, echo):
    d = socks2http("-x", tinyproxy.url)
    barrier = threading.Barrier(N, timeout=60)
    results = [None] * N
    socks = []
    lock = threading.Lock()

    def client(i):
        try:
            payload = os.urandom(4096 + 97 * i)
            if i % 4 == 3:
                s, code = socks4_open(d.port, "127.0.0.1", echo.port, timeout=30)
                assert code == 90, f"tunnel {i}: SOCKS4 reply {code}"
            else:
                s = socks5_tunnel(d.port, "127.0.0.1", echo.port, timeout=30)
            with lock:
                socks.append(s)
            barrier.wait()  # all N tunnels are established at this point
            s.sendall(payload)
            back = recv_exact(s, len(payload), timeout=60)
            results[i] = hashlib.sha256(back).hexdigest() == hashlib.sha256(payload).hexdigest()
        except BaseException as e:  # noqa: BLE001
            results[i] = repr(e)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(N)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads), "clients still running after 90 s"
    finally:
        for s in socks:
            s.close()
    bad = [(i, r) for i, r in enumerate(results) if r is not True]
    assert not bad, f"{len(bad)} of {N} tunnels failed, first: {bad[:3]}"
    lines = d.wait_tunnels(N, timeout=30, target=f"127.0.0.1:{echo.port}")
    assert all(t["http"] == "200" for t in lines)
    assert sorted(int(t["up"]) for t in lines) == sorted(4096 + 97 * i for i in range(N))
