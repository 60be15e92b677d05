"""Real upstream proxies for the TLS and authentication tests, each in its own temp dir:

    make_cert(dir, names)          a P-256 key and self-signed certificate (openssl CLI)
    start_squid_tls(dir, cert)     squid with https_port (no auth)
    start_squid_digest(dir)        squid with digest_file_auth (MD5)
    start_squid_ntlm(dir)          squid with Samba's ntlm_auth checking one fixed password
    start_squid_multi(dir)         squid offering NTLM, Digest and Basic at once (same user)

and the pytest fixtures built on them (imported by the test modules that use them):
squid_tls, squid_digest, squid_ntlm, squid_multi (session-wide, each proved with curl
alone before any test uses it), proxy_cert, authproxy (factory), tls_front (factory).

ntlm_auth --helper-protocol=squid-2.5-ntlmssp --password=P runs without winbindd or a
domain: with --password it checks the NTLM(v2) response against that password itself
(any user name and domain).  It still reads an smb.conf, so we give it one in the temp
dir (--configfile) whose lock/state/cache/private/pid dirs are there too, owned by the
user squid runs its helpers as.

The test modules load the fixtures with `pytest_plugins = ("authupstreams",)`; they import
helpers from here as well, so assertion rewriting is off (PYTEST_DONT_REWRITE): no asserts here.
"""

import os
import shutil

import pytest

import procs
import upstreams
from authproxy import AuthProxy
from clients import curl
from socksclient import recv_until_eof, socks5_open
from tlsproxy import TlsFront

DIGEST_USER = "duser"
DIGEST_PASS = "Dg-s3cret_55"
DIGEST_REALM = "socks2http-digest"
NTLM_USER = "nuser"
NTLM_DOMAIN = "TESTDOM"
NTLM_PASS = "Nt-s3cret_66"


def via(d, url, *extra):
    """curl through the bridge d (SOCKS5, names resolved by the proxy)."""
    return curl("--proxy", f"socks5h://127.0.0.1:{d.port}", *extra, url)


def socks5_code(d, host, port):
    s, rep = socks5_open(d.port, host, port, timeout=15)
    assert recv_until_eof(s, 5) == b""
    s.close()
    return rep.rep



def make_cert(workdir, names=("localhost",), ips=("127.0.0.1",), cn="localhost", prefix="proxy"):
    """A P-256 key and a self-signed certificate with names/ips as subjectAltName.
    Returns (certfile, keyfile)."""
    os.makedirs(workdir, exist_ok=True)
    cert = os.path.join(workdir, f"{prefix}-cert.pem")
    key = os.path.join(workdir, f"{prefix}-key.pem")
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}"]
    if san:
        argv += ["-addext", f"subjectAltName={san}"]
    r = procs.run(argv, timeout=20)
    if r.returncode != 0:
        raise RuntimeError(f"openssl req failed: {r.stderr.decode(errors='replace')}")
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


class AuthUpstream(upstreams.Upstream):
    def __init__(self, name, proc, port, workdir, user=None, password=None, scheme="http",
                 cafile=None, auth=None, domain=None):
        super().__init__(name, proc, port, workdir, user, password)
        self.scheme = scheme
        self.cafile = cafile
        self.auth = auth  # None, "digest", "ntlm"
        self.domain = domain

    def url_for(self, host="127.0.0.1", user=None, password=None):
        """The -x URL; user/password default to the fixture's (already percent-encoded)."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        info = ""
        if user:
            info = user + (f":{password}" if password else "") + "@"
        return f"{self.scheme}://{info}{host}:{self.port}"

    @property
    def url(self):
        return self.url_for()

    def curl_proxy_args(self, host="127.0.0.1", user=None, password=None):
        args = ["--proxy", f"{self.scheme}://{host}:{self.port}", "--proxytunnel"]
        if self.cafile:
            args += ["--proxy-cacert", self.cafile]
        if self.auth == "digest":
            args.append("--proxy-digest")
        elif self.auth == "ntlm":
            args.append("--proxy-ntlm")
        u = self.user if user is None else user
        if u:
            p = self.password if password is None else password
            args += ["--proxy-user", f"{u}:{p}"]
        return args

    def access_log(self):
        try:
            with open(os.path.join(self.workdir, "access.log")) as f:
                return f.read()
        except OSError:
            return ""


def _squid_common(workdir, root):
    return ["visible_hostname localhost"] + upstreams.squid_common(workdir)


def _start_squid(workdir, name, make_lines, **kw):
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "squid.conf")
    root = os.geteuid() == 0

    def argv(port):
        lines = make_lines(port) + _squid_common(workdir, root)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        if root:
            upstreams._give_to(workdir, "proxy")
        return ["squid", "-N", "-f", conf]

    proc, port = procs.start_on_free_port(argv, os.path.join(workdir, "squid.out"), timeout=30)
    return AuthUpstream(name, proc, port, workdir, **kw)


def start_squid_tls(workdir, cert=None, key=None):
    """squid answering TLS on its port (Debian's squid is built with GnuTLS: tls-cert/tls-key),
    no authentication.  Without cert/key a localhost/127.0.0.1 certificate is made."""
    if cert is None:
        cert, key = make_cert(workdir)

    def lines(port):
        return [
            f"https_port 127.0.0.1:{port} tls-cert={cert} tls-key={key}",
            "acl CONNECT method CONNECT",
            "http_access allow localhost",
            "http_access deny all",
        ]

    return _start_squid(workdir, "squid-tls", lines, scheme="https", cafile=cert)


def start_squid_digest(workdir, user=DIGEST_USER, password=DIGEST_PASS):
    """squid demanding Digest (MD5, qop=auth) checked by digest_file_auth (plain-text file)."""
    os.makedirs(workdir, exist_ok=True)
    pwfile = os.path.join(workdir, "digest-passwd")
    with open(pwfile, "w") as f:
        f.write(f"{user}:{password}\n")
    os.chmod(pwfile, 0o600)

    def lines(port):
        return [
            f"http_port 127.0.0.1:{port}",
            f"auth_param digest program /usr/lib/squid/digest_file_auth {pwfile}",
            "auth_param digest children 2 startup=1 idle=1",
            f"auth_param digest realm {DIGEST_REALM}",
            "auth_param digest nonce_max_count 1000",
            "acl authed proxy_auth REQUIRED",
            "http_access allow authed",
            "http_access deny all",
        ]

    return _start_squid(workdir, "squid-digest", lines, user=user, password=password, auth="digest")


def ntlm_smb_conf(workdir):
    """An smb.conf for ntlm_auth with every directory it may touch inside workdir."""
    dirs = {}
    for d in ("lock", "state", "cache", "private", "pid", "ncalrpc", "winbindd"):
        path = os.path.join(workdir, "samba", d)
        os.makedirs(path, exist_ok=True)
        dirs[d] = path
    conf = os.path.join(workdir, "samba", "smb.conf")
    with open(conf, "w") as f:
        f.write("[global]\n"
                f"\tworkgroup = {NTLM_DOMAIN}\n"
                "\tnetbios name = S2HTEST\n"
                "\tserver role = standalone server\n"
                "\tntlm auth = ntlmv2-only\n"
                f"\tlock directory = {dirs['lock']}\n"
                f"\tstate directory = {dirs['state']}\n"
                f"\tcache directory = {dirs['cache']}\n"
                f"\tprivate dir = {dirs['private']}\n"
                f"\tpid directory = {dirs['pid']}\n"
                f"\tncalrpc dir = {dirs['ncalrpc']}\n"
                f"\twinbindd socket directory = {dirs['winbindd']}\n"
                f"\tlog file = {workdir}/samba/ntlm_auth.log\n")
    return conf


def start_squid_ntlm(workdir, password=NTLM_PASS, keep_alive=True):
    """squid demanding NTLM, checked by ntlm_auth against one password (any user/domain)."""
    os.makedirs(workdir, exist_ok=True)
    conf = ntlm_smb_conf(workdir)
    helper = (f"/usr/bin/ntlm_auth --configfile={conf} --helper-protocol=squid-2.5-ntlmssp "
              f"--password={password}")

    def lines(port):
        return [
            f"http_port 127.0.0.1:{port}",
            f"auth_param ntlm program {helper}",
            # stateful helpers, one per handshake in flight, all started with squid: on a minimal
            # Debian root one started on demand took 5 s to answer its first handshake
            "auth_param ntlm children 8 startup=8 idle=1",
            f"auth_param ntlm keep_alive {'on' if keep_alive else 'off'}",
            "acl authed proxy_auth REQUIRED",
            "http_access allow authed",
            "http_access deny all",
        ]

    return _start_squid(workdir, "squid-ntlm", lines, user=NTLM_USER, password=password,
                        auth="ntlm", domain=NTLM_DOMAIN)


def ntlm_auth_selftest(workdir, password=NTLM_PASS):
    """Asks ntlm_auth (as squid would) for a challenge; returns its answer line ('TT ...')."""
    conf = ntlm_smb_conf(workdir)
    # a NEGOTIATE_MESSAGE (type 1) as curl sends it
    r = procs.run(["/usr/bin/ntlm_auth", f"--configfile={conf}", "--helper-protocol=squid-2.5-ntlmssp",
                   f"--password={password}"], timeout=10,
                  input=b"YR TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==\n")
    return r.stdout.decode(errors="replace").strip()


def have_ntlm_auth():
    return os.access("/usr/bin/ntlm_auth", os.X_OK)


def have_squid_helper(name):
    return os.access(f"/usr/lib/squid/{name}", os.X_OK)


def start_squid_multi(workdir, user=NTLM_USER, password=NTLM_PASS):
    """squid offering NTLM, Digest and Basic (three Proxy-Authenticate fields), one user:
    ntlm_auth checks the password for NTLM, digest_file_auth / basic_ncsa_auth the others."""
    os.makedirs(workdir, exist_ok=True)
    conf = ntlm_smb_conf(workdir)
    pwfile = os.path.join(workdir, "digest-passwd")
    with open(pwfile, "w") as f:
        f.write(f"{user}:{password}\n")
    htpasswd = os.path.join(workdir, "htpasswd")
    r = procs.run(["htpasswd", "-b", "-c", htpasswd, user, password], timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"htpasswd failed: {r.stderr!r}")

    def lines(port):
        return [
            f"http_port 127.0.0.1:{port}",
            f"auth_param ntlm program /usr/bin/ntlm_auth --configfile={conf} "
            f"--helper-protocol=squid-2.5-ntlmssp --password={password}",
            # stateful helpers, one per handshake in flight, all started with squid: on a minimal
            # Debian root one started on demand took 5 s to answer its first handshake
            "auth_param ntlm children 8 startup=8 idle=1",
            "auth_param ntlm keep_alive on",
            f"auth_param digest program /usr/lib/squid/digest_file_auth {pwfile}",
            "auth_param digest children 2 startup=1 idle=1",
            f"auth_param digest realm {DIGEST_REALM}",
            f"auth_param basic program /usr/lib/squid/basic_ncsa_auth {htpasswd}",
            "auth_param basic children 2 startup=1 idle=1",
            "auth_param basic realm socks2http-basic",
            "acl authed proxy_auth REQUIRED",
            "http_access allow authed",
            "http_access deny all",
        ]

    return _start_squid(workdir, "squid-multi", lines, user=user, password=password, auth="any",
                        domain=NTLM_DOMAIN)


# ---------------------------------------------------------------- pytest fixtures

def _need(*tools):
    for t in tools:
        if not (shutil.which(t) or os.access(t, os.X_OK)):
            pytest.skip(f"{t} is not installed (contrib/debian-packages)")


def prove(u, origin, *extra):
    """curl alone, through u, must get the origin's content; else the fixture fails."""
    r = curl(*u.curl_proxy_args(), *extra, origin.url())
    if r.returncode != 0 or r.stdout != origin.body:
        out = u.proc.output()[-3000:] if u.proc else ""
        u.stop()
        pytest.fail(f"{u.name} does not work with curl directly: {r.stderr!r}\n{out}", pytrace=False)
    return u


@pytest.fixture(scope="session")
def proxy_cert(session_dir):
    """(certfile, keyfile): P-256, self-signed, for localhost and 127.0.0.1."""
    _need("openssl")
    return make_cert(os.path.join(session_dir, "certs"))


@pytest.fixture(scope="session")
def squid_tls(session_dir, origin):
    _need("squid", "openssl")
    u = prove(start_squid_tls(os.path.join(session_dir, "squid-tls")), origin)
    yield u
    u.stop()


@pytest.fixture(scope="session")
def squid_digest(session_dir, origin):
    _need("squid", "/usr/lib/squid/digest_file_auth")
    u = prove(start_squid_digest(os.path.join(session_dir, "squid-digest")), origin)
    yield u
    u.stop()


@pytest.fixture(scope="session")
def squid_ntlm(session_dir, origin):
    _need("squid", "/usr/bin/ntlm_auth")
    u = prove(start_squid_ntlm(os.path.join(session_dir, "squid-ntlm")), origin)
    yield u
    u.stop()


@pytest.fixture(scope="session")
def squid_multi(session_dir, origin):
    _need("squid", "htpasswd", "/usr/bin/ntlm_auth", "/usr/lib/squid/digest_file_auth",
          "/usr/lib/squid/basic_ncsa_auth")
    u = prove(start_squid_multi(os.path.join(session_dir, "squid-multi")), origin, "--proxy-anyauth")
    yield u
    u.stop()


@pytest.fixture
def authproxy():
    """authproxy(**AuthProxy kwargs) -> a started AuthProxy, stopped after the test."""
    made = []

    def make(**kw):
        p = AuthProxy(**kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def tls_front(proxy_cert):
    """tls_front(backend_port, cert=None, key=None) -> a started TlsFront (default: the
    proxy_cert certificate), stopped after the test."""
    made = []

    def make(backend_port, cert=None, key=None, **kw):
        t = TlsFront(backend_port, cert or proxy_cert[0], key or proxy_cert[1], **kw)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()
