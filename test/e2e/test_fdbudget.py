"""Zero copy within the fd budget: splice pipes for as many tunnels as the fd limit allows
right now, buffers for the others, accepting never starved, every byte intact."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from fakeproxy import ok
from hardening import run_echo_wave, socks2http_rlimit  # noqa: F401 - fixture
from socksclient import recv_exact, socks5_tunnel

STATUS = re.compile(r"splice pipes: (\d+) in use, (\d+) pooled, (\d+) taken, (\d+) refused")


def status(d):
    n = len(d.log().splitlines())
    d.signal(signal.SIGUSR1)
    line = d.wait_for(lambda lines: next((l for l in lines[n:] if STATUS.search(l)), None), what="status line")
    return [int(x) for x in STATUS.search(line).groups()]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def push_until_full(s, data):
    """Sends what the path takes without reading the echo; returns the bytes sent."""
    s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 3
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    s.settimeout(30)
    return sent


@pytest.mark.linux_only("splice")
def test_bulk_and_idle_tunnels_near_the_fd_limit(socks2http_rlimit, fake_proxy):
    """120 fds: --max-tunnels is lowered to 29 and the pipe budget is 15 pipes.  16 tunnels
    whose clients stop reading hold their pipes full; 6 echo transfers then copy through
    buffers; 4 idle tunnels hold nothing but their sockets.  Every byte arrives."""
    fp = fake_proxy(ok(then="echo"))
    d = socks2http_rlimit("-x", fp.url, "--max-tunnels", "10000", nofile=(120, 120))
    d.wait_line(r"--max-tunnels 10000 lowered to 29")
    budget = (120 - 32 - 2 * 29) // 2  # fds beyond the reserve and two per allowed tunnel
    idle = [socks5_tunnel(d.port, "idle.example", 7) for _ in range(4)]
    for s in idle:  # each carried a little, then went idle
        s.sendall(b"x" * 1000)
        assert recv_exact(s, 1000) == b"x" * 1000
    stuck = [socks5_tunnel(d.port, "stuck.example", 7) for _ in range(16)]
    data = os.urandom(8 << 20)
    sent = [push_until_full(s, data) for s in stuck]
    in_use, pooled, taken, refused = status(d)
    assert 1 <= in_use <= budget and (in_use + pooled) <= budget, (in_use, pooled, budget)
    assert refused >= 1, "the budget never ran short"
    payloads = [os.urandom(4 << 20) for _ in range(6)]
    assert run_echo_wave(d.port, payloads, timeout=60) == [None] * 6
    for s, n in zip(stuck, sent):
        assert recv_exact(s, n, timeout=30) == data[:n]
    time.sleep(0.2)
    in_use, pooled, taken, refused = status(d)
    assert in_use == 0, f"{in_use} pipes still held by idle tunnels"
    warn = [l for l in d.log().splitlines() if "leaves no room for splice(2) pipes" in l]
    assert len(warn) == 1, warn
    # idle tunnels hold their two sockets and nothing else; new clients still come in
    assert fd_count(d.pid) <= 20 * 2 + 32 + pooled * 2
    s = socks5_tunnel(d.port, "after.example", 7)
    s.sendall(b"still accepted")
    assert recv_exact(s, 14) == b"still accepted"
    s.close()
    for s in idle + stuck:
        s.close()


@pytest.mark.linux_only("splice")
def test_idle_after_data_holds_no_pipe(socks2http, fake_proxy):
    fp = fake_proxy(ok(then="echo"))
    d = socks2http("-x", fp.url)
    tunnels = [socks5_tunnel(d.port, "idle.example", 7) for _ in range(5)]
    for s in tunnels:
        s.sendall(os.urandom(1 << 20))
    for s in tunnels:
        recv_exact(s, 1 << 20, timeout=20)
    time.sleep(0.2)
    in_use, pooled, taken, refused = status(d)
    assert taken >= 5 and in_use == 0 and refused == 0
    for s in tunnels:
        s.close()


# ---------------------------------------------------------------- the user's pipe memory

OTHER_UID = 47123  # a user of its own: the kernel counts pipe memory per user

# Another program of the same user that holds pipes until the kernel's allowance
# (fs.pipe-user-pages-soft) is used up, i.e. until a new pipe comes out at two pages.
HOLDER = r"""
import fcntl, os, sys
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
pipes = []
while len(pipes) < 4000:
    r, w = os.pipe()
    pipes.append((r, w))
    try:
        fcntl.fcntl(r, F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    if fcntl.fcntl(r, F_GETPIPE_SZ) < 65536:
        break
print(len(pipes), fcntl.fcntl(r, F_GETPIPE_SZ), flush=True)
sys.stdin.read()
"""


def echo_through(d, n):
    data = os.urandom(n)
    s = socks5_tunnel(d.port, "echo.example", 7)
    got = bytearray()
    s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        if sent < n:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        try:
            got += s.recv(1 << 20)
        except BlockingIOError:
            time.sleep(0.001)
    s.close()
    return bytes(got) == data


@pytest.mark.linux_only("splice")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the daemon as another user")
def test_pipe_memory_of_the_user_used_up(socks2http, fake_proxy):
    """The daemon runs as an ordinary user whose other programs hold the kernel's pipe
    allowance: its new pipes would hold 8 KiB, and splicing through them costs several
    times what copying does.  It copies instead (no pipe handed out), says why once, and
    splices again once the other program gives its pipes back."""
    with open("/proc/sys/fs/pipe-user-pages-soft") as f:
        if int(f.read()) == 0:
            pytest.skip("no per-user pipe limit on this kernel")
    fp = fake_proxy(ok(then="echo"))
    d = socks2http("-x", fp.url, "--allow-users", "0", "--no-control",
                   prefix=("setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups", "--"))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], user=OTHER_UID, group=OTHER_UID, extra_groups=[],
                              cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"})
    try:
        npipes, last = (int(x) for x in holder.stdout.readline().split())
        assert last < 65536, f"the holder's {npipes} pipes did not use up the allowance"
        assert echo_through(d, 16 << 20), "a transfer lost bytes"
        in_use, pooled, taken, refused = status(d)
        assert taken == 0 and refused >= 1, (in_use, pooled, taken, refused)
        warn = [l for l in d.log().splitlines() if "splice(2) pipes come out at 8192 bytes" in l]
        assert len(warn) == 1, d.log()
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    time.sleep(1.2)  # the pool asks the kernel again a second after a refusal
    assert echo_through(d, 16 << 20), "a transfer lost bytes"
    in_use, pooled, taken, refused = status(d)
    assert taken >= 1, "no pipe once the allowance was free again"
