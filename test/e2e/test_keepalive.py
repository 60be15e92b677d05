"""TCP keepalive only toward other hosts: the bridge's sockets to loopback clients and to a
proxy on this host carry no keepalive timer (a local peer's kernel closes its sockets when
it dies; probes would only wake the machine every minute per idle socket), its socket to a
proxy on another address does (60 s idle).  Read from /proc/net/tcp: the timer a socket
has armed, for the daemon's own sockets (/proc/PID/fd)."""

import os
import subprocess
import time

import pytest

from fakeproxy import ok
from procs import socket_inodes
from socksclient import recv_exact, socks5_tunnel

ESTABLISHED = "01"


def _hexaddr(h):
    """'0100007F:1F90' (or the IPv6 form) -> (ip text, port)."""
    import ipaddress
    a, p = h.split(":")
    raw = bytes.fromhex(a)
    if len(raw) == 4:
        ip = ipaddress.IPv4Address(raw[::-1])
    else:  # four host-order 32-bit words
        ip = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
    return str(ip), int(p, 16)


def daemon_sockets(pid):
    """The daemon's established TCP sockets: [(local, remote, timer, seconds left)], timer as
    /proc/net/tcp gives it (0 none, 1 retransmit, 2 keepalive or delayed ACK, ...)."""
    inodes = socket_inodes(pid)
    hz = os.sysconf("SC_CLK_TCK")  # /proc/net/tcp counts in USER_HZ
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                col = line.split()
                if col[9] not in inodes or col[3] != ESTABLISHED:
                    continue
                timer, when = col[5].split(":")
                out.append((_hexaddr(col[1]), _hexaddr(col[2]), int(timer, 16), int(when, 16) / hz))
    return out


def settled(pid, want, timeout=5.0):
    """Polls until the daemon has `want` established sockets and none has a short timer left
    (a delayed ACK after the last bytes): the sockets then."""
    deadline = time.monotonic() + timeout
    while True:
        socks = daemon_sockets(pid)
        if len(socks) == want and all(t == 0 or left > 5 for _, _, t, left in socks):
            return socks
        if time.monotonic() > deadline:
            raise AssertionError(f"daemon sockets did not settle: {socks}")
        time.sleep(0.05)


def other_host_address():
    """An IPv4 address of this machine that is not loopback, or None."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    return None


def test_no_keepalive_on_loopback(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "keep.example", 443)
    s.sendall(b"ping")
    assert recv_exact(s, 4) == b"ping"
    socks = settled(d.pid, 2)  # the client's and the proxy's
    assert any(r[1] == ("127.0.0.1", fp.port) for r in socks), socks
    for local, remote, timer, left in socks:
        assert timer == 0, f"keepalive timer on a loopback socket {local} -> {remote}: {left:.0f}s"
    s.close()


def test_keepalive_toward_another_address(socks2http, fake_proxy):
    addr = other_host_address()
    if addr is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    fp = fake_proxy(ok(), host=addr)
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "keep.example", 443)
    s.sendall(b"ping")
    assert recv_exact(s, 4) == b"ping"
    socks = settled(d.pid, 2)
    up = [x for x in socks if x[1] == (addr, fp.port)]
    client = [x for x in socks if x[1][0] == "127.0.0.1"]
    assert len(up) == 1 and len(client) == 1, socks
    _, _, timer, left = up[0]
    assert timer == 2 and 30 < left <= 60, f"the proxy's socket: timer {timer}, {left:.0f}s left"
    assert client[0][2] == 0, f"keepalive on the loopback client's socket: {client[0]}"
    s.close()


def test_wildcard_listener_keepalive_per_client(socks2http, fake_proxy):
    """A listener on every address serves loopback clients too: keepalive goes on the
    socket of a client from another address only."""
    addr = other_host_address()
    if addr is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--allow-remote", listen=("0.0.0.0:0",))
    near = socks5_tunnel(d.port, "near.example", 443)
    far = socks5_tunnel(d.port, "far.example", 443, listen_host=addr)
    for s in (near, far):
        s.sendall(b"ping")
        assert recv_exact(s, 4) == b"ping"
    socks = settled(d.pid, 4)  # two clients, two proxy sockets
    near_port, far_port = near.getsockname()[1], far.getsockname()[1]
    mine = {r: (t, left) for _, r, t, left in socks}
    assert mine[("127.0.0.1", near_port)][0] == 0, f"keepalive on a loopback client's socket: {socks}"
    timer, left = mine[(addr, far_port)]
    assert timer == 2 and 30 < left <= 60, f"the remote client's socket: timer {timer}, {left:.0f}s left"
    for s in (near, far):
        s.close()
