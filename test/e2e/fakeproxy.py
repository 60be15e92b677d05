"""A scripted upstream HTTP proxy.

It reads the CONNECT request header, records it (exact bytes), then plays a scenario:
a callable taking a Ctx.  Factories below build the usual ones:

    FakeProxy(ok())                          200, then echo the tunnel
    FakeProxy(ok(tunnel=b"hi"))              200 and tunnel bytes in the same segment
    FakeProxy(respond(b"HTTP/1.1 403 ...")) an error answer, then close
    FakeProxy(dribble(head))                 the answer one byte at a time
    FakeProxy(relay())                       200, then a real TCP relay to the target
    FakeProxy(close_now()) / FakeProxy(silent())
"""

import socket
import threading
import time

from origin import TcpServer

HEADER_LIMIT = 64 * 1024
OK = b"HTTP/1.1 200 Connection established\r\n\r\n"


class Request:
    def __init__(self, raw, peer, complete):
        self.raw = raw
        self.peer = peer
        self.complete = complete
        self.pre_reply = b""  # tunnel bytes the daemon sent before we answered
        text = raw.decode("latin-1")
        lines = text.split("\r\n")
        self.line = lines[0]
        self.headers = []
        for line in lines[1:]:
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers.append((name, value.strip()))

    def header(self, name):
        """The values of header name (case-insensitive), in order."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def target(self):
        """(host, port) of the CONNECT line; IPv6 without brackets."""
        authority = self.line.split(" ")[1]
        host, _, port = authority.rpartition(":")
        return host.strip("[]"), int(port)

    def __repr__(self):
        return f"Request({self.raw!r})"


class Ctx:
    def __init__(self, proxy, conn, request, extra):
        self.proxy = proxy
        self.conn = conn
        self.request = request
        self.extra = extra  # bytes after the header, already read


class FakeProxy(TcpServer):
    def __init__(self, scenario=None, host="127.0.0.1", port=0):
        self.scenario = scenario or ok()
        self.requests = []
        self.silent_connections = 0  # opened and closed without a byte (early connects, spares)
        self.cond = threading.Condition()
        self.stop_event = threading.Event()
        super().__init__(host, port)

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url_with(self, userinfo):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{userinfo}@{host}:{self.port}"

    def handle(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        complete = False
        while len(buf) < HEADER_LIMIT:
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                complete = True
                break
        if complete:
            raw, extra = buf[: end + 4], buf[end + 4:]
        else:
            raw, extra = buf, b""
        if not buf:
            with self.cond:
                self.silent_connections += 1
            return
        req = Request(raw, conn.getpeername(), complete)
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
        if complete:
            self.scenario(Ctx(self, conn, req, extra))

    def wait_requests(self, n=1, timeout=10.0):
        with self.cond:
            self.cond.wait_for(lambda: len(self.requests) >= n, timeout)
            assert len(self.requests) >= n, f"fake proxy got {len(self.requests)} requests, wanted {n}"
            return list(self.requests)

    def stop(self):
        self.stop_event.set()
        super().stop()


# ---------------------------------------------------------------- building blocks

def _collect_pre_reply(ctx, wait):
    """Reads what the daemon sends in `wait` seconds before we answer (should be nothing)."""
    got = ctx.extra
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ctx.conn.settimeout(left)
        try:
            data = ctx.conn.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        got += data
    ctx.conn.settimeout(30)
    ctx.request.pre_reply = got
    return got


def _echo(ctx, first=b""):
    conn = ctx.conn
    if first:
        conn.sendall(first)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


def _hold(ctx):
    """Keeps the connection open, reading and discarding, until the peer or stop() closes."""
    ctx.conn.settimeout(0.2)
    end = time.monotonic() + 60
    while not ctx.proxy.stop_event.is_set() and time.monotonic() < end:
        try:
            if not ctx.conn.recv(65536):
                return
        except socket.timeout:
            continue


def _pipe(src, dst, counter, key):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            counter[key] += len(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _relay(ctx, first=b""):
    host, port = ctx.request.target()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    up = socket.socket(family, socket.SOCK_STREAM)
    up.settimeout(30)
    try:
        up.connect((host, port))
        if first:
            up.sendall(first)
        counter = {"up": len(first), "down": 0}
        t = threading.Thread(target=_pipe, args=(up, ctx.conn, counter, "down"), daemon=True)
        t.start()
        _pipe(ctx.conn, up, counter, "up")
        t.join(60)
        ctx.request.relayed = counter
    finally:
        up.close()


_THEN = {"echo": _echo, "relay": _relay, "hold": lambda ctx, first=b"": _hold(ctx),
         "close": lambda ctx, first=b"": None}


# ---------------------------------------------------------------- scenarios

def ok(head=OK, tunnel=b"", then="echo", wait_before=0.0):
    """head and tunnel bytes in one send(), then `then` (echo/relay/hold/close).
    wait_before: seconds to watch for tunnel bytes sent before the answer."""

    def run(ctx):
        early = _collect_pre_reply(ctx, wait_before) if wait_before else ctx.extra
        ctx.request.pre_reply = early
        ctx.conn.sendall(head + tunnel)
        _THEN[then](ctx, early)

    return run


def basic_first(inner=None, realm="fake"):
    """A proxy that asks for Basic: 407 and close for a request without credentials (the
    daemon sends none before it was asked), else inner (default ok())."""
    inner = inner or ok()

    def run(ctx):
        if not ctx.request.header("Proxy-Authorization"):
            ctx.conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\""
                             + realm.encode() + b"\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        inner(ctx)

    return run


def relay(head=OK, wait_before=0.0):
    return ok(head, then="relay", wait_before=wait_before)


def respond(head, body=b"", then="close"):
    """An error answer (head + body in one send), then close (or hold the connection)."""

    def run(ctx):
        ctx.conn.sendall(head + body)
        if then == "hold":
            _hold(ctx)

    return run


def dribble(head, tunnel=b"", delay=0.002, then="echo"):
    """The answer one byte per send() with TCP_NODELAY, then `then`."""

    def run(ctx):
        for i in range(len(head)):
            ctx.conn.sendall(head[i:i + 1])
            time.sleep(delay)
        if tunnel:
            ctx.conn.sendall(tunnel)
        _THEN[then](ctx, ctx.extra)

    return run


def close_now():
    def run(ctx):
        pass

    return run


def silent():
    """Never answers; holds the connection until the peer closes it."""

    def run(ctx):
        _hold(ctx)

    return run


def sequence(*scenarios):
    """Scenario i for connection i; the last one repeats."""
    lock = threading.Lock()
    state = {"n": 0}

    def run(ctx):
        with lock:
            i = min(state["n"], len(scenarios) - 1)
            state["n"] += 1
        scenarios[i](ctx)

    return run
