"""A TLS proxy whose records and TCP segments a test lays out itself: Python's ssl.SSLObject
over memory BIOs, a thread per connection running the test's script.  Real TLS servers
produce these layouts only by chance (a close_notify in the segment of the last data, a
TLS 1.2 CBC suite without encrypt-then-MAC).

    p = ScriptedTls(cert, key, script)         # script(conn) runs for each connection
    conn.read_request() -> (head, rest)       conn.read(timeout) -> bytes, b'' at the end,
    conn.write(data, send=False)              None on timeout
    conn.close_notify(send=False)             conn.flush(): what is queued, in one send
"""

import socket
import ssl

from origin import TcpServer


class ScriptedTls(TcpServer):
    def __init__(self, cert, key, script, max_version=None, ciphers=None, options=0):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if max_version is not None:
            self.ctx.maximum_version = max_version
        if ciphers is not None:
            self.ctx.set_ciphers(ciphers)
        self.ctx.options |= options
        self.script = script
        self.errors = []
        super().__init__("127.0.0.1", 0)
        self.url = f"https://127.0.0.1:{self.port}"

    def handle(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        conn = Conn(sock, self.ctx.wrap_bio(inc, out, server_side=True), inc, out)
        try:
            conn.handshake()
            self.script(conn)
        except Exception as e:  # noqa: BLE001 - the test reads what went wrong here
            self.errors.append(repr(e))


class Conn:
    def __init__(self, sock, obj, inc, out):
        self.sock, self.obj, self.inc, self.out = sock, obj, inc, out

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _feed(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if data:
            self.inc.write(data)
        else:
            self.inc.write_eof()

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self._feed(10)
        self.flush()

    def read(self, timeout=10):
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.flush()
                try:
                    self._feed(timeout)
                except socket.timeout:
                    return None
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def read_request(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = self.read()
            if not data:
                raise RuntimeError("no request")
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    def write(self, data, send=True):
        self.obj.write(data)
        if send:
            self.flush()

    def close_notify(self, send=True):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # ours is queued; the peer's comes later
        if send:
            self.flush()
