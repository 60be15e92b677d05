"""TLS to the proxy (-x https://...): squid's https_port with a certificate made by the test,
and our TlsFront (Python ssl, session tickets) in front of plain proxies.

test_fixture_*: the fixtures proved with curl alone (no socks2http)."""

import hashlib
import re
import socket
import ssl
import time

from authupstreams import make_cert, socks5_code, via
from bulkdata import MIB, Worker, data64
from clients import curl
from socksclient import recv_exact, sha256_recv, socks5_tunnel

pytest_plugins = ("authupstreams",)  # its fixtures: squid_tls, authproxy, ...


# ---------------------------------------------------------------- fixtures, curl alone

def test_fixture_squid_tls_curl(squid_tls, origin):
    base = ["--proxy", f"https://localhost:{squid_tls.port}", "--proxytunnel"]
    r = curl(*base, "--proxy-cacert", squid_tls.cafile, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    r = curl("--proxy", f"https://127.0.0.1:{squid_tls.port}", "--proxytunnel",
             "--proxy-cacert", squid_tls.cafile, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    r = curl(*base, origin.url())
    assert r.returncode == 60, (r.returncode, r.stderr)  # self-signed: not trusted
    assert b"self-signed certificate" in r.stderr
    r = curl(*base, "--proxy-insecure", origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr


def test_fixture_tls_front_curl(tls_front, tinyproxy, proxy_cert, origin, tmp):
    t = tls_front(tinyproxy.port)
    r = curl("--proxy", f"https://localhost:{t.port}", "--proxytunnel", "--proxy-cacert", proxy_cert[0],
             origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert t.handshakes == 1 and t.sni == ["localhost"]
    other, _ = make_cert(tmp, names=("other.example",), ips=(), cn="other.example", prefix="other")
    r = curl("--proxy", f"https://localhost:{t.port}", "--proxytunnel", "--proxy-cacert", other, origin.url())
    assert r.returncode == 60, r.stderr


def test_fixture_tls_front_name_mismatch_curl(tls_front, tinyproxy, origin, tmp):
    cert, key = make_cert(tmp, names=("other.example",), ips=(), cn="other.example", prefix="other")
    t = tls_front(tinyproxy.port, cert, key)
    r = curl("--proxy", f"https://localhost:{t.port}", "--proxytunnel", "--proxy-cacert", cert, origin.url())
    assert r.returncode == 60, (r.returncode, r.stderr)
    assert b"localhost" in r.stderr


def test_fixture_tls_front_resumes(tls_front, tinyproxy, proxy_cert, origin):
    """TlsFront issues TLS 1.3 tickets and resumes a session offered back (Python's client)."""
    t = tls_front(tinyproxy.port)
    ctx = ssl.create_default_context(cafile=proxy_cert[0])
    session = None
    for i in range(2):
        raw = socket.create_connection(("127.0.0.1", t.port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        s.sendall(f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)  # the tickets come with this read
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"), head
        assert s.session_reused == (i == 1)
        session = s.session
        s.close()
    assert t.handshakes == 2 and t.resumed == 1


# ---------------------------------------------------------------- socks2http

def test_https_proxy_verified(socks2http, squid_tls, origin):
    d = socks2http("-x", f"https://localhost:{squid_tls.port}", "--proxy-cacert", squid_tls.cafile)
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    t = d.wait_tunnel()
    assert t["http"] == "200" and t["reply"] == "0x00"
    assert t["tls"] == "full"
    assert t["auth"] == "none"
    assert "tls_verify" not in t


def test_https_proxy_bulk_both_ways(socks2http, squid_tls, acceptor):
    """32 MiB up and 32 MiB down at once through squid's TLS port, each checked with sha256:
    the relay's writes to TLS gather several records per send, and a record the socket
    did not take goes first later; the close_notify after the last one."""
    a = acceptor()
    d = socks2http("-x", f"https://localhost:{squid_tls.port}", "--proxy-cacert", squid_tls.cafile,
                   "--buffer-size", "65536")
    up = data64()[: 32 * MIB]
    down = bytes(reversed(up))
    s = socks5_tunnel(d.port, "127.0.0.1", a.port)
    o = a.accept()
    o.settimeout(90)

    def origin_side():
        w = Worker(o.sendall, down)
        w.start()
        digest = sha256_recv(o, len(up), timeout=90)
        w.get(60)
        o.sendall(digest.encode())
        o.shutdown(socket.SHUT_WR)

    w = Worker(origin_side)
    w.start()
    s.settimeout(90)
    sender = Worker(s.sendall, up)
    sender.start()
    assert sha256_recv(s, len(down), timeout=90) == hashlib.sha256(down).hexdigest()
    sender.get(60)
    assert recv_exact(s, 64, timeout=90).decode() == hashlib.sha256(up).hexdigest()
    w.get(10)
    s.close()
    o.close()
    t = d.wait_tunnel(target=f"127.0.0.1:{a.port}")
    assert t["tls"] == "full"
    assert t["up"] == str(len(up)) and t["down"] == str(len(down) + 64)


def test_check_walks_the_tls_stage(binary, squid_tls, origin):
    """socks2http check: a tls stage, and what to do when the certificate is not trusted."""
    from daemon import clean_env, run_cli
    proxy = f"https://localhost:{squid_tls.port}"
    target = f"127.0.0.1:{origin.port}"
    r = run_cli(binary, ["check", target, "-x", proxy, "--proxy-cacert", squid_tls.cafile], env=clean_env())
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert re.search(r"ok .* tls +full handshake", out), out
    r = run_cli(binary, ["check", target, "-x", proxy], env=clean_env())
    out = r.stdout.decode()
    assert r.returncode == 1, out
    assert re.search(r"FAIL .* tls +certificate verify failed: .*\(subject .*, issuer .*\)", out), out
    assert "advice: the proxy's certificate is not trusted here: give its CA with --proxy-cacert" in out, out
    assert "proxy-reply" not in out, out


def test_https_proxy_ip_literal(socks2http, squid_tls, origin):
    d = socks2http("-x", f"https://127.0.0.1:{squid_tls.port}", "--proxy-cacert", squid_tls.cafile)
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert d.wait_tunnel()["tls"] in ("full", "resumed")


def test_https_proxy_untrusted_is_01(socks2http, squid_tls, origin):
    d = socks2http("-x", f"https://localhost:{squid_tls.port}")  # system store: not our CA
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x01
    t = d.wait_tunnel()
    assert t["reply"] == "0x01"
    assert "tls-failed" in t["reason"]
    d.wait_line(r"TLS.*(self-signed certificate|unable to get local issuer)")


def test_https_proxy_wrong_ca_is_01(socks2http, squid_tls, origin, tmp):
    other, _ = make_cert(tmp, prefix="other")
    d = socks2http("-x", f"https://localhost:{squid_tls.port}", "--proxy-cacert", other)
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x01
    assert "tls-failed" in d.wait_tunnel()["reason"]
    d.wait_line(r"TLS.*(self-signed certificate|unable to get local issuer|verify)")


def test_https_proxy_name_mismatch_is_01(socks2http, tls_front, tinyproxy, origin, tmp):
    cert, key = make_cert(tmp, names=("other.example",), ips=(), cn="other.example", prefix="other")
    t = tls_front(tinyproxy.port, cert, key)
    d = socks2http("-x", f"https://localhost:{t.port}", "--proxy-cacert", cert)
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x01
    assert "tls-failed" in d.wait_tunnel()["reason"]
    d.wait_line(r"TLS.*(mismatch|hostname|other\.example)")


def test_https_proxy_insecure(socks2http, squid_tls, origin):
    d = socks2http("-x", f"https://localhost:{squid_tls.port}", "--proxy-insecure")
    d.wait_line(r"(?i)verif\w*.*\boff\b|tls_verify=off|insecure")
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    ts = d.wait_tunnels(2)
    assert all(t["tls_verify"] == "off" and t["http"] == "200" for t in ts), ts


def test_https_to_plain_proxy_is_01(socks2http, tinyproxy, origin):
    d = socks2http("-x", f"https://127.0.0.1:{tinyproxy.port}", "--proxy-insecure")
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x01
    t = d.wait_tunnel()
    assert "tls-failed" in t["reason"]
    d.wait_line(r"TLS")


def test_https_proxy_resumes_sessions(socks2http, tls_front, tinyproxy, proxy_cert, origin):
    t = tls_front(tinyproxy.port)
    d = socks2http("-x", f"https://localhost:{t.port}", "--proxy-cacert", proxy_cert[0])
    for _ in range(3):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    ts = d.wait_tunnels(3)
    assert ts[0]["tls"] == "full"
    assert any(x["tls"] == "resumed" for x in ts[1:]), ts
    assert t.resumed >= 1
    assert set(t.sni) == {"localhost"}


def test_https_spares_are_through_the_handshake(socks2http, tls_front, tinyproxy, proxy_cert, origin):
    """--prewarm with an https:// proxy: the spares finish their TLS handshakes ahead of
    time, so a tunnel that takes one makes none of its own."""
    t = tls_front(tinyproxy.port)
    d = socks2http("-x", f"https://localhost:{t.port}", "--proxy-cacert", proxy_cert[0], "--prewarm", "2", "-v")
    deadline = time.monotonic() + 10
    while t.handshakes < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert t.handshakes == 2, t.handshakes
    time.sleep(0.3)  # the spares read their session tickets
    before = t.handshakes
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    d.wait_line(r"using a spare connection to proxy localhost:\d+")
    tun = d.wait_tunnel()
    assert tun["tls"] in ("full", "resumed") and tun["reply"] == "0x00", tun
    # the tunnel's own connection was a spare's: only the refill handshakes came since
    deadline = time.monotonic() + 5
    while t.handshakes < before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert t.handshakes == before + 1, (before, t.handshakes)
    assert t.resumed >= 1  # the refill resumed a spare's session


def test_https_ip_literal_sends_no_sni(socks2http, tls_front, tinyproxy, proxy_cert, origin):
    t = tls_front(tinyproxy.port)
    d = socks2http("-x", f"https://127.0.0.1:{t.port}", "--proxy-cacert", proxy_cert[0])
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert t.sni == [None]


def test_https_proxy_with_basic_auth(socks2http, tls_front, authproxy, proxy_cert, origin):
    p = authproxy(user="tu", password="tls-Pass_1", offer=("basic",), accept=("basic",))
    t = tls_front(p.port)
    d = socks2http("-x", f"https://tu:tls-Pass_1@localhost:{t.port}", "--proxy-cacert", proxy_cert[0])
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    tl = d.wait_tunnel()
    assert tl["auth"] == "basic" and tl["tls"] in ("full", "resumed")
    assert "tls-Pass_1" not in d.log()


def test_https_proxy_with_digest(socks2http, tls_front, authproxy, proxy_cert, origin):
    p = authproxy(user="tu", password="tls-Pass_2", algorithm="SHA-256")
    t = tls_front(p.port)
    d = socks2http("-x", f"https://tu:tls-Pass_2@localhost:{t.port}", "--proxy-cacert", proxy_cert[0])
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    tl = d.wait_tunnel()
    assert tl["auth"] == "digest" and tl["tls"] in ("full", "resumed")

