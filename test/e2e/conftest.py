"""Fixtures for the socks2http end-to-end tests.

Session-wide: origin servers (HTTP on 127.0.0.1 and ::1 with the same port, echo, banner),
tinyproxy (open and with BasicAuth) and squid (basic auth).  Per test: socks2http
instances, fake proxies and acceptors, all stopped by finalizers, also on failure.
The binary comes from $SOCKS2HTTP_BIN.
"""

import os
import secrets
import shutil
import signal
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import daemon as daemon_mod  # noqa: E402
import origin as origin_mod  # noqa: E402
import procs  # noqa: E402
import upstreams  # noqa: E402
from clients import curl  # noqa: E402
from fakeproxy import FakeProxy  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _find_binary():
    env = os.environ.get("SOCKS2HTTP_BIN")
    if env:
        return os.path.abspath(env), True
    for cand in ("build/plain/src/socks2http", "src/socks2http"):
        path = os.path.join(REPO, cand)
        if os.access(path, os.X_OK):
            return path, False
    return None, False


# ---------------------------------------------------------------- what the build has

_features = {}


def binary_features():
    """The Linux-only interfaces the binary was built with, from the 'features:' line of
    `socks2http --version` ('splice', 'sock_diag'; 'portable' in a portable build), or
    None when there is no binary to ask or it prints no such line (nothing is skipped)."""
    path, _ = _find_binary()
    if not path or not os.access(path, os.X_OK):
        return None
    if path not in _features:
        r = procs.run([path, "--version"], timeout=10)
        words = None
        for line in r.stdout.decode(errors="replace").splitlines():
            if line.startswith("features:"):
                words = set(line.split()[1:])
        _features[path] = words
    return _features[path]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "linux_only(*features): needs Linux-only features of the binary ('splice', "
        "'sock_diag'; all of them when none is named); skipped in a build without them "
        "(configure --enable-portable), deselected there with -m 'not linux_only'")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("linux_only"):
        have = binary_features()
        if have is None:
            return  # no binary (the binary fixture says why), or one too old to tell
        missing = sorted(set(mark.args or ("splice", "sock_diag")) - have)
        if missing:
            pytest.skip(f"this build of socks2http has no {', '.join(missing)} (configure --enable-portable?)")


@pytest.fixture(scope="session")
def binary():
    path, explicit = _find_binary()
    if explicit and not os.access(path, os.X_OK):
        pytest.fail(f"SOCKS2HTTP_BIN={path} is not an executable file")
    if not path:
        pytest.skip("socks2http binary not found: set SOCKS2HTTP_BIN")
    return path


@pytest.fixture(scope="session", autouse=True)
def _reap_everything():
    yield
    procs.kill_all_leftovers()


TEST_DEADLINE = 120  # seconds; every test has its own, much shorter, timeouts as well


class DeadlineExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _deadline():
    """A last resort against hangs: SIGALRM raises in the test, so finalizers still run."""

    def expired(signum, frame):
        raise DeadlineExceeded(f"test still running after {TEST_DEADLINE}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_DEADLINE)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="socks2http-e2e-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def token():
    return secrets.token_hex(8)


# ---------------------------------------------------------------- origins

class DualOrigin:
    def __init__(self, v4, v6):
        self.v4, self.v6 = v4, v6
        self.port = v4.port
        self.body = v4.body

    def url(self, host="127.0.0.1", path="/hello"):
        h = f"[{host}]" if ":" in host else host
        return f"http://{h}:{self.port}{path}"


@pytest.fixture(scope="session")
def origin(token):
    v4, v6 = origin_mod.dual_stack_http(f"hello from origin {token}\n".encode())
    yield DualOrigin(v4, v6)
    v4.stop()
    v6.stop()


@pytest.fixture(scope="session")
def echo():
    s = origin_mod.EchoServer("127.0.0.1")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def echo6():
    s = origin_mod.EchoServer("::1")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def banner(token):
    s = origin_mod.BannerServer(f"220 banner {token} ready\r\n".encode())
    yield s
    s.stop()


@pytest.fixture
def acceptor():
    made = []

    def make(host="127.0.0.1"):
        a = origin_mod.Acceptor(host)
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


# ---------------------------------------------------------------- upstream proxies

def _verified(u, origin):
    """A proxy fixture is trusted only once curl got the origin's content through it."""
    r = curl(*u.curl_proxy_args(), origin.url())
    if r.returncode != 0 or r.stdout != origin.body:
        out = u.proc.output()[-3000:]
        u.stop()
        pytest.fail(f"{u.name} does not work with curl directly: {r.stderr!r}\n{out}", pytrace=False)
    return u


@pytest.fixture(scope="session")
def tinyproxy(session_dir, origin):
    u = _verified(upstreams.start_tinyproxy(os.path.join(session_dir, "tinyproxy")), origin)
    yield u
    u.stop()


@pytest.fixture(scope="session")
def tinyproxy_auth(session_dir, origin):
    u = _verified(upstreams.start_tinyproxy(os.path.join(session_dir, "tinyproxy-auth"), auth=True), origin)
    yield u
    u.stop()


@pytest.fixture(scope="session")
def squid(session_dir, origin):
    u = _verified(upstreams.start_squid(os.path.join(session_dir, "squid")), origin)
    yield u
    u.stop()


@pytest.fixture
def fake_proxy():
    """fake_proxy(scenario, host='127.0.0.1') -> a started FakeProxy."""
    made = []

    def make(scenario=None, host="127.0.0.1", port=0):
        p = FakeProxy(scenario, host, port)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (bound without listen(), so nobody can take it)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


# ---------------------------------------------------------------- the daemon

@pytest.fixture
def socks2http(binary, request):
    """socks2http(*args, listen=['127.0.0.1:0'], env=None, wait=True) -> a running Daemon.

    Pass the proxy with '-x', URL in args.  env defaults to ours minus every proxy
    variable.  At teardown the daemon is stopped and its log is checked for sanitizer
    reports; the log is printed (shown by pytest when the test fails)."""
    started = []

    def start(*args, listen=("127.0.0.1:0",), env=None, wait=True, prefix=()):
        argv = []
        for addr in listen:
            argv += ["-l", addr]
        argv += list(args)
        d = daemon_mod.Daemon(binary, argv, env=env, prefix=prefix)
        started.append(d)
        if wait:
            d.wait_listening(len(listen))
        return d

    yield start
    daemon_mod.stop_all(started)


@pytest.fixture
def tmp():
    """A private temp dir for one test, removed afterwards."""
    d = tempfile.mkdtemp(prefix="socks2http-e2e-t-")
    yield d
    shutil.rmtree(d, ignore_errors=True)
