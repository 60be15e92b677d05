"""Origin servers the tunnels lead to: HTTP with known content, raw TCP echo, a banner
server that speaks first, and a bare acceptor that hands accepted sockets to the test.

All are threaded, bind loopback on an ephemeral port, and close every socket on stop().
"""

import http.server
import queue
import socket
import threading

IO_TIMEOUT = 30.0


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listen(host, port=0, backlog=512):
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if ":" in host:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


class TcpServer:
    """Accept loop in a thread; handle(conn) runs in a thread per connection."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.sock = _listen(host, port)
        self.port = self.sock.getsockname()[1]
        self._conns = set()
        self._lock = threading.Lock()
        self._stopped = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(IO_TIMEOUT)
            with self._lock:
                if self._stopped:
                    conn.close()
                    return
                self._conns.add(conn)
                self.accepted += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handle(conn)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        with self._lock:
            self._stopped = True
            conns = list(self._conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


def echo_loop(conn):
    """Echo until EOF, then half-close our side too."""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


class EchoServer(TcpServer):
    def handle(self, conn):
        echo_loop(conn)


class BannerServer(TcpServer):
    """Speaks first (like SSH or SMTP), then echoes."""

    def __init__(self, banner, host="127.0.0.1"):
        self.banner = banner
        super().__init__(host)

    def handle(self, conn):
        conn.sendall(self.banner)
        echo_loop(conn)


class Acceptor:
    """A listening socket whose connections the test takes with accept()."""

    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.sock = _listen(host)
        self.port = self.sock.getsockname()[1]
        self._q = queue.Queue()
        self._conns = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(IO_TIMEOUT)
            self._conns.append(conn)
            self._q.put(conn)

    def accept(self, timeout=10.0):
        return self._q.get(timeout=timeout)

    def pending(self):
        return self._q.qsize()

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self._conns:
            c.close()


class HttpOrigin:
    """HTTP/1.1 server: GET /hello returns body; GET /size/N returns N known bytes."""

    def __init__(self, body, host="127.0.0.1", port=0):
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IO_TIMEOUT

            def do_GET(self):
                if self.path == "/hello":
                    payload = origin.body
                elif self.path.startswith("/size/"):
                    payload = pattern(int(self.path[6:]))
                else:
                    self.send_error(404)
                    return
                origin.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = _family(host)
            daemon_threads = True
            request_queue_size = 128

            def server_bind(self):
                if self.address_family == socket.AF_INET6:
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                super().server_bind()

        self.body = body
        self.hits = 0
        self.host = host
        self.server = Server((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def pattern(n):
    """n deterministic, non-repeating-looking bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"%08d:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n" % i
        i += 1
    return bytes(out[:n])


def dual_stack_http(body, attempts=20):
    """HttpOrigin on 127.0.0.1 and on ::1 with the same port, so that `localhost` works
    whichever address a resolver tries first.  Returns (v4, v6)."""
    last = None
    for _ in range(attempts):
        v4 = HttpOrigin(body, "127.0.0.1")
        try:
            v6 = HttpOrigin(body, "::1", v4.port)
            return v4, v6
        except OSError as e:
            last = e
            v4.stop()
    raise RuntimeError(f"no port free on both 127.0.0.1 and ::1: {last}")
