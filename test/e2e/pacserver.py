"""An HTTP server on 127.0.0.1 that serves one PAC file, for the --pac tests.

    pac = PacServer("function FindProxyForURL(url, host) { return 'DIRECT'; }")
    pac.url                 http://127.0.0.1:PORT/proxy.pac
    pac.set(text)           the next GET gets this script
    pac.status = 404        the next GETs get this status (no script)
    pac.stop(); pac.start() goes away and comes back on the same port
    pac.gets                every request seen: (request line, headers dict, peer)

Every GET of any path answers the script (HTTP/1.1, Content-Length, Connection: close).
A fixture `pac_server(text)` makes them and stops them at teardown.
"""

import errno
import http.server
import socket
import threading
import time

import pytest

PAC_TYPE = "application/x-ns-proxy-autoconfig"


def pac_script(body):
    """A whole PAC file from the body of FindProxyForURL(url, host)."""
    return "function FindProxyForURL(url, host) {\n" + body + "\n}\n"


def returning(answer):
    """A PAC that answers `answer` for every target."""
    return pac_script(f"return {answer!r};")


class PacServer:
    def __init__(self, text, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.text = text
        self.status = 200
        self.gets = []
        self.cond = threading.Condition()
        self.server = None
        self._thread = None
        self.start()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}/proxy.pac"

    def set(self, text, status=200):
        with self.cond:
            self.text = text
            self.status = status

    def _handler(self):
        pac = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def do_GET(self):
                with pac.cond:
                    pac.gets.append((self.requestline, dict(self.headers.items()), self.client_address))
                    text, status = pac.text, pac.status
                    pac.cond.notify_all()
                body = text.encode() if status == 200 else b"no PAC here\n"
                self.send_response(status)
                self.send_header("Content-Type", PAC_TYPE if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        return Handler

    def start(self, attempts=50):
        """Listens (again) on self.port (0: a free one the first time)."""
        last = None
        for _ in range(attempts):
            try:
                server = http.server.ThreadingHTTPServer((self.host, self.port), self._handler())
                break
            except OSError as e:  # the old socket's port may linger a moment
                if e.errno != errno.EADDRINUSE:
                    raise
                last = e
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cannot listen on {self.host}:{self.port} again: {last}")
        server.daemon_threads = True
        self.server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        """Stops listening: connections to the port are refused until start()."""
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
        self.server = None

    def count(self):
        with self.cond:
            return len(self.gets)

    def wait_gets(self, n=1, timeout=10.0):
        """Waits until n requests in all have arrived; returns them."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.gets) >= n, timeout)
            assert len(self.gets) >= n, f"PAC server got {len(self.gets)} requests, wanted {n}"
            return list(self.gets)


def refused(port, host="127.0.0.1"):
    """True when nothing listens on host:port."""
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return False
    except OSError:
        return True


@pytest.fixture
def pac_server():
    """pac_server(text) -> a started PacServer, stopped at teardown."""
    made = []

    def make(text, **kw):
        p = PacServer(text, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()
