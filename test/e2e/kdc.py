"""A throw-away MIT Kerberos realm for the Negotiate tests, and squid authenticating with it.

Everything lives in one temp dir: krb5.conf (KRB5_CONFIG), kdc.conf (KRB5_KDC_PROFILE), the
database, the stash, the service keytab (KRB5_KTNAME) and the users' ticket caches
(KRB5CCNAME).  Nothing is read from or written to /etc.  krb5kdc runs in the foreground (-n)
on a free loopback TCP port (clients are told to use TCP only: udp_preference_limit = 1) and is
stopped by stop().  Every command has a timeout.

    k = kdc.start(workdir)
    env = k.env(ccache)           # the variables a client needs
    k.kinit(ccache)               # USER's ticket, password on stdin
    sq = kdc.start_squid_negotiate(k, squid_dir)
    ...
    sq.stop(); k.stop()
"""

import os
import shutil
import signal
import subprocess
import time

import procs
import upstreams

REALM = "SOCKS2HTTP.TEST"
USER = "alice"
USER_PASS = "Krb-al1ce_pw"      # only ever given to kinit on stdin
SERVICE = "HTTP/localhost"

# The tools live in /usr/sbin on Debian, which is not always on a user's PATH.
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def _tool(name):
    path = shutil.which(name)
    if path:
        return path
    for d in _SBIN:
        cand = os.path.join(d, name)
        if os.access(cand, os.X_OK):
            return cand
    return None


def available():
    """None when every tool is installed, else a sentence naming what is missing."""
    missing = [t for t in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist") if not _tool(t)]
    return f"MIT Kerberos tools missing: {', '.join(missing)}" if missing else None


class Kdc:
    def __init__(self, workdir):
        self.dir = workdir
        self.realm = REALM
        self.krb5_conf = os.path.join(workdir, "krb5.conf")
        self.kdc_conf = os.path.join(workdir, "kdc.conf")
        self.keytab = os.path.join(workdir, "http.keytab")
        self.rcache = os.path.join(workdir, "rcache")
        self.proc = None
        self.port = None

    # -- configuration

    def _write_conf(self, port):
        with open(self.krb5_conf, "w") as f:
            f.write(f"""[libdefaults]
 default_realm = {REALM}
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
 udp_preference_limit = 1
 kdc_timeout = 3000
 max_retries = 1
 # short tickets must really expire in the tests
 clockskew = 1
[realms]
 {REALM} = {{
  kdc = 127.0.0.1:{port}
 }}
[domain_realm]
 localhost = {REALM}
 .localhost = {REALM}
""")
        with open(self.kdc_conf, "w") as f:
            f.write(f"""[kdcdefaults]
 kdc_ports = {port}
 kdc_tcp_ports = {port}
 kdc_listen = 127.0.0.1:{port}
 kdc_tcp_listen = 127.0.0.1:{port}
[realms]
 {REALM} = {{
  database_name = {self.dir}/principal
  key_stash_file = {self.dir}/stash
  acl_file = {self.dir}/kadm5.acl
  max_life = 1h
  max_renewable_life = 0
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }}
[logging]
 kdc = FILE:{self.dir}/kdc.log
 admin_server = FILE:{self.dir}/kadmin.log
 default = FILE:{self.dir}/krb5lib.log
""")
        for p in (self.krb5_conf, self.kdc_conf):
            os.chmod(p, 0o644)

    def env(self, ccache=None, base=None):
        """The environment for a client of this realm; ccache: its ticket cache file (a file
        that does not exist means 'no ticket')."""
        e = dict(os.environ if base is None else base)
        e.update({
            "KRB5_CONFIG": self.krb5_conf,
            "KRB5_KDC_PROFILE": self.kdc_conf,
            "KRB5_KTNAME": "FILE:" + self.keytab,
            "KRB5RCACHEDIR": self.rcache,
            "KRB5CCNAME": "FILE:" + (ccache or os.path.join(self.dir, "no-ticket.ccache")),
        })
        return e

    def _run(self, argv, input=None, timeout=20, ccache=None):
        r = procs.run(argv, timeout=timeout, env=self.env(ccache),
                      input=input.encode() if isinstance(input, str) else input)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): "
                               f"{r.stderr.decode(errors='replace')[-1500:]}")
        return r

    def kadmin(self, query):
        return self._run([_tool("kadmin.local"), "-r", REALM, "-q", query])

    # -- users

    def kinit(self, ccache, lifetime=None, principal=USER, password=USER_PASS):
        """A ticket for principal in ccache (the password on stdin); lifetime like '5s'."""
        argv = [_tool("kinit")]
        if lifetime:
            argv += ["-l", lifetime]
        argv.append(f"{principal}@{REALM}")
        return self._run(argv, input=password + "\n", ccache=ccache)

    def klist(self, ccache):
        return procs.run([_tool("klist")], timeout=10, env=self.env(ccache))

    # -- life

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.rcache, exist_ok=True)
        self._write_conf(0)
        with open(os.path.join(self.dir, "kadm5.acl"), "w") as f:
            f.write(f"*/admin@{REALM} *\n")
        # -W: the master key from /dev/urandom without waiting for entropy
        self._run([_tool("kdb5_util"), "-r", REALM, "create", "-s", "-W", "-P", "master-" + os.urandom(8).hex()],
                  timeout=30)
        self.kadmin(f"addprinc -pw {USER_PASS} {USER}")
        self.kadmin(f"addprinc -randkey {SERVICE}")
        self.kadmin(f"ktadd -k {self.keytab} {SERVICE}")

        def argv(port):
            self._write_conf(port)
            return [_tool("krb5kdc"), "-n", "-r", REALM]

        self.proc, self.port = procs.start_on_free_port(
            argv, os.path.join(self.dir, "krb5kdc.out"), env=self.env(), timeout=15)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(signal.SIGTERM, timeout=5)
            self.proc = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "kdc.log")) as f:
                return f.read()
        except OSError:
            return ""


def start(workdir):
    return Kdc(workdir).start()


def start_squid_negotiate(kdc, workdir):
    """squid on a free loopback port asking for Negotiate, checked by negotiate_kerberos_auth
    with the realm's keytab.  As root squid runs as 'proxy': the keytab, the configs and a
    replay cache dir must be readable (writable) by that user."""
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "squid.conf")
    root = os.geteuid() == 0
    rcache = os.path.join(workdir, "rcache")
    os.makedirs(rcache, exist_ok=True)
    # squid's own copy of the service key, so that handing it to squid's user leaves the
    # realm's files alone
    keytab = os.path.join(workdir, "http.keytab")
    shutil.copyfile(kdc.keytab, keytab)
    os.chmod(keytab, 0o600)
    # squid's helpers inherit its environment: that is how the helper finds the realm
    env = kdc.env()
    env["KRB5_KTNAME"] = "FILE:" + keytab
    env["KRB5RCACHEDIR"] = rcache

    def argv(port):
        lines = [
            f"http_port 127.0.0.1:{port}",
            "visible_hostname localhost",
            f"auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth "
            f"-k {keytab} -c {rcache} -s {SERVICE}@{REALM}",
            "auth_param negotiate children 2 startup=1 idle=1",
            "auth_param negotiate keep_alive on",
            "acl authed proxy_auth REQUIRED",
            "acl CONNECT method CONNECT",
            "http_access allow CONNECT authed",
            "http_access allow authed",
            "http_access deny all",
        ] + upstreams.squid_common(workdir)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        if root:
            upstreams._give_to(workdir, "proxy")  # the keytab too: only squid's user reads it
            # the helper reads krb5.conf from the realm's dir (its secrets are 0600)
            os.chmod(kdc.dir, os.stat(kdc.dir).st_mode | 0o005)
            p = os.path.dirname(kdc.dir)
            while p and p != "/":
                st = os.stat(p)
                if not st.st_mode & 0o001:
                    os.chmod(p, st.st_mode | 0o001)
                p = os.path.dirname(p)
        return ["squid", "-N", "-f", conf]

    proc, port = procs.start_on_free_port(argv, os.path.join(workdir, "squid.out"), env=env, timeout=30)
    return upstreams.Upstream("squid-negotiate", proc, port, workdir)


def wait_expired(kdc, ccache, timeout=20):
    """Waits (bounded) until klist -s says ccache holds no valid ticket any more, and then
    past the realm's clock skew (1 s), within which the KDC still takes an expired ticket."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = procs.run([_tool("klist"), "-s"], timeout=10, env=kdc.env(ccache))
        if r.returncode != 0:
            time.sleep(2.5)
            return True
        time.sleep(0.25)
    return False


def run_with_realm(argv, timeout=300):
    """Starts a realm in a temp dir, gets alice a ticket and an expired one, runs argv with
    the realm's environment plus NEGOTIATE_TEST_CCACHE / NEGOTIATE_TEST_EXPIRED_CCACHE (what
    test/unit/test_negotiate reads), stops the KDC, removes the dir.  Returns argv's status."""
    import tempfile
    d = tempfile.mkdtemp(prefix="socks2http-kdc-")
    k = None
    try:
        k = start(os.path.join(d, "realm"))
        cc = os.path.join(d, "alice.ccache")
        k.kinit(cc)
        old = os.path.join(d, "expired.ccache")
        k.kinit(old, lifetime="1s")
        if not wait_expired(k, old):
            raise RuntimeError("a 1 s ticket did not expire")
        env = k.env(cc)
        env["NEGOTIATE_TEST_CCACHE"] = "FILE:" + cc
        env["NEGOTIATE_TEST_EXPIRED_CCACHE"] = "FILE:" + old
        p = subprocess.Popen(argv, env=env)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            print(f"{argv[0]}: still running after {timeout}s, killed")
            return 124
    finally:
        if k:
            k.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    # python3 kdc.py --run CMD ARGS...: CMD inside a fresh realm (see run_with_realm)
    import sys
    if len(sys.argv) < 3 or sys.argv[1] != "--run":
        sys.exit("usage: kdc.py --run CMD [ARGS...]")
    why = available()
    if why:
        print(f"skipped: {why}")
        sys.exit(77)  # automake's SKIP
    sys.exit(run_with_realm(sys.argv[2:]))
