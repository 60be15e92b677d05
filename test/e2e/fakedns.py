"""A scripted DNS server on UDP (loopback), for the daemon's c-ares resolver.

    FakeDNS("answer", {"proxy.test": "127.0.0.1"})  A records for those names; NOERROR and no
                                                    answer (NODATA) for other types; NXDOMAIN
                                                    for other names
    FakeDNS("silent")      reads queries, never answers
    FakeDNS("garbage")     answers every query with random bytes (random ID as well)
    FakeDNS("garbage-id")  answers with the query's ID and the response bit, then garbage
    FakeDNS("servfail") / FakeDNS("nxdomain")
    FakeDNS("loop")        a response whose answer name is a compression pointer to itself

A record value may be one address or a list of them (answered in that order).

hold=True keeps every answer back until release() (then it is sent, and later queries are
answered at once): lookups stay pending for exactly as long as a test wants.

Every query is recorded as (name, qtype) in .queries.
"""

import os
import random
import socket
import struct
import threading

QTYPES = {1: "A", 28: "AAAA"}


def parse_query(data):
    """(id, flags, name, qtype, question bytes) or None."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd < 1:
        return None
    pos = 12
    labels = []
    while True:
        if pos >= len(data):
            return None
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(data):
            return None
        labels.append(data[pos:pos + n].decode("latin-1"))
        pos += n
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    question = data[12:pos + 4]
    return qid, flags, ".".join(labels).lower(), qtype, question


class FakeDNS:
    def __init__(self, mode="answer", records=None, host="127.0.0.1", ttl=60, hold=False, port=0):
        self.mode = mode
        self._held = [] if hold else None  # (answer, peer) kept back until release()
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.ttl = ttl
        self.queries = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        self._stop = threading.Event()
        self._rng = random.Random(0x5EED)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def names(self):
        with self.lock:
            return [q[0] for q in self.queries]

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            q = parse_query(data)
            with self.lock:
                self.queries.append((q[2], QTYPES.get(q[3], q[3])) if q else ("?", None))
            answer = self.answer(data, q)
            if answer is None:
                continue
            with self.lock:
                if self._held is not None:
                    self._held.append((answer, peer))
                    continue
            self._send(answer, peer)

    def _send(self, answer, peer):
        try:
            self.sock.sendto(answer, peer)
        except OSError:
            pass

    def release(self):
        """Sends the answers held back so far; from now on every query is answered at once."""
        with self.lock:
            held, self._held = self._held or [], None
        for answer, peer in held:
            self._send(answer, peer)
        return len(held)

    def answer(self, data, q):
        if self.mode == "silent":
            return None
        if self.mode == "garbage":
            return os.urandom(self._rng.randint(1, 300))
        if q is None:
            return None
        qid, flags, name, qtype, question = q
        rd = flags & 0x0100
        if self.mode == "garbage-id":
            # a plausible header (response, NOERROR, one answer) followed by junk
            return struct.pack("!HHHHHH", qid, 0x8080 | rd, 1, 1, 0, 0) + os.urandom(self._rng.randint(0, 60))
        if self.mode == "servfail":
            return struct.pack("!HHHHHH", qid, 0x8082 | rd, 1, 0, 0, 0) + question
        if self.mode == "nxdomain":
            return struct.pack("!HHHHHH", qid, 0x8083 | rd, 1, 0, 0, 0) + question
        if self.mode == "loop":
            off = 12 + len(question)  # the answer's name points at itself
            return (struct.pack("!HHHHHH", qid, 0x8180 | rd, 1, 1, 0, 0) + question +
                    struct.pack("!HHHIH", 0xC000 | off, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1"))
        # "answer"
        ips = self.records.get(name)
        if ips is None:
            return struct.pack("!HHHHHH", qid, 0x8583 | rd, 1, 0, 0, 0) + question  # AA, NXDOMAIN
        if isinstance(ips, str):
            ips = [ips]
        answers = []
        for ip in ips:
            if qtype == 1 and ":" not in ip:
                answers.append(struct.pack("!HHHIH", 0xC00C, 1, 1, self.ttl, 4) + socket.inet_aton(ip))
            elif qtype == 28 and ":" in ip:
                answers.append(struct.pack("!HHHIH", 0xC00C, 28, 1, self.ttl, 16) +
                               socket.inet_pton(socket.AF_INET6, ip))
        return struct.pack("!HHHHHH", qid, 0x8580 | rd, 1, len(answers), 0, 0) + question + b"".join(answers)

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
