"""Digest authentication to the proxy (RFC 7616): squid's digest_file_auth (MD5, qop=auth)
and the scripted AuthProxy (SHA-256, -sess, userhash, stale nonces, nc counting, 407s
that close or come chunked), end to end with curl through socks2http.

test_fixture_*: the fixtures proved alone (RFC 7616 §3.9.1 example, curl --proxy-digest)."""

import socket

import pytest

from authproxy import AuthProxy, digest_response, parse_auth_params
from authupstreams import socks5_code, via
from clients import curl

USER = "dig-user"
PASS = "Dg pass,\"quoted\"_1"  # a space, a comma and quotes: all must survive
PASS_URL = "Dg%20pass%2C%22quoted%22_1"
ALGORITHMS = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"]

pytest_plugins = ("authupstreams",)  # its fixtures: squid_tls, authproxy, ...


def digest_rejections(p):
    """The Digest answers the proxy turned down (reason, header value)."""
    return [r for r in p.rejected if r[1].lower().startswith("digest")]


def direct_curl(p, origin, *extra, user=USER, password=PASS):
    return curl("--proxy", p.url, "--proxytunnel", "--proxy-user", f"{user}:{password}", *extra, origin.url())


# ---------------------------------------------------------------- fixtures, alone

def test_fixture_rfc7616_example():
    """RFC 7616 §3.9.1: the MD5 and SHA-256 responses of its example."""
    a = dict(user="Mufasa", realm="http-auth@example.org", password="Circle of Life", method="GET",
             uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
             cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth")
    assert digest_response("MD5", **a) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response("SHA-256", **a) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_fixture_parse_auth_params():
    p = parse_auth_params('username="a\\"b", realm="r, s", nc=00000001, qop=auth,, algorithm=SHA-256')
    assert p == {"username": 'a"b', "realm": "r, s", "nc": "00000001", "qop": "auth", "algorithm": "SHA-256"}


def test_fixture_squid_digest_curl(squid_digest, origin):
    r = curl(*squid_digest.curl_proxy_args(), origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    r = curl(*squid_digest.curl_proxy_args(password="wrong"), origin.url())
    assert r.returncode != 0 and b"407" in r.stderr
    r = curl("--proxy", f"http://127.0.0.1:{squid_digest.port}", "--proxytunnel", "--proxy-basic",
             "--proxy-user", f"{squid_digest.user}:{squid_digest.password}", origin.url())
    assert r.returncode != 0 and b"407" in r.stderr  # Digest only


@pytest.mark.parametrize("userhash", [False, True])
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_fixture_authproxy_curl(authproxy, origin, alg, userhash):
    p = authproxy(user=USER, password=PASS, algorithm=alg, userhash=userhash)
    r = direct_curl(p, origin, "--proxy-digest")
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407, 200]]
    r = direct_curl(p, origin, "--proxy-digest", password="wrong")
    assert r.returncode != 0 and p.statuses()[1] == [407, 407]
    assert p.rejected[-1][0] == "wrong response"


def test_fixture_authproxy_rfc2069_curl(authproxy, origin):
    p = authproxy(user=USER, password=PASS, qop=None)
    r = direct_curl(p, origin, "--proxy-digest")
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)


def test_fixture_authproxy_close_after_407_chunked_curl(authproxy, origin):
    p = authproxy(user=USER, password=PASS, close_after_407=True, chunked_407=True)
    r = direct_curl(p, origin, "--proxy-digest")
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407], [200]]


def test_fixture_authproxy_chunked_keepalive_curl(authproxy, origin):
    p = authproxy(user=USER, password=PASS, chunked_407=True, body_407=b"x" * 5000)
    r = direct_curl(p, origin, "--proxy-digest")
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407, 200]]


def test_fixture_authproxy_stale_curl(authproxy, origin):
    p = authproxy(user=USER, password=PASS, stale_first=True)
    r = direct_curl(p, origin, "--proxy-digest")
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407, 407, 200]]
    assert [x[0] for x in p.rejected] == ["stale"]


def test_fixture_authproxy_username_star(authproxy):
    user = "Jäsøn Doe"
    p = authproxy(user=user, password=PASS, algorithm="SHA-256", charset=True, then="echo")
    ch = _challenge(_raw_connect(p))
    assert "charset=UTF-8" in ch
    c = parse_auth_params(ch.split(" ", 1)[1])
    resp = digest_response("SHA-256", user, c["realm"], PASS, "CONNECT", "127.0.0.1:9", c["nonce"], "00000001",
                           "abc", "auth")
    auth = (f"Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"{c['realm']}\", nonce=\"{c['nonce']}\", "
            f"uri=\"127.0.0.1:9\", algorithm=SHA-256, response=\"{resp}\", qop=auth, nc=00000001, cnonce=\"abc\", "
            f"opaque=\"{c['opaque']}\"")
    assert _raw_connect(p, auth).startswith(b"HTTP/1.1 200"), p.rejected


def _raw_connect(p, auth=None):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    head = "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
    if auth:
        head += f"Proxy-Authorization: {auth}\r\n"
    s.sendall((head + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def _answer(p, challenge, nc, cnonce="0a4f113b"):
    c = parse_auth_params(challenge.split(" ", 1)[1])
    resp = digest_response(p.algorithm, USER, c["realm"], PASS, "CONNECT", "127.0.0.1:9", c["nonce"],
                           f"{nc:08x}", cnonce, "auth")
    return (f'Digest username="{USER}", realm="{c["realm"]}", nonce="{c["nonce"]}", uri="127.0.0.1:9", '
            f'algorithm={p.algorithm}, response="{resp}", qop=auth, nc={nc:08x}, cnonce="{cnonce}", '
            f'opaque="{c["opaque"]}"')


def _challenge(head):
    for line in head.decode().split("\r\n"):
        if line.lower().startswith("proxy-authenticate: digest"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(head)


def test_fixture_authproxy_counts_nc_and_rotates_nonces(authproxy):
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256", nonce_uses=2, then="echo")
    ch = _challenge(_raw_connect(p))
    assert _raw_connect(p, _answer(p, ch, 1)).startswith(b"HTTP/1.1 200")
    # the same nc again is a replay
    assert _raw_connect(p, _answer(p, ch, 1)).startswith(b"HTTP/1.1 407")
    assert p.rejected[-1][0].startswith("nc 1 replayed")
    assert _raw_connect(p, _answer(p, ch, 2)).startswith(b"HTTP/1.1 200")
    # two uses: the nonce is spent, the answer is stale=true with a new one
    head = _raw_connect(p, _answer(p, ch, 3))
    assert head.startswith(b"HTTP/1.1 407")
    ch2 = _challenge(head)
    assert "stale=true" in ch2 and parse_auth_params(ch2.split(" ", 1)[1])["nonce"] != \
        parse_auth_params(ch.split(" ", 1)[1])["nonce"]
    assert _raw_connect(p, _answer(p, ch2, 1)).startswith(b"HTTP/1.1 200")


# ---------------------------------------------------------------- socks2http with squid

def test_squid_digest(socks2http, squid_digest, origin):
    d = socks2http("-x", squid_digest.url)
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    ts = d.wait_tunnels(2)
    assert all(t["auth"] == "digest" and t["http"] == "200" for t in ts), ts
    assert squid_digest.password not in d.log()


def test_squid_digest_wrong_password_is_02(socks2http, squid_digest, origin):
    d = socks2http("-x", squid_digest.url_for(password="not-it"))
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    t = d.wait_tunnel()
    assert t["http"] == "407" and t["reply"] == "0x02"
    d.wait_line(r"rejected our credentials")
    assert "not-it" not in d.log()


def test_squid_digest_not_allowed_is_02(socks2http, squid_digest, origin):
    """--proxy-auth basic: the proxy only offers Digest, which we may not use."""
    d = socks2http("-x", squid_digest.url, "--proxy-auth", "basic")
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    assert d.wait_tunnel()["http"] == "407"


# ---------------------------------------------------------------- socks2http with AuthProxy

@pytest.mark.parametrize("userhash", [False, True])
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_digest_algorithms(socks2http, authproxy, origin, alg, userhash):
    p = authproxy(user=USER, password=PASS, algorithm=alg, userhash=userhash)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert d.wait_tunnel()["auth"] == "digest"
    assert digest_rejections(p) == []


@pytest.mark.parametrize("userhash", [False, True])
def test_digest_non_ascii_user(socks2http, authproxy, origin, userhash):
    """A UTF-8 user name: username*=UTF-8''... (RFC 8187), or hashed with userhash."""
    p = authproxy(user="Jäsøn Doe", password="Secret, or not?", algorithm="SHA-256", charset=True,
                  userhash=userhash)
    d = socks2http("-x", p.url_with("J%C3%A4s%C3%B8n%20Doe:Secret%2C%20or%20not%3F"))
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert d.wait_tunnel()["auth"] == "digest"


def test_digest_rfc2069(socks2http, authproxy, origin):
    p = authproxy(user=USER, password=PASS, qop=None)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)


def test_digest_second_tunnel_has_no_407(socks2http, authproxy, origin):
    """The first tunnel learns the challenge; later ones answer it in their first request,
    with a growing nc (the proxy rejects a repeated one)."""
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256")
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    for _ in range(3):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    d.wait_tunnels(3)
    st = p.statuses()
    assert st[0] in ([407, 200], [200]), st
    assert all(s == [200] for s in st[1:]), st
    assert p.count(407) <= 1 and digest_rejections(p) == []
    ncs = [int(parse_auth_params(v[0].split(" ", 1)[1])["nc"], 16) for _, v in p.authorized]
    assert ncs == sorted(ncs) and len(set(ncs)) == len(ncs), ncs


def test_digest_stale_nonce_is_renewed(socks2http, authproxy, origin):
    """Every nonce serves one tunnel: the next answer is 407 stale=true with a new nonce,
    which socks2http answers on the same connection without failing the tunnel."""
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256-sess", nonce_uses=1)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    for _ in range(3):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    ts = d.wait_tunnels(3)
    assert all(t["auth"] == "digest" and t["http"] == "200" for t in ts), ts
    st = p.statuses()
    assert all(s[-1] == 200 and len(s) <= 2 for s in st), st  # at most one 407 (stale) each
    assert {x[0] for x in digest_rejections(p)} <= {"stale"}, p.rejected
    assert "rejected our credentials" not in d.log()


def test_digest_wrong_password_is_02(socks2http, authproxy, origin):
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256")
    d = socks2http("-x", p.url_with(f"{USER}:wrong-one"))
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    d.wait_line(r"rejected our credentials")
    assert d.wait_tunnel()["reply"] == "0x02"
    # one try with credentials, no loop
    assert len(digest_rejections(p)) == 1, p.rejected


def test_digest_close_after_407(socks2http, authproxy, origin):
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256", close_after_407=True)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407], [200]]


@pytest.mark.parametrize("close", [False, True])
def test_digest_chunked_407(socks2http, authproxy, origin, close):
    p = authproxy(user=USER, password=PASS, chunked_407=True, close_after_407=close,
                  body_407=b"<p>" + b"y" * 20000 + b"</p>\n")
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == ([[407], [200]] if close else [[407, 200]])


def test_digest_without_credentials_is_02(socks2http, authproxy, origin):
    p = authproxy(user=USER, password=PASS)
    d = socks2http("-x", p.url)
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    t = d.wait_tunnel()
    assert t["http"] == "407" and t["auth"] == "none"


def test_digest_unknown_algorithm_is_02(socks2http, origin):
    """A challenge with only an algorithm we do not know: no answer is attempted."""
    p = AuthProxy(user=USER, password=PASS, offer=(
        'Digest realm="x", nonce="abc", qop="auth", algorithm=SHA3-256',), accept=("digest",))
    try:
        d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
        assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
        assert p.count(407) >= 1 and digest_rejections(p) == []
    finally:
        p.stop()


def test_no_cleartext_password_to_digest_proxy(socks2http, authproxy, origin):
    """A proxy that offers only Digest never sees our password in a Basic header (no
    pre-emptive Basic before the scheme is known)."""
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256")
    d = socks2http("-x", p.url_with(f"{USER}:{PASS_URL}"))
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    sent = [v for req in p.requests() for v in req.header("Proxy-Authorization")]
    assert sent and not [v for v in sent if v.lower().startswith("basic")], sent
