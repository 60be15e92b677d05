"""Process and port helpers shared by the fixtures.

Every process started through `Proc` is registered so that a session-wide finalizer
can kill whatever a failing test left behind.  Ports of third-party servers (tinyproxy,
squid) cannot be ephemeral, so `start_on_free_port` picks a free port, starts the
server and then checks in /proc that the listening socket really belongs to the
process it started (another run in parallel may have taken the port in between).
"""

import os
import signal
import socket
import subprocess
import threading
import time

_live = set()
_live_lock = threading.Lock()


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def socket_inodes(pid):
    """The inodes of the sockets pid holds (its /proc/PID/fd links)."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def _children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def listening_ports(pid):
    """TCP ports in LISTEN state whose socket is held by pid or one of its children."""
    inodes = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        inodes |= socket_inodes(p)
        todo += _children(p)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def port_accepts(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Proc:
    """A child process with its output in a file, killed (group-wide) on stop()."""

    def __init__(self, argv, logpath, env=None, cwd=None):
        self.argv = argv
        self.logpath = logpath
        self._log = open(logpath, "ab")
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        with _live_lock:
            _live.add(self)

    def alive(self):
        return self.popen.poll() is None

    def output(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in its process group (helpers, workers) goes too.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        with _live_lock:
            _live.discard(self)
        return self.popen.returncode


def kill_all_leftovers():
    with _live_lock:
        procs = list(_live)
    for p in procs:
        p.stop(signal.SIGKILL, timeout=2)


def start_on_free_port(make_argv, logpath, host="127.0.0.1", env=None, attempts=6, timeout=15.0):
    """make_argv(port) writes any config and returns argv.  Returns (Proc, port)."""
    last = ""
    for _ in range(attempts):
        port = free_port(host)
        proc = Proc(make_argv(port), logpath, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.alive():
            if port in listening_ports(proc.pid):
                return proc, port
            time.sleep(0.05)
        last = proc.output()[-2000:]
        proc.stop(signal.SIGKILL, timeout=2)
    raise RuntimeError(f"could not start {make_argv(0)[0]} on a free port:\n{last}")


def run(argv, timeout=20, env=None, input=None):
    """subprocess.run with a timeout that kills the whole process group."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError(f"{argv[0]} did not finish within {timeout}s; stderr: {err[-2000:]!r}")
    return subprocess.CompletedProcess(argv, p.returncode, out, err)
