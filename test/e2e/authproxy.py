"""A scripted CONNECT proxy that demands authentication (loopback, a thread per connection).

    p = AuthProxy(user="u", password="p", algorithm="SHA-256")   # Digest, qop=auth
    p = AuthProxy(..., algorithm="MD5-sess", userhash=True)
    p = AuthProxy(..., nonce_uses=1)      # a nonce serves one tunnel; then 407 stale=true
    p = AuthProxy(..., offer=["Negotiate", "NTLM", "digest", "Basic realm=\\"x\\""],
                  one_header=True)        # several challenges, in one field value
    p = AuthProxy(..., close_after_407=True, chunked_407=True)
    p = AuthProxy(..., forward=True)      # GET http://... : 407 like CONNECT, then a canned 200
    p = AuthProxy(..., offer=["digest", "basic"], accept=("basic",))  # Basic only

accept: the schemes whose credentials pass (default: "digest"/"basic" when offered).

Digest (RFC 7616 §3.4): algorithm MD5, MD5-sess, SHA-256, SHA-256-sess; qop=auth (or
qop=None: RFC 2069 style); userhash; charset=UTF-8 and username* (RFC 8187) for a
non-ASCII user; opaque echoed; nc must grow for each nonce
(a repeated or smaller nc is a replay: 407).  "digest" in `offer` stands for our Digest
challenge; "basic" for `Basic realm=...`; anything else is sent verbatim (decoys such as
Negotiate / NTLM, which are never accepted).

After a 200 the tunnel is a real TCP relay to the CONNECT target (or an echo with
then="echo").  Every connection is recorded: `p.conns` is a list of Conn with the
requests (fakeproxy.Request) and the statuses answered on it, so tests can count round
trips: `p.count(407)`, `p.statuses()`.
"""

import base64
import hashlib
import re
import secrets
import socket
import threading
import urllib.parse

from fakeproxy import Request, _relay, _echo, Ctx
from origin import TcpServer

HEADER_LIMIT = 64 * 1024

_HASH = {"MD5": hashlib.md5, "MD5-sess": hashlib.md5, "SHA-256": hashlib.sha256,
         "SHA-256-sess": hashlib.sha256}


def H(alg, s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return _HASH[alg](s).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce, nc=None, cnonce=None, qop="auth"):
    """RFC 7616 §3.4.1 response value (nc as the 8 hex digits sent, e.g. '00000001')."""
    ha1 = H(alg, f"{user}:{realm}:{password}")
    if alg.endswith("-sess"):
        ha1 = H(alg, f"{ha1}:{nonce}:{cnonce}")
    ha2 = H(alg, f"{method}:{uri}")
    if qop:
        return H(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return H(alg, f"{ha1}:{nonce}:{ha2}")  # RFC 2069


def parse_auth_params(s):
    """'a=b, c="d \\" e"' -> {'a': 'b', 'c': 'd " e'} (names lower-cased)."""
    out = {}
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t,":
            i += 1
        m = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*").match(s, i)
        if not m:
            break
        name = m.group(1).lower()
        i = m.end()
        if i < n and s[i] == '"':
            i += 1
            val = []
            while i < n and s[i] != '"':
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(s[i])
                i += 1
            i += 1
            out[name] = "".join(val)
        else:
            m2 = re.compile(r"[^,\s]*").match(s, i)
            out[name] = m2.group(0)
            i = m2.end()
    return out


def ext_value(v):
    """RFC 8187 ext-value: UTF-8''percent-encoded -> str (None when malformed)."""
    cs, sep, rest = v.partition("''")
    if not sep or cs.lower() != "utf-8":
        return None
    try:
        return urllib.parse.unquote(rest, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


class Conn:
    def __init__(self, peer):
        self.peer = peer
        self.requests = []   # Request
        self.statuses = []   # what we answered to each, in order

    def count(self, status):
        return sum(1 for s in self.statuses if s == status)

    def __repr__(self):
        return f"Conn({self.peer}, {self.statuses})"


class AuthProxy(TcpServer):
    def __init__(self, user="user", password="pass", realm="authproxy@test", algorithm="MD5",
                 qop="auth", userhash=False, opaque=True, nonce_uses=0, stale_first=False,
                 offer=("digest",), one_header=False, accept=None,
                 close_after_407=False, chunked_407=False, body_407=b"<html>proxy auth required</html>\n",
                 charset=False, then="relay", forward=False, host="127.0.0.1", port=0):
        self.user, self.password, self.realm = user, password, realm
        self.algorithm, self.qop, self.userhash = algorithm, qop, userhash
        self.opaque = secrets.token_urlsafe(12) if opaque else None
        self.nonce_uses = nonce_uses      # 0: a nonce is valid forever
        self.stale_first = stale_first    # the first right answer gets stale=true (nonce rotated)
        self.offer = list(offer)
        self.one_header = one_header
        if accept is None:  # what we offer, of what we can check
            accept = [o for o in self.offer if o.lower() in ("digest", "basic")]
        self.accept = set(a.lower() for a in accept)
        self.close_after_407 = close_after_407
        self.chunked_407 = chunked_407
        self.body_407 = body_407
        self.then = then
        self.forward = forward              # plain requests (GET http://...) are answered too
        self.charset = charset              # charset=UTF-8 in the challenge (RFC 7616 §3.4)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.conns = []
        self.nonces = {}                  # nonce -> {"uses": n, "nc": last nc, "valid": bool}
        self.nonce = self._new_nonce()
        self.authorized = []              # (scheme, params) of every accepted request
        self.rejected = []                # (reason, header value)
        super().__init__(host, port)

    # ------------------------------------------------------------ helpers
    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def url_with(self, userinfo):
        return f"http://{userinfo}@{self.host}:{self.port}"

    def _new_nonce(self):
        n = secrets.token_urlsafe(24)
        self.nonces[n] = {"uses": 0, "nc": 0, "valid": True}
        return n

    def statuses(self):
        with self.lock:
            return [list(c.statuses) for c in self.conns]

    def count(self, status):
        with self.lock:
            return sum(c.count(status) for c in self.conns)

    def requests(self):
        with self.lock:
            return [r for c in self.conns for r in c.requests]

    def wait_status(self, status, n=1, timeout=10.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: sum(c.count(status) for c in self.conns) >= n, timeout)
            assert ok, f"authproxy answered {status} fewer than {n} times: {[c.statuses for c in self.conns]}"

    def digest_challenge(self, stale=False):
        parts = [f'realm="{self.realm}"']
        if self.qop:
            parts.append(f'qop="{self.qop}"')
        parts.append(f"algorithm={self.algorithm}")
        parts.append(f'nonce="{self.nonce}"')
        if self.opaque:
            parts.append(f'opaque="{self.opaque}"')
        if self.charset:
            parts.append("charset=UTF-8")
        if self.userhash:
            parts.append("userhash=true")
        if stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)

    def challenges(self, stale=False):
        out = []
        for o in self.offer:
            if o.lower() == "digest":
                out.append(self.digest_challenge(stale))
            elif o.lower() == "basic":
                out.append(f'Basic realm="{self.realm}"')
            else:
                out.append(o)
        return out

    # ------------------------------------------------------------ checking credentials
    def _check(self, req):
        """Returns ('ok', scheme) / ('stale', None) / ('no', reason)."""
        vals = req.header("Proxy-Authorization")
        if not vals:
            return "no", "no credentials"
        value = vals[0]
        scheme, _, rest = value.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and "basic" in self.accept:
            try:
                dec = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except Exception:
                return "no", "bad basic token"
            if dec == f"{self.user}:{self.password}":
                return "ok", "basic"
            return "no", "wrong basic credentials"
        if scheme == "digest" and "digest" in self.accept:
            return self._check_digest(req, parse_auth_params(rest))
        return "no", f"scheme {scheme} not accepted"

    def _check_digest(self, req, p):
        alg = p.get("algorithm", "MD5")
        if alg.lower() != self.algorithm.lower():
            return "no", f"algorithm {alg}"
        if p.get("realm") != self.realm:
            return "no", "realm"
        if self.opaque and p.get("opaque") != self.opaque:
            return "no", "opaque"
        uri = req.line.split(" ")[1]
        if p.get("uri") != uri:
            return "no", f"uri {p.get('uri')!r} != {uri!r}"
        if self.userhash:
            if p.get("userhash", "").lower() != "true" or p.get("username") != H(self.algorithm, f"{self.user}:{self.realm}"):
                return "no", "userhash"
        elif (p["username"] if "username" in p else ext_value(p.get("username*", ""))) != self.user:
            return "no", "username"
        if self.qop:
            if p.get("qop") != "auth" or not re.fullmatch(r"[0-9a-fA-F]{8}", p.get("nc", "")) or not p.get("cnonce"):
                return "no", "qop/nc/cnonce"
        nonce = p.get("nonce")
        want = digest_response(self.algorithm, self.user, self.realm, self.password, req.line.split(" ")[0],
                               uri, nonce, p.get("nc"), p.get("cnonce"), self.qop)
        if p.get("response", "").lower() != want:
            return "no", "wrong response"
        st = self.nonces.get(nonce)
        if st is None:
            return "no", "unknown nonce"
        if not st["valid"]:
            return "stale", None
        if self.qop:
            nc = int(p["nc"], 16)
            if nc <= st["nc"]:
                return "no", f"nc {nc} replayed (last {st['nc']})"
            st["nc"] = nc
        if self.stale_first:
            self.stale_first = False
            st["valid"] = False
            self.nonce = self._new_nonce()
            return "stale", None
        st["uses"] += 1
        if self.nonce_uses and st["uses"] >= self.nonce_uses:
            st["valid"] = False
            self.nonce = self._new_nonce()
        return "ok", "digest"

    # ------------------------------------------------------------ the connection
    def _read_request(self, conn, buf):
        while b"\r\n\r\n" not in buf:
            if len(buf) > HEADER_LIMIT:
                return None, b""
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                return None, buf
            buf += data
        end = buf.find(b"\r\n\r\n") + 4
        return Request(buf[:end], conn.getpeername(), True), buf[end:]

    def _send_407(self, conn, stale):
        head = "HTTP/1.1 407 Proxy Authentication Required\r\n"
        chs = self.challenges(stale)
        if self.one_header:
            head += "Proxy-Authenticate: " + ", ".join(chs) + "\r\n"
        else:
            head += "".join(f"Proxy-Authenticate: {c}\r\n" for c in chs)
        head += "Content-Type: text/html\r\n"
        if self.close_after_407:
            head += "Connection: close\r\n"
        else:
            head += "Proxy-Connection: keep-alive\r\n"
        body = self.body_407
        if self.chunked_407:
            head += "Transfer-Encoding: chunked\r\n"
            chunks = b""
            for i in range(0, len(body), 7):  # small chunks, with an extension on one
                piece = body[i:i + 7]
                ext = b";x=1" if i == 0 else b""
                chunks += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
            body = chunks + b"0\r\n\r\n"
        else:
            head += f"Content-Length: {len(body)}\r\n"
        conn.sendall(head.encode() + b"\r\n" + body)

    def handle(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rec = Conn(conn.getpeername())
        with self.cond:
            self.conns.append(rec)
            self.cond.notify_all()
        buf = b""
        while True:
            req, buf = self._read_request(conn, buf)
            if req is None:
                return
            with self.cond:
                rec.requests.append(req)
                verdict, why = self._check(req)
                if verdict == "ok":
                    self.authorized.append((why, req.header("Proxy-Authorization")))
                elif req.header("Proxy-Authorization"):
                    self.rejected.append((why or "stale", req.header("Proxy-Authorization")[0]))
                rec.statuses.append(200 if verdict == "ok" else 407)
                self.cond.notify_all()
            if not req.line.startswith("CONNECT ") and (verdict == "ok" or not self.forward):
                if verdict == "ok":  # a forwarded request: a canned answer naming it
                    body = ("proxied " + req.line.split(" ")[1]).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                else:
                    conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if verdict == "ok":
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                ctx = Ctx(self, conn, req, buf)
                (_relay if self.then == "relay" else _echo)(ctx, buf)
                return
            self._send_407(conn, verdict == "stale")
            if self.close_after_407:
                try:
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
