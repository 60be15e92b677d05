"""The daemon under a service manager: listening sockets passed in (systemd's LISTEN_FDS,
by `systemd-socket-activate` and by activate.py, a launcher of our own), notifications on
NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1, STATUS=), --exit-idle, log lines with
syslog priorities when stderr is the journal, and the default config file under
$XDG_CONFIG_HOME or ~/.config."""

import os
import re
import shutil
import signal
import socket
import threading
import time

import pytest

import daemon as daemon_mod
import procs
from fakeproxy import ok
from socksclient import recv_exact, socks5_greeting, socks5_request, socks5_tunnel, read_socks5_reply

HERE = os.path.dirname(os.path.abspath(__file__))
ACTIVATE = ["/usr/bin/python3", os.path.join(HERE, "activate.py")]


class Notifications:
    """An AF_UNIX datagram socket playing the service manager's NOTIFY_SOCKET."""

    def __init__(self, directory, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"socks2http-test-{os.getpid()}-{id(self)}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(directory, "notify")
            self.sock.bind(self.address)
        self.messages = []
        self.cond = threading.Condition()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.cond:
                self.messages.append(data.decode())
                self.cond.notify_all()

    def wait(self, regex, timeout=10.0, after=0):
        """The first message from index `after` on matching regex: (index, match)."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.messages)):
                    m = rx.search(self.messages[i])
                    if m:
                        return i, m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no notification matching {regex!r} within {timeout}s: {self.messages}")
                self.cond.wait(left)

    def close(self):
        self.sock.close()


@pytest.fixture
def notifications(tmp):
    made = []

    def make(abstract=False):
        n = Notifications(tmp, abstract)
        made.append(n)
        return n

    yield make
    for n in made:
        n.close()


@pytest.fixture
def activated(binary, monkeypatch):
    """activated(specs, *args, env=None, launcher=(), wait=n, prefix=None) -> a Daemon
    started by activate.py with listening sockets for specs (see activate.py), or by the
    launcher command prefix.  SOCKS2HTTP_WRAPPER (valgrind) goes between the launcher and
    the daemon, so that it wraps the daemon only."""
    started = []
    wrapper = list(daemon_mod.WRAPPER)
    monkeypatch.setattr(daemon_mod, "WRAPPER", [])

    def start(specs, *args, env=None, launcher=(), wait=None, prefix=None):
        pre = list(prefix) if prefix is not None else ACTIVATE + list(launcher) + list(specs) + ["--"]
        d = daemon_mod.Daemon(binary, list(args), env=env, prefix=pre + wrapper)
        started.append(d)
        if wait is None:
            wait = len(specs)
        if wait:
            d.wait_listening(wait)
        return d

    yield start
    daemon_mod.stop_all(started)


def echo_through(port, data=b"ping"):
    s = socks5_tunnel(port, "example.com", 443)
    s.sendall(data)
    assert recv_exact(s, len(data), timeout=5) == data
    return s


# ---------------------------------------------------------------- inherited sockets

def test_two_inherited_sockets_and_notifications(activated, fake_proxy, notifications):
    """Two TCP sockets from the launcher (named socks and alt): both listen, -l is not
    needed; READY=1 comes once listening, STATUS= counts tunnels, SIGHUP brings
    RELOADING=1 with MONOTONIC_USEC and then READY=1, SIGTERM STOPPING=1; exit 0."""
    fp = fake_proxy(ok())
    ns = notifications()
    d = activated(["socks=127.0.0.1:0", "alt=127.0.0.1:0"], "-x", fp.url,
                  env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address))
    assert len({p for _, p in d.listeners}) == 2
    d.wait_line(r"listening on 127\.0\.0\.1:\d+ \(socket 'socks' from the service manager\)")
    d.wait_line(r"listening on 127\.0\.0\.1:\d+ \(socket 'alt' from the service manager\)")
    i, _ = ns.wait(r"^READY=1$")
    assert i == 0, ns.messages
    ns.wait(r"^STATUS=0 tunnels, 0 accepted$")
    tunnels = [echo_through(port) for _, port in d.listeners]
    ns.wait(r"^STATUS=2 tunnels, 2 accepted$", timeout=5)
    for s in tunnels:
        s.close()
    d.wait_tunnels(2)
    ns.wait(r"^STATUS=0 tunnels, 2 accepted$", timeout=5)
    n = len(ns.messages)
    d.signal(signal.SIGHUP)
    i, m = ns.wait(r"^RELOADING=1\nMONOTONIC_USEC=(\d+)$", after=n)
    assert int(m.group(1)) > 0
    ns.wait(r"^READY=1$", after=i + 1)
    d.wait_line(r"reloaded: upstream proxy")
    assert "ignored" not in d.log()  # the same sockets: no 'listen changed' warning
    n = len(ns.messages)
    d.signal(signal.SIGTERM)
    ns.wait(r"^STOPPING=1$", after=n)
    assert d.wait_exit(5) == 0


def test_abstract_notify_socket(activated, fake_proxy, notifications):
    """NOTIFY_SOCKET=@name: the abstract namespace."""
    fp = fake_proxy(ok())
    ns = notifications(abstract=True)
    activated(["127.0.0.1:0"], "-x", fp.url, env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address))
    ns.wait(r"^READY=1$")


def test_listen_option_ignored_with_inherited_sockets(activated, fake_proxy):
    """-l next to inherited sockets: the inherited ones are used, a warning says so."""
    fp = fake_proxy(ok())
    d = activated(["127.0.0.1:0"], "-l", "127.0.0.1:0", "-x", fp.url)
    d.wait_line(r"warn: listen addresses \(-l, 'listen'\) are ignored: using the 1 sockets from the service manager")
    time.sleep(0.2)
    assert len(daemon_mod.LISTEN_RE.findall(d.log())) == 1
    echo_through(d.port).close()


def test_inherited_unix_socket_is_left_to_its_owner(activated, fake_proxy, tmp):
    """A Unix-domain socket from the manager serves SOCKS clients; its file is the socket
    unit's, so the daemon leaves it in place when it exits."""
    fp = fake_proxy(ok())
    path = os.path.join(tmp, "socks.sock")
    d = activated([f"unix:{path}"], "-x", fp.url, wait=0)
    d.wait_line(rf"listening on unix:{re.escape(path)} \(socket 'unknown' from the service manager\)")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(path)
    c.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(c, 2) == b"\x05\x00"
    assert read_socks5_reply(c).rep == 0
    c.sendall(b"unix")
    assert recv_exact(c, 4) == b"unix"
    c.close()
    assert d.stop() == 0
    assert os.path.exists(path)


def test_inherited_non_loopback_socket_needs_auth(activated, fake_proxy):
    """The loopback rule holds for inherited sockets: 0.0.0.0 without --socks-auth or
    --allow-remote is a start failure that says why; with --allow-remote it starts."""
    fp = fake_proxy(ok())
    d = activated(["0.0.0.0:0"], "-x", fp.url, wait=0)
    assert d.wait_exit(10) == 1
    assert re.search(r"refusing the inherited socket 0\.0\.0\.0:\d+ \('unknown'\) without client authentication",
                     d.log()), d.log()
    activated(["0.0.0.0:0"], "-x", fp.url, "--allow-remote")


def test_listen_pid_of_another_process_is_ignored(activated, fake_proxy):
    """LISTEN_PID naming another process: the variables are not for us; -l is used."""
    fp = fake_proxy(ok())
    d = activated(["127.0.0.1:0"], "-l", "127.0.0.1:0", "-x", fp.url, launcher=["--pid-offset", "1"], wait=1)
    assert "service manager" not in d.log()
    echo_through(d.port).close()


def test_systemd_socket_activate(binary, activated, fake_proxy, notifications):
    """The real thing: systemd-socket-activate listens, execs the daemon at the first
    client, which is served; READY=1 reaches NOTIFY_SOCKET (passed with -E)."""
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        pytest.skip("systemd-socket-activate not installed (Debian package systemd)")
    fp = fake_proxy(ok())
    ns = notifications()
    port = procs.free_port()
    d = activated([], "-x", fp.url, wait=0,
                  prefix=[tool, "-l", f"127.0.0.1:{port}", "--fdname=socks", "-E", f"NOTIFY_SOCKET={ns.address}"])
    deadline = time.monotonic() + 10
    while not procs.port_accepts("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.05)
    s = echo_through(port, b"activated")  # this client made systemd-socket-activate exec us
    d.wait_line(rf"listening on 127\.0\.0\.1:{port} \(socket 'socks' from the service manager\)")
    ns.wait(r"^READY=1$")
    s.close()
    d.wait_tunnel(target="example.com:443")


def test_workers_supervisor_notifies_alone(socks2http, fake_proxy, notifications):
    """--workers 2: the supervisor sends READY=1 (and STOPPING=1), the workers nothing."""
    fp = fake_proxy(ok())
    ns = notifications()
    d = socks2http("-x", fp.url, "--workers", "2", env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address))
    d.wait_listening(2)
    ns.wait(r"^READY=1\nSTATUS=2 workers$")
    echo_through(d.port).close()
    d.wait_tunnel()
    time.sleep(1.5)  # a worker's STATUS= would be out by now
    assert ns.messages == ["READY=1\nSTATUS=2 workers"], ns.messages
    d.signal(signal.SIGTERM)
    ns.wait(r"^STOPPING=1$")
    assert d.wait_exit(10) == 0


def listening_sockets(pid):
    """How many TCP sockets in LISTEN state pid's children hold (each worker has its own)."""
    inodes = set()
    for kid in procs._children(pid):
        inodes |= procs.socket_inodes(kid)
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split()
                count += len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes
    return count


def test_workers_ready_once_every_worker_listens(socks2http, fake_proxy, notifications):
    """--workers 2: READY=1 comes once both workers listen (each tells the supervisor),
    not when they have merely been forked: the manager starts what depends on us then."""
    fp = fake_proxy(ok())
    ns = notifications()
    d = socks2http("-x", fp.url, "--workers", "2", env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address), wait=False)
    ns.wait(r"^READY=1\nSTATUS=2 workers$")
    assert listening_sockets(d.pid) == 2, d.log()
    d.wait_listening(2)


def test_workers_no_ready_when_none_can_listen(socks2http, fake_proxy, notifications):
    """--workers 2 on a port another process listens on (without SO_REUSEPORT): no worker
    can listen, the supervisor gives up with exit 1, and READY=1 was never sent (with one
    process there is none either), so the manager sees a failed start."""
    fp = fake_proxy(ok())
    ns = notifications()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        d = socks2http("-x", fp.url, "--workers", "2", listen=(f"127.0.0.1:{port}",),
                       env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address), wait=False)
        assert d.wait_exit(20) == 1, d.log()
    finally:
        taken.close()
    assert not [m for m in ns.messages if m.startswith("READY=1")], ns.messages


# ---------------------------------------------------------------- --exit-idle

def test_exit_idle_waits_for_the_last_tunnel(activated, fake_proxy, notifications):
    """--exit-idle 1: a tunnel open for 2.5 s keeps the daemon running; 1 s after it
    closed the daemon says so, sends STOPPING=1 and exits 0."""
    fp = fake_proxy(ok())
    ns = notifications()
    d = activated(["127.0.0.1:0"], "-x", fp.url, "--exit-idle", "1",
                  env=daemon_mod.clean_env(NOTIFY_SOCKET=ns.address))
    s = echo_through(d.port)
    time.sleep(2.5)
    assert d.alive(), d.log()
    s.sendall(b"still")
    assert recv_exact(s, 5, timeout=5) == b"still"
    s.close()
    d.wait_tunnel()
    t0 = time.monotonic()
    assert d.wait_exit(5) == 0
    took = time.monotonic() - t0
    assert 0.7 < took < 3.0, took
    assert re.search(r"no tunnel for 1s \(--exit-idle\): exiting", d.log())
    ns.wait(r"^STOPPING=1$")
    print(f"exit after the last tunnel: {took:.2f}s (--exit-idle 1)")


def test_exit_idle_from_the_start(activated, fake_proxy, tmp):
    """Started and nobody comes: exit after the idle time (config file key exit-idle).
    A listen line beyond loopback is ignored with inherited sockets, not refused."""
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {fp.url}\nexit-idle 0.5\nlisten 0.0.0.0:1080\n")
    d = activated(["127.0.0.1:0"], "-c", conf)
    t0 = time.monotonic()
    assert d.wait_exit(5) == 0
    assert time.monotonic() - t0 < 2.0
    assert "no tunnel for 0.5s (--exit-idle)" in d.log()


def test_exit_idle_set_by_a_reload(activated, fake_proxy, tmp):
    """exit-idle 0 (never), then SIGHUP with exit-idle 0.5: the new value takes effect."""
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {fp.url}\nexit-idle 0\n")
    d = activated(["127.0.0.1:0"], "-c", conf)
    time.sleep(1.0)
    assert d.alive()
    write_conf(conf, f"proxy {fp.url}\nexit-idle 0.5\n")
    d.signal(signal.SIGHUP)
    assert d.wait_exit(5) == 0
    assert "no tunnel for 0.5s (--exit-idle)" in d.log()


def test_exit_idle_ignored_without_inherited_sockets(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--exit-idle", "0.3")
    d.wait_line(r"warn: --exit-idle is ignored: it needs sockets from a service manager")
    time.sleep(1.0)
    assert d.alive()


def test_exit_idle_with_workers_is_a_usage_error(binary, fake_proxy):
    fp = fake_proxy(ok())
    r = daemon_mod.run_cli(binary, ["-x", fp.url, "--exit-idle", "5", "--workers", "2", "-l", "127.0.0.1:0"])
    assert r.returncode == 2
    assert b"--exit-idle needs a single process" in r.stderr


# ---------------------------------------------------------------- journal

def test_journal_priorities(activated, fake_proxy):
    """JOURNAL_STREAM naming stderr: '<N>' priorities, no timestamp or pid."""
    fp = fake_proxy(ok())
    d = activated(["127.0.0.1:0"], "-x", fp.url, "-l", "127.0.0.1:0", launcher=["--journal"])
    echo_through(d.port).close()
    d.wait_tunnel()
    lines = d.log().splitlines()
    assert any(re.match(r"<6>tunnel client=127\.0\.0\.1:\d+ socks=5 ", l) for l in lines), lines
    assert any(l.startswith("<4>listen addresses") for l in lines), lines
    assert all(re.match(r"<[3467]>\S", l) for l in lines), lines


def test_journal_stream_of_another_file_is_ignored(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, env=daemon_mod.clean_env(JOURNAL_STREAM="1:1"))
    assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z socks2http\[\d+\] info: ", d.log().splitlines()[0])


# ---------------------------------------------------------------- default config file

def write_conf(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.chmod(path + ".new", mode)
    os.replace(path + ".new", path)


@pytest.mark.parametrize("where", ["home", "xdg"])
def test_default_config_file(socks2http, fake_proxy, tmp, where):
    """Without -c: $XDG_CONFIG_HOME/socks2http/config, else ~/.config/socks2http/config;
    the command line overrides it; SIGHUP reads it again."""
    fp, fp2 = fake_proxy(ok()), fake_proxy(ok())
    if where == "home":
        env = daemon_mod.clean_env(HOME=tmp)
        env.pop("XDG_CONFIG_HOME", None)
        conf = os.path.join(tmp, ".config", "socks2http", "config")
    else:
        env = daemon_mod.clean_env(HOME="/nonexistent", XDG_CONFIG_HOME=os.path.join(tmp, "xdg"))
        conf = os.path.join(tmp, "xdg", "socks2http", "config")
    write_conf(conf, f"proxy {fp.url}\nhandshake-timeout 7\n")
    d = socks2http(env=env)
    d.wait_line(rf"options from {re.escape(conf)}")
    d.wait_line(rf"upstream proxy 127\.0\.0\.1:{fp.port} \(from -x\)")
    echo_through(d.port).close()
    fp.wait_requests(1)
    write_conf(conf, f"proxy {fp2.url}\n")
    d.signal(signal.SIGHUP)
    d.wait_line(rf"reloaded: upstream proxy 127\.0\.0\.1:{fp2.port}")
    # the command line wins over the file
    d2 = socks2http("-x", fp2.url, env=env)
    d2.wait_line(rf"upstream proxy 127\.0\.0\.1:{fp2.port} \(from -x\)")
    assert f":{fp.port}" not in d2.log()


def test_default_config_file_not_read_with_c(socks2http, fake_proxy, tmp):
    fp, fp2 = fake_proxy(ok()), fake_proxy(ok())
    write_conf(os.path.join(tmp, ".config", "socks2http", "config"), "proxy http://127.0.0.1:1\nbogus-option 1\n")
    write_conf(os.path.join(tmp, "other.conf"), f"proxy {fp2.url}\n")
    d = socks2http("-c", os.path.join(tmp, "other.conf"), env=daemon_mod.clean_env(HOME=tmp, XDG_CONFIG_HOME=""))
    d.wait_line(rf"upstream proxy 127\.0\.0\.1:{fp2.port}")
    assert "options from" not in d.log()
    del fp


def test_default_config_file_rules(binary, tmp):
    """The same rules as -c: a password others may read is refused (exit 1), a bad line
    is a usage error (exit 2), each naming the file."""
    conf = os.path.join(tmp, ".config", "socks2http", "config")
    env = daemon_mod.clean_env(HOME=tmp)
    env.pop("XDG_CONFIG_HOME", None)
    write_conf(conf, "proxy http://u:secret@127.0.0.1:3128\n", mode=0o644)
    r = daemon_mod.run_cli(binary, ["-l", "127.0.0.1:0"], env=env)
    assert r.returncode == 1 and b"holds a proxy password but other users may read it" in r.stderr, r.stderr
    write_conf(conf, "no-such-option 1\n")
    r = daemon_mod.run_cli(binary, ["-l", "127.0.0.1:0"], env=env)
    assert r.returncode == 2 and f"{conf}:1: unknown option".encode() in r.stderr, r.stderr
    r = daemon_mod.run_cli(binary, ["--help"], env=env)
    assert r.returncode == 0
