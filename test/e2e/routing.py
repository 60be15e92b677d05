"""Helpers for the route tests (test_routes, test_noproxy, test_pac): SOCKS over a Unix-domain
listener (for a daemon inside its own network namespace), a daemon started in such a
namespace, an HTTP proxy client's CONNECT, and checks on the summary line."""

import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from socksclient import (TIMEOUT, read_socks4_reply, read_socks5_reply, recv_exact, recv_until_eof,
                         socks4_request, socks4a_request, socks5_greeting, socks5_request)

# ---------------------------------------------------------------- network namespaces

_netns_ok = None


def netns_available():
    """True when `unshare -n` works here (root or user namespaces) and `ip` exists."""
    global _netns_ok
    if _netns_ok is None:
        if not (shutil.which("unshare") and shutil.which("ip")):
            _netns_ok = False
        else:
            cmd = ["unshare", "-n", "--", "sh", "-c", "ip link set lo up && ip route add unreachable 10.99.0.0/16"]
            if os.geteuid() != 0:
                cmd[1:1] = ["-r"]
            try:
                r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
                _netns_ok = r.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                _netns_ok = False
    return _netns_ok


# Inside the namespace: only lo (up).  10.1.0.0/16 has no route at all (connect: ENETUNREACH);
# 10.99.0.0/16 has an 'unreachable' route (connect: EHOSTUNREACH).
NO_ROUTE_IP = "10.1.2.3"
UNREACHABLE_IP = "10.99.0.5"
NETNS_SETUP = "ip link set lo up && ip route add unreachable 10.99.0.0/16"


def netns_prefix():
    """A prefix for the socks2http fixture that execs the daemon (same pid) in a new network
    namespace set up as above; skips the test where namespaces cannot be made."""
    if not netns_available():
        pytest.skip("no network namespace here (unshare -n failed): cannot make ENETUNREACH/EHOSTUNREACH")
    pre = ["unshare", "-n"]
    if os.geteuid() != 0:
        pre.append("-r")
    return tuple(pre + ["--", "sh", "-c", NETNS_SETUP + ' && exec "$@"', "sh"])


# ---------------------------------------------------------------- SOCKS over a Unix socket

def unix_connect(path, timeout=TIMEOUT):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def unix_socks5(path, host, port, timeout=TIMEOUT):
    """SOCKS5 CONNECT over a Unix-domain listener: (socket, Socks5Reply)."""
    s = unix_connect(path, timeout)
    s.sendall(socks5_greeting() + socks5_request(host, port))
    assert recv_exact(s, 2, timeout) == b"\x05\x00"
    return s, read_socks5_reply(s, timeout)


def unix_socks4(path, host, port, timeout=TIMEOUT):
    """SOCKS4 (IPv4 literal) or 4a (a name) over a Unix-domain listener: (socket, code)."""
    import ipaddress
    try:
        ipaddress.IPv4Address(host)
        req = socks4_request(host, port)
    except ValueError:
        req = socks4a_request(host, port)
    s = unix_connect(path, timeout)
    s.sendall(req)
    code, _ = read_socks4_reply(s, timeout)
    return s, code


# ---------------------------------------------------------------- HTTP proxy clients

def http_connect_status(port, host, tport, timeout=TIMEOUT):
    """An HTTP proxy client's CONNECT: the status code of the answer, and the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    auth = f"[{host}]:{tport}" if ":" in host else f"{host}:{tport}"
    s.sendall(f"CONNECT {auth} HTTP/1.1\r\nHost: {auth}\r\n\r\n".encode())
    head = _read_head(s, timeout)
    return int(head.split(b" ", 2)[1]), s


def http_get_status(port, url, timeout=TIMEOUT):
    """An HTTP proxy client's forwarded GET: the status code of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    host = url.split("/")[2]
    s.sendall(f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head = _read_head(s, timeout)
    s.close()
    return int(head.split(b" ", 2)[1])


def _read_head(s, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    assert buf.startswith(b"HTTP/1."), f"not an HTTP answer: {buf[:200]!r}"
    return buf


# ---------------------------------------------------------------- checks

def echoes(s, data=b"through the direct route"):
    """The tunnel echoes data back (the echo server at the other end), then closes cleanly."""
    s.sendall(data)
    assert recv_exact(s, len(data)) == data
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s, 5) == b""
    s.close()


def no_requests(fp, settle=0.2):
    """The recording proxy got no request at all (after a short settle time)."""
    time.sleep(settle)
    assert fp.requests == [], f"the proxy got {fp.requests}"


def authority(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def wait_rule_log(d, target, rule_text, timeout=5.0):
    """A log line other than the summary naming the blocked target (host:port, so that the
    start log's list of rules does not count) and the rule's text."""

    def pred(lines):
        for line in lines:
            if re.search(r"\btunnel\s+client=", line):
                continue
            if target in line and rule_text in line:
                return line
        return None

    return d.wait_for(pred, timeout, f"a line naming {target} and the rule {rule_text!r}")


def closed_v6_port(port):
    """Holds [::1]:port bound without listen() so that connects to it are refused, or None."""
    s = socket.socket(socket.AF_INET6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::1", port))
        return s
    except OSError:
        s.close()
        return None


def wait_target(d, host, port, timeout=10.0):
    """The summary line of the tunnel to host:port (names compared without case and trailing dot)."""
    from daemon import parse_tunnel_line

    def norm(a):
        h, _, p = a.rpartition(":")
        return h.lower().rstrip("."), p

    want = norm(authority(host, port))

    def pred(lines):
        for line in lines:
            t = parse_tunnel_line(line)
            if t and "target" in t and norm(t["target"]) == want:
                return t
        return None

    return d.wait_for(pred, timeout, f"the tunnel line for {authority(host, port)}")


class Blackhole:
    """A listener on host whose accept queue is full: SYNs to it are dropped, connect() hangs.
    For IPv6 (::1) as well as IPv4.  skip()s where the kernel does not drop them."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.ls = socket.socket(fam)
        if fam == socket.AF_INET6:
            self.ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.ls.bind((host, 0))
        self.ls.listen(0)
        self.port = self.ls.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            f = socket.socket(fam)
            f.settimeout(0.5)
            try:
                f.connect((host, self.port))
                self.fillers.append(f)
            except socket.timeout:
                f.close()
                break
        else:
            self.close()
            pytest.skip(f"this kernel does not drop SYNs on a full accept queue ({host})")

    def close(self):
        for f in self.fillers:
            f.close()
        self.ls.close()
