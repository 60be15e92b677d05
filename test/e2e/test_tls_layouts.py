"""TLS to the proxy, with record and segment layouts a real proxy produces only by chance
(tlsscript lays them out): an end that comes in the segment of the proxy's last data, a
client that ends before the tunnel opens, and OpenSSL's multi-block writes of TLS 1.2 CBC
suites."""

import os
import socket
import ssl
import time

import pytest

from socksclient import (connect, read_socks5_reply, recv_exact, recv_until_eof, socks5_greeting,
                         socks5_request, socks5_tunnel)
from tlsscript import ScriptedTls

pytest_plugins = ("authupstreams",)  # proxy_cert

SSL_OP_NO_ENCRYPT_THEN_MAC = 1 << 19


@pytest.fixture
def scripted(proxy_cert, request):
    def make(script, **kw):
        p = ScriptedTls(proxy_cert[0], proxy_cert[1], script, **kw)
        request.addfinalizer(p.stop)
        return p
    return make


def end_within(s, seconds):
    """What the client receives until the end, and how long that took."""
    t0 = time.monotonic()
    data = recv_until_eof(s, seconds)
    return data, time.monotonic() - t0


@pytest.mark.parametrize("where", ["with the 200", "after data"])
def test_close_notify_in_the_segment_of_the_last_data(socks2http, scripted, proxy_cert, where):
    """The proxy sends its last bytes and its close_notify in one segment and leaves TCP
    open (TLS 1.3 lets it go on reading): the client gets the bytes, then its end, at once
    (the end was read behind the data, and no later event of the socket would tell)."""
    def script(c):
        c.read_request()
        if where == "after data":
            c.write(b"HTTP/1.1 200 OK\r\n\r\n")
            c.read(timeout=8)
            c.write(b"220 banner\r\n", send=False)
        else:
            c.write(b"HTTP/1.1 200 OK\r\n\r\n220 banner\r\n", send=False)
        c.close_notify(send=False)
        c.flush()
        c.read(timeout=8)
        time.sleep(3)

    p = scripted(script)
    d = socks2http("-x", p.url, "--proxy-cacert", proxy_cert[0])
    s = socks5_tunnel(d.port, "example.com", 25)
    if where == "after data":
        s.sendall(b"hello")
    data, took = end_within(s, 5)
    assert data == b"220 banner\r\n"
    assert took < 2, f"the end reached the client after {took:.1f}s"
    s.close()
    assert not p.errors, p.errors


def test_client_end_before_the_tunnel_opens(socks2http, scripted, proxy_cert):
    """The client sends its request and ends its side before the proxy's 200, with nothing
    else: the proxy is told (close_notify) once the tunnel opens, not after a timeout."""
    seen = {}

    def script(c):
        c.read_request()
        time.sleep(0.3)
        c.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t0 = time.monotonic()
        seen["read"] = c.read(timeout=5)  # b"": the close_notify; None: nothing came
        seen["after"] = time.monotonic() - t0
        c.write(b"answer")
        c.close_notify()
        time.sleep(1)

    p = scripted(script)
    d = socks2http("-x", p.url, "--proxy-cacert", proxy_cert[0])
    s = connect(d.port)
    s.sendall(socks5_greeting() + socks5_request("example.com", 79))
    s.shutdown(socket.SHUT_WR)
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 0
    assert recv_until_eof(s, 10) == b"answer"
    s.close()
    assert seen["read"] == b"" and seen["after"] < 2, seen


@pytest.mark.parametrize("bufsize", ["65536", "131072"])
def test_tls12_cbc_multiblock_upload(socks2http, scripted, proxy_cert, bufsize):
    """A TLS 1.2 proxy with a CBC-SHA suite and no encrypt-then-MAC: OpenSSL writes 4 or 8
    records in one go (multi-block) once a write holds that many, more than the bridge
    gathers for one send.  4 MiB uploaded with a 128 KiB relay buffer all arrive (the
    bridge spun on the writable socket before)."""
    total = 4 << 20
    got = {"n": 0}

    def script(c):
        head, rest = c.read_request()
        got["n"] += len(rest)
        c.write(b"HTTP/1.1 200 OK\r\n\r\n")
        while got["n"] < total:
            data = c.read(timeout=10)
            if not data:
                break
            got["n"] += len(data)
        c.write(b"done")
        time.sleep(1)

    p = scripted(script, max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA",
                 options=SSL_OP_NO_ENCRYPT_THEN_MAC)
    d = socks2http("-x", p.url, "--proxy-cacert", proxy_cert[0], "--buffer-size", bufsize)
    s = socks5_tunnel(d.port, "example.com", 443)
    s.settimeout(20)
    s.sendall(os.urandom(total))
    assert recv_exact(s, 4, timeout=20) == b"done"
    assert got["n"] == total
    s.close()
    assert not p.errors, p.errors
