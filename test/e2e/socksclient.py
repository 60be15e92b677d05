"""Hand-written SOCKS4/4a/5 client messages (struct.pack), so tests control every byte,
and socket helpers that never block without a timeout."""

import hashlib
import ipaddress
import socket
import struct
import time

TIMEOUT = 10.0


def connect(port, host="127.0.0.1", timeout=TIMEOUT):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class ShortRead(AssertionError):
    def __init__(self, got, wanted):
        super().__init__(f"connection closed after {len(got)} of {wanted} bytes: {got[:64]!r}")
        self.got = got


def recv_exact(s, n, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while len(buf) < n:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            raise AssertionError(f"timed out after {len(buf)} of {n} bytes: {bytes(buf[:64])!r}")
        if not chunk:
            raise ShortRead(bytes(buf), n)
        buf += chunk
    return bytes(buf)


def recv_until_eof(s, timeout=TIMEOUT, limit=1 << 30):
    """Everything until EOF.  A reset counts as EOF; a timeout is an assertion error."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            raise AssertionError(f"no EOF within {timeout}s; got {len(buf)} bytes: {bytes(buf[:64])!r}")
        except ConnectionResetError:
            return bytes(buf)
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise AssertionError(f"more than {limit} bytes before EOF")


def wait_closed(s, timeout=TIMEOUT):
    """Returns (bytes received before EOF, seconds it took)."""
    t0 = time.monotonic()
    data = recv_until_eof(s, timeout)
    return data, time.monotonic() - t0


def sha256_recv(s, n, timeout=60.0):
    """Reads exactly n bytes and returns their sha256 hex digest."""
    deadline = time.monotonic() + timeout
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    left = n
    while left:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            k = s.recv_into(view, min(left, len(buf)))
        except socket.timeout:
            raise AssertionError(f"timed out with {left} of {n} bytes still to come")
        if k == 0:
            raise AssertionError(f"EOF with {left} of {n} bytes still to come")
        h.update(view[:k])
        left -= k
    return h.hexdigest()


# ---------------------------------------------------------------- SOCKS5

def socks5_greeting(methods=(0,)):
    return struct.pack("!BB", 5, len(methods)) + bytes(methods)


def socks5_addr(host, atyp=None):
    """ATYP + address bytes.  host: IPv4/IPv6 text, a name (str or bytes)."""
    if isinstance(host, bytes):
        return struct.pack("!BB", 3, len(host)) + host
    if atyp is None:
        try:
            ip = ipaddress.ip_address(host)
            atyp = 1 if ip.version == 4 else 4
        except ValueError:
            atyp = 3
    if atyp == 1:
        return b"\x01" + ipaddress.IPv4Address(host).packed
    if atyp == 4:
        return b"\x04" + ipaddress.IPv6Address(host).packed
    name = host.encode()
    return struct.pack("!BB", 3, len(name)) + name


def socks5_request(host, port, cmd=1, atyp=None):
    return struct.pack("!BBB", 5, cmd, 0) + socks5_addr(host, atyp) + struct.pack("!H", port)


class Socks5Reply:
    def __init__(self, raw):
        self.raw = raw
        self.ver, self.rep, self.rsv, self.atyp = raw[0], raw[1], raw[2], raw[3]
        if self.atyp == 1:
            self.addr = str(ipaddress.IPv4Address(raw[4:8]))
        elif self.atyp == 4:
            self.addr = str(ipaddress.IPv6Address(raw[4:20]))
        else:
            self.addr = raw[5:-2]
        self.port = struct.unpack("!H", raw[-2:])[0]

    def __repr__(self):
        return f"Socks5Reply(rep=0x{self.rep:02x}, raw={self.raw.hex()})"


def read_socks5_reply(s, timeout=TIMEOUT):
    """Reads one SOCKS5 reply, checking its shape: 05 REP 00 ATYP(1|4) ADDR PORT."""
    head = recv_exact(s, 4, timeout)
    assert head[0] == 5 and head[2] == 0, f"malformed SOCKS5 reply head {head.hex()}"
    assert head[3] in (1, 4), f"SOCKS5 reply with ATYP {head[3]} (want 1 or 4): {head.hex()}"
    rest = recv_exact(s, 6 if head[3] == 1 else 18, timeout)
    return Socks5Reply(head + rest)


def socks5_open(port, host, tport, early=b"", listen_host="127.0.0.1", timeout=TIMEOUT, atyp=None):
    """Greeting + CONNECT in one write (as curl does), then the replies.
    Returns (socket, Socks5Reply); the socket is open whatever the code."""
    s = connect(port, listen_host, timeout)
    s.sendall(socks5_greeting() + socks5_request(host, tport, atyp=atyp) + early)
    method = recv_exact(s, 2, timeout)
    assert method == b"\x05\x00", f"method selection {method.hex()}"
    return s, read_socks5_reply(s, timeout)


def socks5_tunnel(port, host, tport, **kw):
    s, rep = socks5_open(port, host, tport, **kw)
    assert rep.rep == 0, f"SOCKS5 CONNECT to {host}:{tport} failed: {rep!r}"
    return s


# ---------------------------------------------------------------- SOCKS4 / 4a

def socks4_request(ip, port, userid=b"", cmd=1):
    return struct.pack("!BBH", 4, cmd, port) + ipaddress.IPv4Address(ip).packed + userid + b"\0"


def socks4a_request(name, port, userid=b"", cmd=1, x=1):
    if isinstance(name, str):
        name = name.encode()
    return struct.pack("!BBH", 4, cmd, port) + bytes([0, 0, 0, x]) + userid + b"\0" + name + b"\0"


def read_socks4_reply(s, timeout=TIMEOUT):
    raw = recv_exact(s, 8, timeout)
    assert raw[0] == 0, f"SOCKS4 reply version byte must be 0: {raw.hex()}"
    return raw[1], raw


def socks4_open(port, target, tport, early=b"", timeout=TIMEOUT, userid=b"", listen_host="127.0.0.1"):
    """target: an IPv4 literal (SOCKS4) or a name (SOCKS4a).  Returns (socket, code)."""
    try:
        ipaddress.IPv4Address(target)
        req = socks4_request(target, tport, userid)
    except ValueError:
        req = socks4a_request(target, tport, userid)
    s = connect(port, listen_host, timeout)
    s.sendall(req + early)
    code, _ = read_socks4_reply(s, timeout)
    return s, code
