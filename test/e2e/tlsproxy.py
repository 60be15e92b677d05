"""TLS in front of a plain TCP service (Python ssl, a thread per connection): puts an
https:// face on a plain proxy, e.g. the scripted AuthProxy or tinyproxy.

    t = TlsFront(backend_port, cert, key)     # t.port speaks TLS, relays to backend
    t.handshakes, t.resumed, t.failed         # counters, for resumption tests

The server issues TLS 1.3 session tickets (Python's default), so a client that keeps
them resumes on its next connection: `resumed` counts those (SSLSocket.session_reused).
"""

import select
import socket
import ssl
import threading

from origin import TcpServer


def _relay(tls, up):
    """Both directions in one thread: an SSL object must not be read and written from two
    threads at once (that raced: a tunnel's answer was now and then lost)."""
    tls_open = up_open = True
    while tls_open or up_open:
        ready = [tls] if tls_open and tls.pending() else []
        if not ready:
            ready, _, _ = select.select([s for s, o in ((tls, tls_open), (up, up_open)) if o], [], [], 60)
            if not ready:
                return
        if tls in ready:
            try:
                data = tls.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                data = b""
            if data:
                up.sendall(data)
            else:
                tls_open = False
                try:
                    up.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        if up in ready:
            try:
                data = up.recv(65536)
            except OSError:
                data = b""
            if data:
                tls.sendall(data)
            else:
                up_open = False
                try:
                    tls.settimeout(2)
                    tls.unwrap()  # close_notify
                except (OSError, ValueError):
                    pass
                return


class TlsFront(TcpServer):
    def __init__(self, backend_port, cert, key, backend_host="127.0.0.1", host="127.0.0.1", port=0,
                 min_version=None, max_version=None):
        self.backend = (backend_host, backend_port)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if min_version:
            self.ctx.minimum_version = min_version
        if max_version:
            self.ctx.maximum_version = max_version
        self.lock = threading.Lock()
        self.handshakes = 0
        self.resumed = 0
        self.failed = []  # errors of failed handshakes
        self.sni = []     # server names the clients asked for (None: no SNI)
        self.live = set()  # TLS sockets (wrap_socket detached the accepted ones)

        def sni_cb(sslobj, name, ctx):
            with self.lock:
                self.sni.append(name)

        self.ctx.sni_callback = sni_cb
        super().__init__(host, port)

    @property
    def url(self):
        return f"https://{self.host}:{self.port}"

    def handle(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.failed.append(str(e))
            return
        with self.lock:
            self.live.add(tls)
            self.handshakes += 1
            if tls.session_reused:
                self.resumed += 1
        up = socket.create_connection(self.backend, timeout=30)
        try:
            _relay(tls, up)
        finally:
            up.close()
            with self.lock:
                self.live.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    def stop(self):
        with self.lock:
            live = list(self.live)
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().stop()
