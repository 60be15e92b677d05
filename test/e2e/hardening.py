"""Helpers for the hardening tests (test_access, test_lifecycle, test_faults, test_resources):
/proc probes, clients run as another user, a SYN-dropping port, a daemon started under
prlimit, and a one-thread driver for many concurrent tunnels."""

import errno
import hashlib
import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

import pytest

from socksclient import socks5_greeting, socks5_request

NOBODY_UID = 65534
NOBODY_GID = 65534


# ---------------------------------------------------------------- /proc

def _udp_inodes():
    inodes = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                for line in f.read().splitlines()[1:]:
                    parts = line.split()
                    if len(parts) > 9:
                        inodes.add(parts[9])
        except OSError:
            pass
    return inodes


def fd_count(pid, count_udp=False):
    """The daemon's open fds; without count_udp, UDP sockets (c-ares' DNS sockets, which it
    may keep open between lookups) are left out."""
    links = fd_links(pid)
    if count_udp:
        return len(links)
    udp = _udp_inodes()
    return len([l for l in links.values() if not (l.startswith("socket:[") and l[8:-1] in udp)])


def fd_links(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limits(pid):
    """(soft, hard) from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                parts = line.split()
                return int(parts[3]), int(parts[4])
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def wait_until(pred, timeout=5.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        res = pred()
        if res:
            return res
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


def wait_fds_back(pid, baseline, tolerance=0, timeout=5.0):
    """Waits for the daemon's fd count to come back to baseline (+tolerance); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        n = fd_count(pid)
        if n <= baseline + tolerance:
            return n
        if time.monotonic() >= deadline:
            raise AssertionError(f"fd leak: {n} fds open, baseline {baseline} (+{tolerance}); "
                                 f"fds: {fd_links(pid)}")
        time.sleep(0.05)


def count_lines(d, regex):
    import re
    rx = re.compile(regex)
    return [l for l in d.log().splitlines() if rx.search(l)]


# ---------------------------------------------------------------- clients run as nobody

_CHILD = r"""
import errno, json, os, socket, sys
cfg = json.loads(sys.argv[1])
out = {"uid": os.getuid()}
try:
    if cfg["unix"]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr = cfg["unix"]
    else:
        fam = socket.AF_INET6 if ":" in cfg["host"] else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        addr = (cfg["host"], cfg["port"])
    s.settimeout(cfg["timeout"])
    if cfg.get("bind"):
        s.bind((cfg["bind"], 0))
    s.connect(addr)
    s.sendall(bytes.fromhex(cfg["send"]))
    buf = b""
    while len(buf) < cfg["want"]:
        c = s.recv(cfg["want"] - len(buf))
        if not c:
            break
        buf += c
    out["reply"] = buf.hex()
    then = bytes.fromhex(cfg["then"])
    if then and len(buf) == cfg["want"]:
        s.sendall(then)
        back = b""
        while len(back) < len(then):
            c = s.recv(len(then) - len(back))
            if not c:
                break
            back += c
        out["echo"] = back.hex()
    else:
        # after a refusal the daemon must close: report whether it did
        try:
            out["eof"] = s.recv(1) == b""
        except ConnectionResetError:
            out["eof"] = True
        except socket.timeout:
            out["eof"] = False
except OSError as e:
    out["error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__
print(json.dumps(out))
"""


def as_user(send, want, port=None, unix=None, then=b"", uid=NOBODY_UID, gid=NOBODY_GID, timeout=8.0,
            host="127.0.0.1", bind=None):
    """Connects as uid/gid (a child that drops privileges before connecting), sends `send`,
    reads `want` bytes; then, if given, sends `then` and reads as much back (an echo).
    Returns a dict: reply (hex), echo (hex), eof, or error (an errno name)."""
    cfg = {"unix": unix, "host": host, "port": port, "bind": bind, "send": send.hex(), "want": want,
           "then": then.hex(), "timeout": timeout}
    p = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cfg)], user=uid, group=gid, extra_groups=[],
                       cwd="/", stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10,
                       env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, f"child failed: {p.stderr.decode(errors='replace')}"
    res = json.loads(p.stdout)
    assert res["uid"] == uid
    return res


def socks5_connect_bytes(host="example.com", port=443):
    return socks5_greeting() + socks5_request(host, port)


def socks4_connect_bytes(ip="127.0.0.1", port=443):
    return struct.pack("!BBH", 4, 1, port) + socket.inet_aton(ip) + b"\0"


# ---------------------------------------------------------------- a port that drops SYNs

class Blackhole:
    """A listener whose accept queue is full: further SYNs are dropped, connect() times out."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(0)
        self.port = self.ls.getsockname()[1]
        self.fillers = []
        # listen(0) admits one (or two, by kernel) connections before dropping
        for _ in range(4):
            f = socket.socket()
            f.settimeout(0.5)
            try:
                f.connect(("127.0.0.1", self.port))
                self.fillers.append(f)
            except socket.timeout:
                f.close()
                break
        else:
            self.close()
            pytest.skip("this kernel does not drop SYNs on a full accept queue")

    def close(self):
        for f in self.fillers:
            f.close()
        self.ls.close()


@pytest.fixture
def blackhole():
    b = Blackhole()
    yield b.port
    b.close()


# ---------------------------------------------------------------- a fake DNS server

@pytest.fixture
def fakedns():
    """fakedns(mode, records) -> a started fakedns.FakeDNS, stopped at teardown."""
    from fakedns import FakeDNS
    made = []

    def make(mode="answer", records=None, **kw):
        f = FakeDNS(mode, records, **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


# ---------------------------------------------------------------- the daemon under prlimit

@pytest.fixture
def socks2http_rlimit(socks2http):
    """socks2http_rlimit(*args, nofile=(soft, hard)) -> a Daemon started through prlimit(1),
    which sets the limits and execs the daemon (same pid).  Same teardown as socks2http."""
    def start(*args, nofile, **kw):
        return socks2http(*args, prefix=("prlimit", f"--nofile={nofile[0]}:{nofile[1]}", "--"), **kw)
    return start


# ---------------------------------------------------------------- many tunnels from one thread

class _Conn:
    __slots__ = ("sock", "payload", "sent", "hdr", "got", "hash", "state", "error", "want_hdr")


def run_echo_wave(port, payloads, target=("echo.example", 7), timeout=30.0):
    """Opens one SOCKS5 tunnel per payload (all at once), sends each payload and reads its
    echo, all from one thread with a selector.  Returns a list: None for a tunnel whose
    echo matched (sha256), else a string saying what went wrong."""
    sel = selectors.DefaultSelector()
    conns = []
    request = socks5_greeting() + socks5_request(target[0], target[1])
    for p in payloads:
        c = _Conn()
        c.payload, c.sent, c.hdr, c.got, c.error = p, 0, b"", 0, None
        c.hash = hashlib.sha256()
        c.want_hdr = 2 + 10
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            s.sendall(request)  # 3 + 22 bytes: fits any socket buffer
        except OSError as e:
            c.error = f"connect: {e!r}"
            s.close()
            conns.append(c)
            continue
        c.sock = s
        c.state = "reply"
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    live = sum(1 for c in conns if c.error is None)
    deadline = time.monotonic() + timeout
    while live:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, ev in sel.select(min(left, 1.0)):
            c = key.data
            s = c.sock
            done = False
            try:
                if ev & selectors.EVENT_READ:
                    data = s.recv(1 << 18)
                    if not data:
                        c.error = f"EOF in state {c.state} after {c.got} of {len(c.payload)} echoed bytes"
                        done = True
                    elif c.state == "reply":
                        c.hdr += data
                        if len(c.hdr) >= c.want_hdr:
                            head, extra = c.hdr[:c.want_hdr], c.hdr[c.want_hdr:]
                            if head[:2] != b"\x05\x00" or head[2:4] != b"\x05\x00":
                                c.error = f"SOCKS refused: {head.hex()}"
                                done = True
                            else:
                                c.state = "relay"
                                if extra:
                                    c.error = f"{len(extra)} unexpected bytes before sending"
                                    done = True
                                else:
                                    sel.modify(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
                    else:
                        c.hash.update(data)
                        c.got += len(data)
                        if c.got > len(c.payload):
                            c.error = "more bytes echoed than sent"
                            done = True
                        elif c.got == len(c.payload):
                            if c.hash.digest() != hashlib.sha256(c.payload).digest():
                                c.error = "checksum mismatch"
                            done = True
                if not done and ev & selectors.EVENT_WRITE and c.state == "relay":
                    n = s.send(c.payload[c.sent:c.sent + (1 << 16)])
                    c.sent += n
                    if c.sent == len(c.payload):
                        sel.modify(s, selectors.EVENT_READ, c)
            except BlockingIOError:
                pass
            except OSError as e:
                c.error = f"{e!r} in state {c.state}"
                done = True
            if done:
                sel.unregister(s)
                s.close()
                c.sock = None
                live -= 1
    for c in conns:
        if c.sock is not None:
            c.error = c.error or f"timed out in state {c.state}: sent {c.sent}, echoed {c.got} of {len(c.payload)}"
            sel.unregister(c.sock)
            c.sock.close()
    sel.close()
    return [c.error for c in conns]


def errno_name(e):
    return errno.errorcode.get(e, str(e))
