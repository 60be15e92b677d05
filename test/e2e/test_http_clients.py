"""HTTP proxy clients on the SOCKS port: CONNECT, absolute-form requests forwarded with the
upstream's login, keep-alive and pipelining, the PAC file, the DNS-rebinding guard,
--no-http, --socks-auth with Basic, and the error answers mapped from the dial's outcome."""

import base64
import hashlib
import http.client
import http.server
import os
import socket
import threading
import time

import pytest

from clients import curl
from daemon import clean_env
from fakeproxy import ok, respond, silent
from origin import pattern


def raw_exchange(port, data, want_close=True, timeout=10.0):
    """Sends data on a fresh connection and reads until the daemon closes it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def read_response(f):
    """One HTTP/1.1 response with Content-Length from a socket file: (status, headers, body)."""
    status = f.readline().decode()
    headers = {}
    while True:
        line = f.readline().decode()
        if line in ("\r\n", "\n", ""):
            break
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    return int(status.split()[1]), headers, f.read(n)


class PostOrigin:
    """POST /sum answers with the sha256 of the body (Content-Length or chunked)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def do_POST(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                out = hashlib.sha256(body).hexdigest().encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def post_origin():
    o = PostOrigin()
    yield o
    o.stop()


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("upstream", ["tinyproxy", "tinyproxy_auth", "squid"])
def test_get_forwarded_with_upstream_login(request, socks2http, origin, upstream):
    """curl -x http://bridge: a plain http URL is forwarded (no CONNECT); for the proxies
    that need a login, the bridge adds it (curl sends none)."""
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    r = curl("-x", f"http://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel(target=f"127.0.0.1:{origin.port}")
    assert t["socks"] == "http"
    assert t["reply"] == "200"
    assert t["proxy"] == up.addr
    assert int(t["down"]) > len(origin.body)
    if up.password:
        assert up.password not in d.log()


@pytest.mark.parametrize("upstream", ["tinyproxy", "tinyproxy_auth", "squid"])
def test_connect_tunnel(request, socks2http, origin, upstream):
    """curl -p (--proxytunnel): CONNECT from an HTTP client is a tunnel like a SOCKS one."""
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    r = curl("-p", "-x", f"http://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel(target=f"localhost:{origin.port}")
    assert t["socks"] == "http"
    assert t["http"] == "200"
    assert t["reply"] == "200"


HOP_REQUEST = (b"GET http://h.example/x?y HTTP/1.1\r\nHost: h.example\r\nConnection: keep-alive, X-Hop\r\n"
               b"X-Hop: 1\r\nKeep-Alive: 5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n"
               b"Proxy-Authorization: Basic Y2xpZW50OnB3\r\nX-End: 2\r\n\r\n")
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nKeep-Alive: x\r\nX-Up: 3\r\n\r\nok"


def basic_wanted(then):
    """A proxy scenario: 407 asking for Basic to a request without Proxy-Authorization,
    else then (a forwarded request carries our Basic only once the proxy asked for it)."""
    def run(ctx):
        if not ctx.request.header("Proxy-Authorization"):
            ctx.conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")
        else:
            then(ctx)
    return run


def learn_login(d, port):
    """One GET through the bridge, so that it learns the proxy's scheme: a request with a
    body cannot go again after a 407, so to a proxy not yet heard from it goes without
    credentials, and the 407 reaches the client."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    c.request("GET", f"http://127.0.0.1:{port}/")
    c.getresponse().read()
    c.close()


@pytest.mark.parametrize("login", [False, True], ids=["client-login-kept", "ours-replaces"])
def test_forwarded_head_rewritten(socks2http, fake_proxy, login):
    """What reaches the proxy: absolute form kept, hop-by-hop headers gone, Connection:
    close; Proxy-Authorization the client's when we have none for the proxy, else ours.
    What reaches the client: the answer without the proxy's hop-by-hop headers."""
    fp = fake_proxy(basic_wanted(respond(ANSWER)))
    d = socks2http("-x", fp.url_with("up:pw") if login else fp.url)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(HOP_REQUEST)
    status, headers, body = read_response(s.makefile("rb"))
    assert (status, body) == (200, b"ok")
    assert headers.get("x-up") == "3" and "keep-alive" not in headers and "connection" not in headers
    s.close()
    req = fp.wait_requests(2 if login else 1)[-1]  # ours: after the proxy's 407 asked for Basic
    assert req.line == "GET http://h.example/x?y HTTP/1.1"
    names = [n.lower() for n, _ in req.headers]
    assert names == ["host", "x-end", "proxy-authorization", "connection"], req.headers
    assert req.header("Connection") == ["close"]
    want = "Basic dXA6cHc=" if login else "Basic Y2xpZW50OnB3"
    assert req.header("Proxy-Authorization") == [want]


def test_long_upstream_login(socks2http, fake_proxy):
    """Credentials as long as a proxy URL takes (255 bytes each) go on a forwarded request
    as on a CONNECT, and so does a long Proxy-Authorization of the client's own (kept when
    we have no login for the proxy): neither is dropped, nor the request closed unanswered."""
    user, pw = "u" * 255, "p" * 255
    fp = fake_proxy(basic_wanted(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")))
    d = socks2http("-x", fp.url_with(f"{user}:{pw}"))
    want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET http://h.example/ HTTP/1.1\r\nHost: h.example\r\n\r\n")
    status, _, body = read_response(s.makefile("rb"))
    assert (status, body) == (200, b"ok")
    s.close()
    assert fp.wait_requests(2)[1].header("Proxy-Authorization") == [want]

    fp2 = fake_proxy(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    d2 = socks2http("-x", fp2.url)
    mine = "Basic " + "Q" * 2000
    s = socket.create_connection(("127.0.0.1", d2.port), timeout=10)
    s.sendall(b"GET http://h.example/ HTTP/1.1\r\nHost: h.example\r\nProxy-Authorization: %s\r\n\r\n" % mine.encode())
    status, _, body = read_response(s.makefile("rb"))
    assert (status, body) == (200, b"ok")
    s.close()
    assert fp2.wait_requests(1)[0].header("Proxy-Authorization") == [mine]


def test_connect_early_payload(socks2http, fake_proxy):
    """Bytes sent right after the CONNECT head are held until the proxy's 200, then go
    through the tunnel (the fake proxy echoes them)."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEARLY")
    want = b"HTTP/1.1 200 Connection established\r\n\r\nEARLY"
    got = b""
    while len(got) < len(want):
        chunk = s.recv(100)
        assert chunk, got
        got += chunk
    assert got == want
    s.close()
    assert fp.wait_requests(1)[0].line == "CONNECT example.com:443 HTTP/1.1"


def recv_exact_or_eof(s, n, timeout=10.0):
    s.settimeout(timeout)
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


FRAMINGS = {
    # name: (method, the proxy's answer, what the client gets, the connection stays open)
    "interim-100": ("GET", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True),
    "chunked": ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", True),
    "until-close": ("GET", b"HTTP/1.1 200 OK\r\n\r\nabc",
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", False),
    "head": ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
             b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", True),
    "no-content": ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n", True),
    # an HTTP/1.0 client: no interim answer, and the connection ends with the answer
    "http10-interim": ("GET/1.0", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                       b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", False),
    # RFC 9112 section 6.3 (3): chunked wins, and an intermediary removes Content-Length
    "chunked-and-length": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"2\r\nok\r\n0\r\n\r\n",
                           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", True),
    # section 6.3 (4): a last coding other than chunked runs to the close, Content-Length or not
    "coding-not-chunked": ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nokMORE",
                           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nokMORE", False),
    # Connection may not take the framing away (the client would wait for the close)
    "connection-lists-te": ("GET", b"HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", True),
    # equal lengths are one length
    "equal-lengths": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
                      b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True),
}


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_answer_framing(socks2http, fake_proxy, name):
    """The proxy's answer reaches the client exactly, framed by its own rules; where the
    framing allows it, the connection carries a second request."""
    method, answer, want, stays = FRAMINGS[name]
    fp = fake_proxy(respond(answer))
    d = socks2http("-x", fp.url)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    method, _, version = method.partition("/")
    req = f"{method} http://h.example/ HTTP/{version or '1.1'}\r\nHost: h.example\r\n\r\n".encode()
    s.sendall(req)
    assert recv_exact_or_eof(s, len(want)) == want
    if stays:
        s.sendall(req)
        assert recv_exact_or_eof(s, len(want)) == want
        assert len(fp.wait_requests(2)) == 2
    else:
        assert recv_exact_or_eof(s, 1) == b""
    s.close()


@pytest.mark.parametrize("lengths", [b"Content-Length: 2\r\nContent-Length: 19", b"Content-Length: 2, 3",
                                     b"Content-Length: 0x2"], ids=["differ", "list-differs", "invalid"])
def test_answer_untrusted_length_502(socks2http, fake_proxy, lengths):
    """An answer whose length cannot be trusted (two that differ, or an invalid one) is a
    502 and never reaches the client (RFC 9112 section 6.3 (5)): framed by one value while
    the client reads the other, the rest of it would pass for the answer to the client's
    next request on the kept-alive connection."""
    forged = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nFORGED"
    fp = fake_proxy(respond(b"HTTP/1.1 200 OK\r\n" + lengths + b"\r\n\r\nok" + forged, then="hold"))
    d = socks2http("-x", fp.url)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET http://h.example/ HTTP/1.1\r\nHost: h.example\r\n\r\n")
    status, _, body = read_response(s.makefile("rb"))
    assert status == 502 and b"FORGED" not in body
    s.close()


@pytest.mark.parametrize("framing", [b"Content-Length: 5\r\n\r\nhello",
                                     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
                         ids=["length", "chunked"])
@pytest.mark.parametrize("upstream", ["tinyproxy", "squid"])
def test_connection_cannot_list_the_framing(request, socks2http, post_origin, upstream, framing):
    """A Connection header that lists Content-Length or Transfer-Encoding does not take the
    framing header off the forwarded request: the body is framed by it, and without it the
    proxy would give the origin an empty body and read the body as a request of its own."""
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    learn_login(d, post_origin.port)
    name = b"Content-Length" if framing.startswith(b"Content") else b"Transfer-Encoding"
    req = (b"POST http://127.0.0.1:%d/sum HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive, %s\r\n"
           % (post_origin.port, post_origin.port, name)) + framing
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(req)
    status, _, body = read_response(s.makefile("rb"))
    assert (status, body.decode()) == (200, hashlib.sha256(b"hello").hexdigest())
    s.close()


def test_proxy_environment_variables(socks2http, origin, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    env = clean_env(http_proxy=f"http://127.0.0.1:{d.port}", https_proxy=f"http://127.0.0.1:{d.port}")
    r = curl(origin.url(), env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    assert d.wait_tunnel(target=f"127.0.0.1:{origin.port}")["socks"] == "http"


@pytest.mark.parametrize("upstream", ["tinyproxy", "squid"])
def test_chunked_request_body(request, socks2http, post_origin, tmp, upstream):
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    learn_login(d, post_origin.port)
    data = pattern(200_003)
    path = os.path.join(tmp, "body")
    with open(path, "wb") as f:
        f.write(data)
    r = curl("-x", f"http://127.0.0.1:{d.port}", "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{path}",
             f"http://127.0.0.1:{post_origin.port}/sum")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == hashlib.sha256(data).hexdigest()


def test_content_length_body(socks2http, post_origin, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    data = b"x" * 70_000
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    c.request("POST", f"http://127.0.0.1:{post_origin.port}/sum", body=data)
    resp = c.getresponse()
    assert resp.status == 200
    assert resp.read().decode() == hashlib.sha256(data).hexdigest()
    c.close()


def test_keep_alive_several_requests(socks2http, origin, squid):
    """Several requests on one client connection (http.client keeps it), one log line each."""
    d = socks2http("-x", squid.url)
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    for path in ("/hello", "/size/1000", "/hello"):
        c.request("GET", origin.url(path=path))
        resp = c.getresponse()
        body = resp.read()
        assert resp.status == 200
        assert body == (origin.body if path == "/hello" else pattern(1000))
    sock_port = c.sock.getsockname()[1]
    c.close()
    lines = d.wait_tunnels(3, target=f"127.0.0.1:{origin.port}")
    assert len({ln["client"] for ln in lines}) == 1
    assert lines[0]["client"].endswith(f":{sock_port}")
    assert [ln["reason"] for ln in lines] == ["done"] * 3
    time.sleep(0.3)  # the client's close between requests adds no line
    assert len(d.tunnels()) == 3, d.tunnels()


def test_http10_client_gets_answer_then_close(socks2http, origin, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    out = raw_exchange(d.port, f"GET {origin.url()} HTTP/1.0\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], out
    assert b"Connection: close" in head
    assert body == origin.body
    t = d.wait_tunnel(target=f"127.0.0.1:{origin.port}")
    assert (t["reply"], t["reason"]) == ("200", "closed")


def test_http10_keep_alive_client(socks2http, fake_proxy):
    """An HTTP/1.0 client that asks to keep the connection is told the answer keeps it
    (Connection: keep-alive, as squid answers): without it a 1.0 client reads the answer
    as running to the close, and waits for it.  Its next request on the same connection
    is answered too."""
    fp = fake_proxy(respond(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    d = socks2http("-x", fp.url)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    req = b"GET http://h.example/ HTTP/1.0\r\nHost: h.example\r\nConnection: keep-alive\r\n\r\n"
    want = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
    for _ in range(2):
        s.sendall(req)
        assert recv_exact_or_eof(s, len(want)) == want
    s.close()


def test_pipelined_requests_answered_in_order(socks2http, origin, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    paths = ["/size/10", "/hello", "/size/70000", "/size/3"]
    req = b"".join(f"GET {origin.url(path=p)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for p in paths)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(req)
    f = s.makefile("rb")
    for p in paths:
        status, headers, body = read_response(f)
        assert status == 200
        assert body == (origin.body if p == "/hello" else pattern(int(p[6:])))
        assert "connection" not in headers or headers["connection"].lower() != "close"
    s.close()


def test_rebinding_origin_form_refused(socks2http, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    out = raw_exchange(d.port, b"GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    out = raw_exchange(d.port, b"GET /proxy.pac HTTP/1.1\r\nHost: attacker.example:80\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"FindProxyForURL" not in out


def test_proxy_pac(socks2http, tinyproxy):
    d = socks2http("-x", tinyproxy.url)
    r = curl("-i", f"http://127.0.0.1:{d.port}/proxy.pac")
    assert r.returncode == 0, r.stderr.decode()
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Type: application/x-ns-proxy-autoconfig" in head
    assert body.decode().strip() == ('function FindProxyForURL(url, host) { return '
                                     f'"PROXY 127.0.0.1:{d.port}; SOCKS5 127.0.0.1:{d.port}"; }}')
    r = curl(f"http://localhost:{d.port}/proxy.pac")
    assert b"FindProxyForURL" in r.stdout
    r = curl("-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{d.port}/other")
    assert r.stdout == b"404"


def test_no_http_drops_http_clients(socks2http, origin, tinyproxy):
    d = socks2http("-x", tinyproxy.url, "--no-http")
    r = curl("-x", f"http://127.0.0.1:{d.port}", origin.url())
    assert r.returncode != 0
    d.wait_line(r"an HTTP client\? this port speaks SOCKS")
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.stdout == origin.body


def test_socks_auth_basic(socks2http, origin, tinyproxy, tmp):
    path = write_private(os.path.join(tmp, "users"), "alice:pw\n")
    d = socks2http("-x", tinyproxy.url, "--socks-auth", path)
    out = raw_exchange(d.port, f"GET {origin.url()} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert out.startswith(b"HTTP/1.1 407 "), out
    assert b'Proxy-Authenticate: Basic realm="socks2http"' in out
    r = curl("-x", f"http://alice:wrong@127.0.0.1:{d.port}", origin.url())
    assert r.stdout != origin.body
    for extra in ([], ["-p"]):
        r = curl(*extra, "-x", f"http://alice:pw@127.0.0.1:{d.port}", origin.url())
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == origin.body
    assert "pw" not in [ln.get("reason") for ln in d.tunnels()]


def test_error_unreachable_proxy(socks2http, origin, closed_port):
    d = socks2http("-x", f"http://127.0.0.1:{closed_port}")
    for extra, code in (([], "%{http_code}"), (["-p"], "%{http_connect}")):
        r = curl(*extra, "-s", "-o", "/dev/null", "-w", code, "-x", f"http://127.0.0.1:{d.port}", origin.url())
        assert r.stdout == b"502", r
    out = raw_exchange(d.port, f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\n\r\n".encode())
    assert out.startswith(b"HTTP/1.1 502 Bad Gateway\r\n"), out
    assert b"Connection: close" in out and b"no upstream proxy could be reached" in out


def test_error_timeout_and_policy(socks2http, fake_proxy, squid, origin):
    fp = fake_proxy(silent())
    d = socks2http("-x", fp.url, "--reply-timeout", "1")
    out = raw_exchange(d.port, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 504 "), out
    d2 = socks2http("-x", squid.url)
    out = raw_exchange(d2.port, b"CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n")  # squid: 403 for this port
    assert out.startswith(b"HTTP/1.1 403 "), out


@pytest.mark.parametrize("req", [
    b"POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    b"POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
    b"GET ftp://h/ HTTP/1.1\r\n\r\n",
    b"GET http://h/ HTTP/1.1\r\nX : y\r\n\r\n",
    b"POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
], ids=["cl-and-te", "two-cl", "scheme", "header", "http10-chunked"])
def test_bad_requests_400(socks2http, tinyproxy, req):
    d = socks2http("-x", tinyproxy.url)
    out = raw_exchange(d.port, req)
    assert out.startswith(b"HTTP/1.1 400 "), out
    t = d.wait_tunnel(socks="http")
    assert t["reply"] == "400"


# ---------------------------------------------------------------- https and git

class StaticServer:
    """Serves a directory over HTTP, or HTTPS with a throwaway self-signed certificate."""

    def __init__(self, root, tls_dir=None):
        import functools
        import ssl
        import subprocess

        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      functools.partial(Handler, directory=root))
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls_dir is not None:
            key, cert = os.path.join(tls_dir, "key.pem"), os.path.join(tls_dir, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=30)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def site(tmp, token):
    """A directory with hello.txt and a bare git repository (dumb HTTP protocol) in it."""
    import subprocess

    root = os.path.join(tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write(f"hello over tls {token}\n")
    work = os.path.join(tmp, "work")
    env = clean_env(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                    GIT_COMMITTER_EMAIL="t@example.com", HOME=tmp)
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q", work], check=True, env=env, timeout=30)
    with open(os.path.join(work, "README"), "w") as f:
        f.write(f"repo {token}\n")
    subprocess.run(git + ["-C", work, "add", "README"], check=True, env=env, timeout=30)
    subprocess.run(git + ["-C", work, "commit", "-qm", "one"], check=True, env=env, timeout=30)
    subprocess.run(git + ["clone", "-q", "--bare", work, os.path.join(root, "repo.git")], check=True, env=env, timeout=30)
    subprocess.run(["git", "-C", os.path.join(root, "repo.git"), "update-server-info"], check=True, env=env, timeout=30)
    return root, env


@pytest.mark.parametrize("upstream", ["tinyproxy", "squid"])
def test_https_url_through_connect(request, socks2http, site, tmp, token, upstream):
    """curl -x http://bridge https://...: curl sends CONNECT, TLS runs through the tunnel."""
    up = request.getfixturevalue(upstream)
    srv = StaticServer(site[0], tls_dir=tmp)
    try:
        d = socks2http("-x", up.url)
        r = curl("-k", "-x", f"http://127.0.0.1:{d.port}", srv.url("/hello.txt"))
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == f"hello over tls {token}\n".encode()
        t = d.wait_tunnel(target=f"127.0.0.1:{srv.port}")
        assert (t["socks"], t["http"], t["reply"]) == ("http", "200", "200")
    finally:
        srv.stop()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_git_clone_through_bridge(socks2http, squid, site, tmp, token, tls):
    """git with http.proxy set to the bridge (no proxy login of its own; squid wants one):
    over https a CONNECT tunnel, over http forwarded requests on kept-alive connections."""
    import subprocess

    root, env = site
    srv = StaticServer(root, tls_dir=tmp if tls else None)
    try:
        d = socks2http("-x", squid.url)
        dest = os.path.join(tmp, "clone")
        r = subprocess.run(["git", "-c", f"http.proxy=http://127.0.0.1:{d.port}", "-c", "http.sslVerify=false",
                            "clone", "-q", srv.url("/repo.git"), dest], env=env, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        with open(os.path.join(dest, "README")) as f:
            assert f.read() == f"repo {token}\n"
        t = d.wait_tunnel(target=f"127.0.0.1:{srv.port}")
        assert t["socks"] == "http" and t["reply"] == "200"
    finally:
        srv.stop()
