"""Several schemes offered at once: squid with NTLM + Digest + Basic (three fields), and
AuthProxy offering Negotiate, NTLM, Digest and Basic in one field value or several, with
--proxy-auth choosing among them; round trips counted; 407s that close or are chunked.

test_fixture_*: the fixtures proved alone with curl."""

import pytest

import daemon
from authupstreams import socks5_code, via
from clients import curl

USER = "mix-user"
PASS = "Mx-pass_3"
DECOYS = ("Negotiate", "NTLM")  # offered, never accepted by AuthProxy

pytest_plugins = ("authupstreams",)  # its fixtures: squid_tls, authproxy, ...


def sent_schemes(p):
    """The scheme of every Proxy-Authorization the proxy received, in order."""
    return [v.split(" ", 1)[0].lower() for req in p.requests() for v in req.header("Proxy-Authorization")]


# ---------------------------------------------------------------- fixtures, alone

def test_fixture_squid_multi_curl(squid_multi, origin):
    base = ["--proxy", f"http://127.0.0.1:{squid_multi.port}", "--proxytunnel",
            "--proxy-user", f"{squid_multi.user}:{squid_multi.password}"]
    for flag in ("--proxy-ntlm", "--proxy-digest", "--proxy-basic", "--proxy-anyauth"):
        r = curl(*base, flag, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (flag, r.stderr)
    r = curl("--proxy", f"http://127.0.0.1:{squid_multi.port}", "--proxytunnel", "-v", origin.url())
    offered = [line for line in r.stderr.decode().splitlines() if "Proxy-Authenticate:" in line]
    assert len(offered) == 3 and any("NTLM" in x for x in offered) and any("Digest" in x for x in offered) \
        and any("Basic" in x for x in offered), offered
    r = curl("--proxy", f"http://127.0.0.1:{squid_multi.port}", "--proxytunnel", "--proxy-ntlm",
             "--proxy-user", f"{squid_multi.user}:wrong", origin.url())
    assert r.returncode != 0


@pytest.mark.parametrize("one_header", [False, True])
def test_fixture_authproxy_several_challenges_curl(authproxy, origin, one_header):
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256", offer=DECOYS + ("digest", "basic"),
                  one_header=one_header, chunked_407=True)
    base = ["--proxy", p.url, "--proxytunnel", "--proxy-user", f"{USER}:{PASS}"]
    r = curl(*base, "--proxy-digest", origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    r = curl(*base, "--proxy-basic", origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert p.statuses() == [[407, 200], [200]]  # curl sends Basic pre-emptively
    r = curl(*base, "--proxy-ntlm", origin.url())
    assert r.returncode != 0  # NTLM is a decoy here
    r = curl("--proxy", p.url, "--proxytunnel", "-v", origin.url())
    fields = [line for line in r.stderr.decode().splitlines() if "Proxy-Authenticate:" in line]
    assert len(fields) == (1 if one_header else 4), fields


# ---------------------------------------------------------------- socks2http with squid

def test_squid_multi_default_prefers_stronger(socks2http, squid_multi, origin):
    d = socks2http("-x", squid_multi.url)
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert d.wait_tunnel()["auth"] in ("ntlm", "digest")


@pytest.mark.parametrize("scheme", ["ntlm", "digest", "basic"])
def test_squid_multi_proxy_auth_picks(socks2http, squid_multi, origin, scheme):
    d = socks2http("-x", squid_multi.url, "--proxy-auth", scheme)
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    ts = d.wait_tunnels(2)
    assert all(t["auth"] == scheme for t in ts), ts


def test_squid_multi_list_order_irrelevant(socks2http, squid_multi, origin):
    d = socks2http("-x", squid_multi.url, "--proxy-auth", "basic,digest")
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert d.wait_tunnel()["auth"] in ("digest", "basic")


def test_proxy_auth_rejects_unknown_name(binary):
    r = daemon.run_cli(binary, ["-l", "127.0.0.1:0", "-x", "http://127.0.0.1:1", "--proxy-auth", "kerberos5"])
    assert r.returncode != 0 and b"kerberos5" in r.stderr, r.stderr


# ---------------------------------------------------------------- socks2http with AuthProxy

@pytest.mark.parametrize("one_header", [False, True])
def test_offered_together_digest_chosen(socks2http, authproxy, origin, one_header):
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256", offer=DECOYS + ("digest", "basic"),
                  one_header=one_header, accept=("digest",))
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"), "--proxy-auth", "digest,basic")
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    ts = d.wait_tunnels(2)
    assert all(t["auth"] == "digest" for t in ts), ts
    assert p.count(407) == 1, p.statuses()   # the second tunnel answers at once
    assert p.statuses()[1] == [200]


@pytest.mark.parametrize("one_header", [False, True])
def test_offered_together_basic_only(socks2http, authproxy, origin, one_header):
    p = authproxy(user=USER, password=PASS, offer=("Negotiate", "NTLM", "basic"), one_header=one_header,
                  chunked_407=True)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"), "--proxy-auth", "basic")
    for _ in range(2):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    ts = d.wait_tunnels(2)
    assert all(t["auth"] == "basic" for t in ts), ts
    assert p.count(407) <= 1 and p.statuses()[-1] == [200], p.statuses()
    assert set(sent_schemes(p)) == {"basic"}


def test_basic_second_tunnel_has_no_407(socks2http, authproxy, origin):
    p = authproxy(user=USER, password=PASS, offer=("basic",))
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"))
    for _ in range(3):
        r = via(d, origin.url())
        assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    assert all(t["auth"] == "basic" for t in d.wait_tunnels(3))
    st = p.statuses()
    assert st[1:] == [[200], [200]] and p.count(407) <= 1, st


@pytest.mark.parametrize("chunked", [False, True])
def test_close_after_407_with_several_challenges(socks2http, authproxy, origin, chunked):
    p = authproxy(user=USER, password=PASS, algorithm="MD5-sess", offer=DECOYS + ("digest",),
                  close_after_407=True, chunked_407=chunked)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"), "--proxy-auth", "digest")
    r = via(d, origin.url())
    assert r.returncode == 0 and r.stdout == origin.body, (r.stderr, p.rejected)
    assert p.statuses() == [[407], [200]]
    assert d.wait_tunnel()["auth"] == "digest"


def test_only_decoys_offered_is_02(socks2http, authproxy, origin, tmp):
    """Negotiate (no Kerberos ticket here) and NTLM (refused by this proxy): no tunnel, 0x02,
    and a bounded number of tries."""
    p = authproxy(user=USER, password=PASS, offer=DECOYS)
    env = daemon.clean_env(XDG_RUNTIME_DIR=tmp, KRB5CCNAME=f"FILE:{tmp}/no-such-ccache")
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"), env=env)
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    assert d.wait_tunnel()["reply"] == "0x02"
    assert len(p.requests()) <= 4, p.statuses()


def test_plain_proxy_summary_says_no_tls_no_auth(socks2http, tinyproxy, origin):
    d = socks2http("-x", tinyproxy.url)
    r = via(d, origin.url())
    assert r.returncode == 0, r.stderr
    t = d.wait_tunnel()
    assert t["tls"] == "no" and t["auth"] == "none", t


def test_plain_proxy_basic_summary(socks2http, tinyproxy_auth, origin):
    d = socks2http("-x", tinyproxy_auth.url)
    r = via(d, origin.url())
    assert r.returncode == 0, r.stderr
    assert d.wait_tunnel()["auth"] == "basic"


# ---------------------------------------------------------------- forwarded plain-http requests

def http_get(d, url):
    """curl through the bridge as an HTTP proxy client: (returncode, body)."""
    r = curl("--proxy", f"http://127.0.0.1:{d.port}", url)
    return r.returncode, r.stdout


def test_forwarded_request_no_basic_to_digest_proxy(socks2http, authproxy, origin):
    """A proxy that offers Digest only never gets the password in cleartext from a
    forwarded request: Basic goes only once the proxy asked for Basic.  Before its first
    407 the scheme is unknown, so the request goes without credentials, and the 407
    (which a forwarded request cannot answer with Digest) reaches the client."""
    p = authproxy(user=USER, password=PASS, algorithm="SHA-256", forward=True)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"))
    for _ in range(2):
        code, _ = http_get(d, origin.url())
        assert code == 0
    assert sent_schemes(p) == [], p.requests()
    assert [t["http"] for t in d.wait_tunnels(2)] == ["407", "407"]


@pytest.mark.parametrize("offer", [("basic",), DECOYS + ("basic",)], ids=["basic", "decoys-and-basic"])
def test_forwarded_request_learns_basic(socks2http, authproxy, origin, offer):
    """A proxy that takes Basic (and offers schemes we cannot answer on a forwarded
    request before it): the very first forwarded GET succeeds, after one 407 round the
    client never sees (the request goes again on a new connection, with Basic); the next
    GET carries Basic at once."""
    p = authproxy(user=USER, password=PASS, offer=offer, accept=("basic",), forward=True)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"), "--proxy-auth", "basic")
    url = origin.url()
    assert http_get(d, url) == (0, b"proxied " + url.encode())
    assert p.statuses() == [[407], [200]]
    assert http_get(d, url) == (0, b"proxied " + url.encode())
    assert p.statuses() == [[407], [200], [200]]
    assert sent_schemes(p) == ["basic", "basic"]
    assert [(t["reason"], t["auth"]) for t in d.wait_tunnels(2)] == [("done", "basic")] * 2


def test_forwarded_post_to_unknown_proxy_goes_without(socks2http, authproxy, origin):
    """A request with a body cannot be sent again: to a proxy whose scheme is not known it
    goes without credentials and its 407 reaches the client; the scheme is learned all
    the same, so the next request carries Basic at once."""
    p = authproxy(user=USER, password=PASS, offer=("basic",), forward=True)
    d = socks2http("-x", p.url_with(f"{USER}:{PASS}"))
    r = curl("--proxy", f"http://127.0.0.1:{d.port}", "--data", "x=1", "-o", "/dev/null", "-w", "%{http_code}",
             origin.url())
    assert r.stdout == b"407"
    assert sent_schemes(p) == []
    assert http_get(d, origin.url())[0] == 0
    assert sent_schemes(p) == ["basic"]
    assert p.statuses() == [[407], [200]]
