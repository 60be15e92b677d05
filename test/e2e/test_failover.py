"""Several -x proxies: the next is tried when one cannot be reached."""

import socket
import time

import pytest

from clients import curl
from fakeproxy import close_now, ok, respond
from socksclient import recv_exact, socks4_open, socks5_open


@pytest.fixture
def blackhole():
    """A port whose accept queue is full: SYNs are dropped, connect() times out."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    filler = socket.socket()
    filler.settimeout(2)
    filler.connect(("127.0.0.1", port))
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        pytest.skip("this kernel does not drop SYNs on a full accept queue")
    except socket.timeout:
        pass
    finally:
        probe.close()
    yield port
    filler.close()
    ls.close()


def test_refused_then_working_proxy(socks2http, tinyproxy, origin, closed_port):
    d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "-x", tinyproxy.url)
    for _ in range(2):
        r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == origin.body
    ts = d.wait_tunnels(2)
    assert all(t["proxy"] == tinyproxy.addr and t["http"] == "200" for t in ts)


@pytest.mark.parametrize("version", [5, 4])
def test_all_proxies_dead(socks2http, closed_port, version):
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    try:
        d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "-x",
                       f"http://127.0.0.1:{other.getsockname()[1]}")
        t0 = time.monotonic()
        if version == 5:
            s, rep = socks5_open(d.port, "example.com", 443)
            assert rep.rep == 0x01
        else:
            s, code = socks4_open(d.port, "example.com", 443)
            assert code == 91
        assert time.monotonic() - t0 < 2
        s.close()
        t = d.wait_tunnel()
        assert t["http"] == "-"
        assert t["reply"] == ("0x01" if version == 5 else "91")
    finally:
        other.close()


def test_closed_before_answer_then_next(socks2http, fake_proxy):
    first, second = fake_proxy(close_now()), fake_proxy(ok(wait_before=0.2))
    d = socks2http("-x", first.url, "-x", second.url)
    early = b"pipelined hello"
    s, rep = socks5_open(d.port, "example.com", 443, early=early)
    assert rep.rep == 0
    # the held client bytes went to the proxy that answered, after its 200
    assert recv_exact(s, len(early)) == early
    s.close()
    (r1,) = first.wait_requests(1)
    (r2,) = second.wait_requests(1)
    assert r1.line == r2.line == "CONNECT example.com:443 HTTP/1.1"
    assert r2.pre_reply == b""
    assert d.wait_tunnel()["proxy"] == f"127.0.0.1:{second.port}"


def test_connect_timeout_then_next(socks2http, fake_proxy, blackhole):
    fp = fake_proxy(ok())
    d = socks2http("--connect-timeout", "1", "-x", f"http://127.0.0.1:{blackhole}", "-x", fp.url)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    took = time.monotonic() - t0
    assert rep.rep == 0
    assert 0.8 <= took <= 3, f"took {took:.2f}s with --connect-timeout 1"
    s.close()


def test_connect_timeout_only_proxy(socks2http, blackhole):
    d = socks2http("--connect-timeout", "1", "-x", f"http://127.0.0.1:{blackhole}")
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    took = time.monotonic() - t0
    assert rep.rep == 0x01
    assert 0.8 <= took <= 3
    s.close()


def test_an_answer_is_not_failed_over(socks2http, fake_proxy):
    """A proxy that answers (here 403) was reached: its answer is final."""
    first = fake_proxy(respond(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
    second = fake_proxy(ok())
    d = socks2http("-x", first.url, "-x", second.url)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0x02
    s.close()
    first.wait_requests(1)
    assert second.requests == []


def test_proxy_given_by_name(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", f"http://localhost:{fp.port}")
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.sendall(b"n")
    assert recv_exact(s, 1) == b"n"
    s.close()
    assert fp.wait_requests(1)[0].line == "CONNECT example.com:443 HTTP/1.1"


def test_unresolvable_proxy_name_then_next(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("--dns-timeout", "0.5", "-x", "http://no-such-proxy.invalid:3128", "-x", fp.url)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    assert time.monotonic() - t0 < 5
    s.close()


def test_proxy_default_port_80(socks2http, fake_proxy):
    """http://host without a port means port 80.  A fake proxy on 127.0.0.X:80 (a random X,
    so parallel runs do not collide) proves where the daemon connects."""
    import errno
    import random

    fp = None
    for _ in range(10):
        host = f"127.0.0.{random.randrange(2, 255)}"
        try:
            fp = fake_proxy(ok(), host=host, port=80)
            break
        except PermissionError:
            pytest.skip("cannot bind port 80 here (not root)")
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    assert fp is not None, "no free 127.0.0.X:80"
    d = socks2http("-x", f"http://{host}")
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()
    assert fp.wait_requests(1)[0].line == "CONNECT example.com:443 HTTP/1.1"
    assert d.wait_tunnel()["proxy"] == f"{host}:80"


def test_proxy_name_resolved_while_another_tunnel_is_busy(socks2http, fake_proxy):
    """A lookup's answer must reach its tunnel even while other tunnels keep the event loop
    busy every iteration (an idle-time delivery would starve until the traffic stops)."""
    import threading

    fp = fake_proxy(ok())
    d = socks2http("--dns-cache-ttl", "0", "-x", f"http://localhost:{fp.port}")
    busy, rep = socks5_open(d.port, "busy.example", 443)
    assert rep.rep == 0
    stop = threading.Event()
    chunk = b"x" * 65536

    busy.settimeout(5)

    def send():  # echo traffic through the first tunnel, both ways at once, without pause
        try:
            while not stop.is_set():
                busy.sendall(chunk)
        except OSError:
            pass  # the socket is shut down at the end

    def receive():
        try:
            while not stop.is_set() and busy.recv(1 << 20):
                pass
        except OSError:
            pass

    threads = [threading.Thread(target=f, daemon=True) for f in (send, receive)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        s, rep = socks5_open(d.port, "second.example", 443, timeout=8)
        took = time.monotonic() - t0
        assert rep.rep == 0, rep
        assert took < 2, f"the second tunnel waited {took:.2f}s for its proxy's name lookup"
        s.close()
    finally:
        stop.set()
        busy.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(10)
        busy.close()
