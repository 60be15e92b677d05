"""The PAC engine (src/pacjs.c, src/pacfuncs.c) and its worker process.

- Each PAC file in test/data/pac/ lists its queries ("// query: URL HOST"); they are run
  through our engine (test/unit/pac_eval) and through Debian's python3-pacparser (SpiderMonkey
  and its own helper functions, run with /usr/bin/python3), and the answers must agree.
- ours_only.pac lists answers expected from our engine alone ("// expect: URL HOST => ANSWER"),
  where pacparser lacks a function or differs on purpose.
- The worker protocol of `socks2http __pac-worker` over a socketpair (see include/pacworker.h).
- myIpAddress() with no route (a network namespace of its own) is 127.0.0.1.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

PAC_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "data", "pac"))
SYSTEM_PYTHON = "/usr/bin/python3"
COMPARED = sorted(p for p in glob.glob(os.path.join(PAC_DIR, "*.pac")) if not p.endswith("ours_only.pac"))

PACPARSER = r"""
import json, sys
import pacparser
req = json.load(sys.stdin)
pacparser.enable_microsoft_extensions()
pacparser.init()
if req.get("myip"):
    pacparser.setmyip(req["myip"])
pacparser.parse_pac_file(req["file"])
out = []
for url, host in req["queries"]:
    try:
        out.append(pacparser.find_proxy(url, host))
    except Exception as e:
        out.append("ERROR: %s" % e)
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def pac_eval(binary):
    path = os.path.join(os.path.dirname(os.path.dirname(binary)), "test", "unit", "pac_eval")
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built (make check builds it)")
    return path


def queries_of(path):
    with open(path, encoding="utf-8") as f:
        return [tuple(m.split()) for m in re.findall(r"^// query: (.*)$", f.read(), re.M)]


def run_ours(pac_eval, path, queries, env=None, wrap=()):
    stdin = "".join(f"{u} {h}\n" for u, h in queries)
    r = subprocess.run([*wrap, pac_eval, path], input=stdin.encode(), capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode().splitlines(), r.stderr.decode(errors="replace")


def run_pacparser(path, queries, myip=None):
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", "import pacparser"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("python3-pacparser is not installed (contrib/debian-packages)")
    req = json.dumps({"file": path, "queries": queries, "myip": myip})
    r = subprocess.run([SYSTEM_PYTHON, "-c", PACPARSER], input=req.encode(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return json.loads(r.stdout)


def default_route_address(family=socket.AF_INET, target="198.18.0.1"):
    """What myIpAddress() must say: the local address towards a non-local address, or 127.0.0.1."""
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((target, 53))
            return s.getsockname()[0]
    except OSError:
        return None


@pytest.mark.parametrize("path", COMPARED, ids=[os.path.basename(p) for p in COMPARED])
def test_same_answers_as_pacparser(pac_eval, path):
    queries = queries_of(path)
    assert queries, f"{path} lists no queries"
    myip = default_route_address() or "127.0.0.1"
    ours, _ = run_ours(pac_eval, path, queries)
    theirs = run_pacparser(path, queries, myip=myip)
    assert len(ours) == len(queries)
    for (url, host), a, b in zip(queries, ours, theirs):
        if a.startswith("ERROR") or b.startswith("ERROR"):
            assert a.startswith("ERROR") and b.startswith("ERROR"), f"{url} {host}: ours {a!r}, pacparser {b!r}"
        else:
            assert a == b, f"{url} {host}: ours {a!r}, pacparser {b!r}"


def test_ours_only(pac_eval):
    path = os.path.join(PAC_DIR, "ours_only.pac")
    with open(path, encoding="utf-8") as f:
        cases = [(m[0], m[1], m[2]) for m in re.findall(r"^// expect: (\S+) (\S+) => (.*)$", f.read(), re.M)]
    assert cases
    ours, stderr = run_ours(pac_eval, path, [(u, h) for u, h, _ in cases])
    for (url, host, want), got in zip(cases, ours):
        assert got == want, f"{url} {host}"
    # alert(): one line each, control characters gone, at most 20 per call and then one notice
    alerts = [l for l in stderr.splitlines() if l.startswith("socks2http pac: alert:")]
    assert len(alerts) == 21, stderr[-2000:]
    assert alerts[0] == "socks2http pac: alert: alert number 0 with a second line"
    assert "not shown" in alerts[-1]


def test_my_ip_address(pac_eval, tmp_path):
    pac = tmp_path / "me.pac"
    pac.write_text("function FindProxyForURL(u, h) { return myIpAddress() + ' ' + myIpAddressEx(); }\n")
    ours, _ = run_ours(pac_eval, str(pac), [("http://a/", "a")])
    v4 = default_route_address() or "127.0.0.1"
    v6 = default_route_address(socket.AF_INET6, "2001:db8::1")
    me, ex = ours[0].split(" ")
    assert me == v4
    assert ex == ";".join(a for a in (v6, default_route_address()) if a) or "127.0.0.1"


def test_my_ip_address_without_route(pac_eval, tmp_path):
    """In a network namespace of its own (only a loopback that is down) there is no route."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1)")
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"unshare -rn does not work here: {probe.stderr.decode(errors='replace').strip()}")
    pac = tmp_path / "me.pac"
    pac.write_text("function FindProxyForURL(u, h) { return myIpAddress() + ' ' + myIpAddressEx(); }\n")
    ours, _ = run_ours(pac_eval, str(pac), [("http://a/", "a")], wrap=(unshare, "-rn"))
    assert ours == ["127.0.0.1 127.0.0.1"]


# ---------------------------------------------------------------- the worker process

class Worker:
    """socks2http __pac-worker on one end of a socketpair, as the daemon starts it."""

    def __init__(self, binary, extra_fd=None):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pass_fds = (extra_fd,) if extra_fd is not None else ()
        self.proc = subprocess.Popen([binary, "__pac-worker"], stdin=theirs.fileno(), stdout=theirs.fileno(),
                                     stderr=subprocess.PIPE, pass_fds=pass_fds)
        theirs.close()
        self.sock = ours
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def load(self, script):
        data = script.encode() if isinstance(script, str) else script
        self.send(b"S %d\n" % len(data) + data)
        return self.line()

    def query(self, qid, host, url):
        self.send(f"Q {qid} {host} {url}\n".encode())
        return self.line()

    def line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the worker closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def close(self):
        try:
            self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc.stderr.close()


@pytest.fixture
def worker(binary):
    made = []

    def make(**kw):
        w = Worker(binary, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


SIMPLE = "function FindProxyForURL(url, host) { return 'PROXY p.example:3128; DIRECT'; }\n"


def test_worker_answers(worker):
    w = worker()
    assert w.query(1, "a.example", "https://a.example/") == "E 1 no PAC script loaded"
    assert w.load(SIMPLE) == "S OK"
    assert w.query(2, "a.example", "https://a.example/") == "A 2 PROXY p.example:3128; DIRECT"
    assert w.load("function FindProxyForURL(url, host) { return url + ' ' + host; }") == "S OK"
    assert w.query(18446744073709551615, "[::1]", "http://[::1]:8080/") == \
        "A 18446744073709551615 http://[::1]:8080/ [::1]"
    # pipelined requests are answered in order
    w.send(b"".join(b"Q %d h%d http://h%d/\n" % (i, i, i) for i in range(100)))
    for i in range(100):
        assert w.line() == f"A {i} http://h{i}/ h{i}"
    # FindProxyForURLEx, when defined, is called instead (Microsoft's IPv6 extensions)
    assert w.load("function FindProxyForURLEx(u, h) { return 'PROXY ex:1'; }\n"
                  "function FindProxyForURL(u, h) { return 'PROXY plain:1'; }") == "S OK"
    assert w.query(3, "a", "http://a/") == "A 3 PROXY ex:1"
    assert w.load("function FindProxyForURLEx(u, h) { return 'PROXY only-ex:1'; }") == "S OK"
    assert w.query(4, "a", "http://a/") == "A 4 PROXY only-ex:1"
    w.send(b"Q 18446744073709551616 a http://a/\n")  # 2**64
    assert w.line() == "E 0 bad request"


def test_worker_errors(worker):
    w = worker()
    assert w.load("""
        function FindProxyForURL(url, host) {
            if (host == 'throw') throw new Error('thrown for ' + host);
            if (host == 'number') return 7;
            if (host == 'long') return new Array(10000).join('x');
            if (host == 'lines') return 'PROXY a:1;\\r\\nDIRECT\\n';
            if (host == 'deep') { var f = function (n) { return 1 + f(n + 1); }; return String(f(0)); }
            if (host == 'memory') { var s = 'm'; for (;;) s = s + s; }
            if (host == 'objects') { var a = []; for (;;) a.push({n: a.length, s: 'v' + a.length}); }
            return 'DIRECT';
        }""") == "S OK"
    assert w.query(3, "throw", "http://throw/") == "E 3 FindProxyForURL: Error: thrown for throw"
    assert w.query(4, "number", "http://number/") == "E 4 FindProxyForURL returned number, not a string"
    assert w.query(5, "long", "http://long/") == "A 5 " + "x" * 4096
    assert w.query(6, "lines", "http://lines/") == "A 6 PROXY a:1;  DIRECT "
    assert w.query(7, "deep", "http://deep/").startswith("E 7 FindProxyForURL: RangeError")
    # the heap's cap turns a PAC that eats memory into an error, and the worker lives on
    assert w.query(8, "memory", "http://memory/") == "E 8 FindProxyForURL: Error: alloc failed"
    w.send(b"Q 80 objects http://objects/\n")
    assert w.line(timeout=60).startswith("E 80 FindProxyForURL: ")  # alloc failed, or DoubleError
    assert w.query(9, "ok", "http://ok/") == "A 9 DIRECT"
    assert w.proc.poll() is None


def test_worker_keeps_the_good_script(worker):
    w = worker()
    assert w.load(SIMPLE) == "S OK"
    r = w.load("function FindProxyForURL(url, host) { return 'x' ")
    assert r.startswith("S ERR compiling the PAC: SyntaxError"), r
    r = w.load("var half = 1; throw new Error('broken at load');")
    assert r == "S ERR running the PAC: Error: broken at load", r
    assert w.load("var nothing = 1;") == "S ERR the PAC defines no function FindProxyForURL"
    assert w.load("") == "S ERR the PAC defines no function FindProxyForURL"
    assert w.query(10, "a", "http://a/") == "A 10 PROXY p.example:3128; DIRECT"
    # a script with a NUL byte in a string literal compiles; its answer is one clean line
    assert w.load(b"function FindProxyForURL(u, h) { return 'DIRECT\0x'; }") == "S OK"
    assert w.query(11, "a", "http://a/") == "A 11 DIRECT x"


def test_worker_bad_requests(worker):
    w = worker()
    assert w.load(SIMPLE) == "S OK"
    for bad in (b"\n", b"X\n", b"Q\n", b"Q 1\n", b"Q 1 host\n", b"Q x host http://h/\n", b"Q 1 host url extra\n",
                b"Q -1 host http://h/\n", b"Q 1  http://h/\n", b"Q 123456789012345678901 h http://h/\n",
                b"S x\n", b"S -5\n", b"S\n", b"q 1 h http://h/\n"):
        w.send(bad)
        assert w.line() == "E 0 bad request", bad
    # a line past 8 KiB is thrown away whole
    w.send(b"Q 1 " + b"h" * 9000 + b" http://h/\n")
    assert w.line() == "E 0 bad request"
    # a script over 1 MiB is read and refused, and the stream stays in step
    big = b"//" + b"x" * (1 << 20) + b"\n"
    w.send(b"S %d\n" % len(big) + big)
    assert w.line().startswith("S ERR the script has 1048579 bytes")
    assert w.query(12, "a", "http://a/") == "A 12 PROXY p.example:3128; DIRECT"
    # CRLF line ends are taken too
    w.send(b"Q 13 a http://a/\r\n")
    assert w.line() == "A 13 PROXY p.example:3128; DIRECT"


def test_worker_endless_loop_keeps_it_busy(worker):
    w = worker()
    assert w.load("function FindProxyForURL(url, host) { for (;;) {} }") == "S OK"
    w.send(b"Q 1 a http://a/\n")
    with pytest.raises(socket.timeout):
        w.line(timeout=1)
    assert w.proc.poll() is None  # still running: the daemon's time limit kills it
    w.proc.kill()
    assert w.proc.wait(timeout=10) == -signal.SIGKILL


def test_worker_process_hygiene(worker, tmp_path):
    """Only fds 0, 1, 2 stay open; SIGINT and SIGHUP (the daemon's process group) are ignored;
    EOF on fd 0 ends it with status 0; it reads no options and no config."""
    extra = os.open(str(tmp_path), os.O_RDONLY)
    try:
        w = worker(extra_fd=extra)
    finally:
        os.close(extra)
    assert w.load(SIMPLE) == "S OK"
    assert sorted(int(fd) for fd in os.listdir(f"/proc/{w.proc.pid}/fd")) == [0, 1, 2]
    w.proc.send_signal(signal.SIGINT)
    w.proc.send_signal(signal.SIGHUP)
    assert w.query(1, "a", "http://a/") == "A 1 PROXY p.example:3128; DIRECT"
    w.sock.shutdown(socket.SHUT_WR)
    assert w.proc.wait(timeout=10) == 0
    assert w.proc.stderr.read() == b""


ORPHAN = r"""
import socket, subprocess, sys, time
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "__pac-worker"], stdin=b.fileno(), stdout=b.fileno())
b.close()
a.settimeout(10)
script = b"function FindProxyForURL(u, h) { for (;;) {} }"
a.sendall(b"S %d\n" % len(script) + script)
assert a.recv(100) == b"S OK\n"
a.sendall(b"Q 1 a http://a/\n")
print(p.pid, flush=True)
time.sleep(60)
"""


def test_worker_dies_with_the_daemon(binary):
    """A worker stuck in an endless loop never sees EOF: it must not outlive its parent."""
    parent = subprocess.Popen([SYSTEM_PYTHON, "-c", ORPHAN, binary], stdout=subprocess.PIPE)
    pid = None
    try:
        pid = int(parent.stdout.readline())
        time.sleep(0.3)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = None
            if state in (None, "Z", "X"):
                break
            time.sleep(0.05)
        assert state in (None, "Z", "X"), f"the worker {pid} is still running (state {state})"
        pid = None
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_worker_ignores_the_environment(binary, tmp_path):
    """A config file or bad options in the environment do not reach the worker."""
    conf = tmp_path / "bad.conf"
    conf.write_text("no-such-option yes\n")
    env = dict(os.environ, SOCKS2HTTP_CONFIG=str(conf), https_proxy="http://[bad")
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([binary, "__pac-worker"], stdin=theirs.fileno(), stdout=theirs.fileno(), env=env)
    theirs.close()
    try:
        ours.sendall(b"Q 5 a http://a/\n")
        ours.settimeout(10)
        assert ours.recv(100) == b"E 5 no PAC script loaded\n"
        ours.shutdown(socket.SHUT_WR)
        assert p.wait(timeout=10) == 0
    finally:
        ours.close()
        if p.poll() is None:
            p.kill()
            p.wait()
