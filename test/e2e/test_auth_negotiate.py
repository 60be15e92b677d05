"""Negotiate (Kerberos through SPNEGO, RFC 4559) to a real squid, with a real KDC.

A realm of our own (kdc.py: krb5kdc on a free loopback port, everything in a temp dir) and
squid checking tokens with negotiate_kerberos_auth and the realm's HTTP/localhost key.  The
fixture is proven with curl alone first (a ticket gets through, no ticket or an expired one
gets 407, a wrong password gets no ticket); then socks2http, given `-x http://localhost:P`
and no credentials at all, must make its token from the ticket cache in KRB5CCNAME."""

import os
import shutil
import socket
import tempfile
import threading
import time

import pytest

import kdc as kdc_mod
import procs
import upstreams
from clients import curl
from daemon import clean_env
from socksclient import recv_until_eof, socks5_open

SQUID_HELPER = "/usr/lib/squid/negotiate_kerberos_auth"


def _missing():
    why = kdc_mod.available()
    if why:
        return why
    if not upstreams.have("squid"):
        return "squid is not installed"
    if not os.access(SQUID_HELPER, os.X_OK):
        return f"{SQUID_HELPER} is missing (squid's Kerberos helper)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


class Realm:
    def __init__(self, kdc, squid, ccache, expired, nocache):
        self.kdc, self.squid = kdc, squid
        self.ccache, self.expired, self.nocache = ccache, expired, nocache

    @property
    def proxy(self):
        # the service principal is HTTP/localhost: the proxy must be named so
        return f"http://localhost:{self.squid.port}"

    def env(self, ccache, **extra):
        """A client's environment: the realm's krb5.conf and this ticket cache, no keytab."""
        e = self.kdc.env(ccache, base=clean_env(**extra))
        e.pop("KRB5_KTNAME", None)
        return e


@pytest.fixture(scope="module")
def realm():
    base = tempfile.mkdtemp(prefix="socks2http-e2e-krb-")
    os.chmod(base, 0o755)  # squid's user reads its own dir and the realm's krb5.conf
    k = kdc_mod.start(os.path.join(base, "realm"))
    sq = None
    try:
        sq = kdc_mod.start_squid_negotiate(k, os.path.join(base, "squid"))
        cc = os.path.join(base, "alice.ccache")
        k.kinit(cc)
        old = os.path.join(base, "expired.ccache")
        k.kinit(old, lifetime="1s")
        assert kdc_mod.wait_expired(k, old), "a 1 s ticket did not expire"
        yield Realm(k, sq, cc, old, os.path.join(base, "nothing.ccache"))
    finally:
        if sq:
            sq.stop()
        k.stop()
        shutil.rmtree(base, ignore_errors=True)


def _curl_connect_code(realm, ccache, url):
    r = curl("--proxy-negotiate", "-U", ":", "-x", realm.proxy, "--proxytunnel",
             "-o", "/dev/null", "-w", "%{http_connect} %{http_code}", url, env=realm.env(ccache))
    return r.stdout.decode().split()[0], r


# ---------------------------------------------------------------- the fixture, curl alone

def test_fixture_curl_with_ticket(realm, origin):
    r = curl("--proxy-negotiate", "-U", ":", "-x", realm.proxy, "--proxytunnel", origin.url(),
             env=realm.env(realm.ccache))
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    # the service ticket squid accepted is now in the cache
    assert b"HTTP/localhost@" + kdc_mod.REALM.encode() in realm.kdc.klist(realm.ccache).stdout


def test_fixture_curl_without_ticket_407(realm, origin):
    code, r = _curl_connect_code(realm, realm.nocache, origin.url())
    assert code == "407", (r.stdout, r.stderr)


def test_fixture_curl_expired_ticket_407(realm, origin):
    code, r = _curl_connect_code(realm, realm.expired, origin.url())
    assert code == "407", (r.stdout, r.stderr)


def test_fixture_wrong_password_gets_no_ticket(realm, tmp):
    with pytest.raises(RuntimeError, match="(?i)password|preauth"):
        realm.kdc.kinit(os.path.join(tmp, "bad.ccache"), password="not-the-password")


def test_unit_negotiate_inside_the_realm(realm, binary):
    """test/unit/test_negotiate's KDC half (a real token, an unknown service, an expired
    ticket), next to the binary under test when it was built in a tree that has it."""
    unit = os.path.join(os.path.dirname(os.path.dirname(binary)), "test", "unit", "test_negotiate")
    if not os.access(unit, os.X_OK):
        pytest.skip(f"{unit} not built")
    env = realm.env(realm.ccache)
    env["NEGOTIATE_TEST_CCACHE"] = "FILE:" + realm.ccache
    env["NEGOTIATE_TEST_EXPIRED_CCACHE"] = "FILE:" + realm.expired
    r = procs.run([unit], timeout=60, env=env)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    assert "token for HTTP@localhost" in out


# ---------------------------------------------------------------- socks2http

def _daemon(socks2http, realm, tmp, ccache):
    return socks2http("-x", realm.proxy, env=realm.env(ccache, XDG_RUNTIME_DIR=tmp))


def test_with_ticket(socks2http, realm, origin, tmp):
    d = _daemon(socks2http, realm, tmp, realm.ccache)
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url())
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    t = d.wait_tunnel()
    assert t["auth"] == "negotiate", t
    assert t["reply"] == "0x00", t
    # no password anywhere: not given, so not logged either
    assert kdc_mod.USER_PASS not in d.log()
    assert not any(kdc_mod.USER_PASS in a for a in d.argv)


def _refused(socks2http, realm, origin, tmp, ccache):
    d = _daemon(socks2http, realm, tmp, ccache)
    s, rep = socks5_open(d.port, "127.0.0.1", origin.port, timeout=15)
    assert recv_until_eof(s, 10) == b""
    s.close()
    assert rep.rep == 0x02, rep
    t = d.wait_tunnel()
    assert t["reply"] == "0x02", t
    d.wait_line(r"kinit")
    return d


def test_no_ticket(socks2http, realm, origin, tmp):
    d = _refused(socks2http, realm, origin, tmp, realm.nocache)
    d.wait_line(r"(?i)no Kerberos ticket")


def test_expired_ticket(socks2http, realm, origin, tmp):
    d = _refused(socks2http, realm, origin, tmp, realm.expired)
    d.wait_line(r"(?i)expired")


def _black_hole():
    """A KDC that accepts and never answers (a VPN not up yet, a firewall dropping replies):
    returns the port and a stop function."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(128)
    hole.settimeout(0.2)
    held, stop = [], threading.Event()

    def accept_forever():
        while not stop.is_set():
            try:
                held.append(hole.accept()[0])
            except OSError:
                pass
    th = threading.Thread(target=accept_forever, daemon=True)
    th.start()

    def close():
        stop.set()
        th.join(2)
        for c in held:
            c.close()
        hole.close()
    return hole.getsockname()[1], close


def test_kdc_back_after_outage(socks2http, realm, origin, tmp):
    """Tunnels made while the KDC is silent are cancelled by --reply-timeout, but their threads
    stay inside krb5 (about 25 s on a silent KDC, with no per-request timeout in MIT krb5 1.20).
    Once the KDC answers again, a new tunnel must get its token at once: it used to queue
    behind the 8 abandoned threads and fail "no token within Ns"."""
    hole_port, close_hole = _black_hole()
    good_conf = open(realm.kdc.krb5_conf).read()
    conf = os.path.join(tmp, "krb5.conf")
    with open(conf, "w") as f:
        f.write(good_conf.replace(f"127.0.0.1:{realm.kdc.port}", f"127.0.0.1:{hole_port}"))
    cc = os.path.join(tmp, "fresh.ccache")  # a TGT, no service ticket yet: krb5 asks the KDC
    realm.kdc.kinit(cc)
    env = realm.env(cc, XDG_RUNTIME_DIR=tmp)
    env["KRB5_CONFIG"] = conf
    d = socks2http("-x", realm.proxy, "--reply-timeout", "2", env=env)
    try:
        # 9 tunnels during the outage (8 threads' worth and one queued): each refused
        res = []
        ths = [threading.Thread(target=lambda: res.append(socks5_open(d.port, "127.0.0.1", origin.port,
                                                                      timeout=15)))
               for _ in range(9)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(20)
        assert len(res) == 9 and all(rep.rep != 0 for s, rep in res), res
        for s, rep in res:
            s.close()
        # the KDC answers again; krb5's profile notices a changed file after 1 s
        time.sleep(1.2)
        with open(conf, "w") as f:
            f.write(good_conf)
        time.sleep(1.2)
        t0 = time.monotonic()
        s, rep = socks5_open(d.port, "127.0.0.1", origin.port, timeout=15)
        took = time.monotonic() - t0
        s.close()
        assert rep.rep == 0, f"refused ({rep!r}) after {took:.1f}s though the KDC answers;\n" + d.log()[-3000:]
        assert d.wait_tunnel(reply="0x00")["auth"] == "negotiate"
    finally:
        close_hole()
