"""noproxy_cases.txt is curl's own behaviour: each row run through `curl --noproxy`.

Each line of noproxy_cases.txt is ENTRY_LIST<TAB>HOST<TAB>PORT<TAB>direct|proxy.  For every
row, curl fetches http://HOST:PORT/ with `--noproxy ENTRY_LIST -x http://127.0.0.1:P`, where P
is a listener of this test that answers every request with 200 and records it; the row says
"proxy" exactly when curl came to that listener.  socks2http's --no-proxy (src/rules.c) must
agree with every row: test_rules.c checks the table against noproxy_match, and the
end-to-end tests run it through the daemon.

Rows going direct never leave the machine: their hosts are loopback addresses, or names
under .invalid pinned to 127.0.0.1 with --resolve (no DNS), so curl gets a quick refusal.

The table holds only rows on which curl 7.88.1 and socks2http agree.  Where socks2http
deliberately differs (see socks2http(1), NO_PROXY) there are no rows: an entry carrying
:PORT or in brackets ([::1], [fd00::/8]:443), which curl never matches and socks2http
matches on that port; and IPv6 entries not written canonically or with a prefix, which curl
7.88.1 compares with the target's canonical form as text (0:0:0:0:0:0:0:1 does not match
::1, no IPv6 CIDR entry ever matches; fixed in curl 8.18), while socks2http compares
addresses and prefixes, as the issue asks.  Those are
covered by test/unit/test_rules.c.
Needs curl (any 7.86 or later reads CIDR entries; the table was made with 7.88.1)."""

import os
import shutil
import socket
import subprocess
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "noproxy_cases.txt")


def load_cases():
    rows = []
    with open(CASES, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            entries, host, port, want = line.split("\t")
            assert want in ("direct", "proxy"), f"{CASES}:{n}: {want!r}"
            rows.append(pytest.param(entries, host, int(port), want, id=f"line{n}"))
    return rows


CASE_ROWS = load_cases()


class RecordingProxy:
    """Accepts on 127.0.0.1, reads one request head, answers 200, records the request line."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                except OSError:
                    pass
                # recorded before the answer: curl may exit, and the test look, as soon as
                # the answer is out
                with self.lock:
                    self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(timeout=2)


@pytest.fixture(scope="module")
def recording_proxy():
    p = RecordingProxy()
    yield p
    p.close()


@pytest.fixture(scope="module")
def curl():
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl not installed")
    return path


def is_ip(host):
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host)
            return True
        except OSError:
            pass
    return False


def test_table_is_large_enough():
    assert len(CASE_ROWS) >= 40
    wants = [p.values[3] for p in CASE_ROWS]
    assert wants.count("direct") >= 15 and wants.count("proxy") >= 15


@pytest.mark.parametrize("entries,host,port,want", CASE_ROWS)
def test_curl_agrees(curl, recording_proxy, entries, host, port, want):
    if want == "direct" and not is_ip(host):
        assert host.lower().rstrip(".").endswith(".invalid") or host.endswith(".0.0.1"), \
            "a direct row's name must not leave the machine"
    if want == "direct" and is_ip(host):
        packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        assert packed[0] == 127 or packed == socket.inet_pton(socket.AF_INET6, "::1"), \
            "a direct row's address must be loopback"
    urlhost = f"[{host}]" if ":" in host else host
    args = [curl, "-q", "-s", "-g", "-o", os.devnull, "--connect-timeout", "3", "--max-time", "6",
            "--noproxy", entries, "-x", f"http://127.0.0.1:{recording_proxy.port}"]
    if not is_ip(host):
        for name in {host, host.rstrip(".")}:
            args += ["--resolve", f"{name}:{port}:127.0.0.1"]
    args.append(f"http://{urlhost}:{port}/")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    before = recording_proxy.count()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=15)
    came = recording_proxy.count() > before
    assert ("proxy" if came else "direct") == want, \
        f"curl --noproxy {entries!r} http://{urlhost}:{port}/ went {'to the proxy' if came else 'direct'}"
    if came:
        line = recording_proxy.requests[-1]
        assert line.lower().startswith(f"get http://{urlhost.lower().rstrip('.')}"), line
