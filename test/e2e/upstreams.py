"""Real upstream proxies for the tests: tinyproxy (with and without BasicAuth) and squid
(basic auth through basic_ncsa_auth), each with a generated config in its own temp dir."""

import os
import pwd
import shutil
import signal
import subprocess

import procs

SQUID_USER = "user"
SQUID_PASS = "Sq-s3cret_42"
SQUID_BLOCKED_PORT = 9  # squid answers CONNECT to this port with 403
TINY_USER = "user"
TINY_PASS = "tinyPass-77"  # distinctive, so a log search for it means something


class Upstream:
    def __init__(self, name, proc, port, workdir, user=None, password=None):
        self.name = name
        self.proc = proc
        self.port = port
        self.workdir = workdir
        self.user = user
        self.password = password

    @property
    def url(self):
        if self.user:
            return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"
        return f"http://127.0.0.1:{self.port}"

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def curl_proxy_args(self):
        args = ["--proxy", f"http://127.0.0.1:{self.port}", "--proxytunnel"]
        if self.user:
            args += ["--proxy-user", f"{self.user}:{self.password}"]
        return args

    def stop(self):
        return self.proc.stop(signal.SIGTERM, timeout=8)


def _give_to(path, user):
    """As root, the proxies drop privileges: let that user read/write their files."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)
    # and let it traverse the parents of the temp dir
    p = os.path.dirname(path)
    while p and p != "/":
        st = os.stat(p)
        if not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o001)
        p = os.path.dirname(p)


def start_tinyproxy(workdir, auth=False):
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "tinyproxy.conf")

    def argv(port):
        lines = [
            f"Port {port}",
            "Listen 127.0.0.1",
            "Allow 127.0.0.1",
            "Timeout 60",
            "MaxClients 1024",
            "LogLevel Info",
            # No ConnectPort lines: CONNECT to every port is allowed.
        ]
        if os.geteuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        if auth:
            lines.append(f"BasicAuth {TINY_USER} {TINY_PASS}")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(conf, 0o644)
        return ["tinyproxy", "-d", "-c", conf]

    proc, port = procs.start_on_free_port(argv, os.path.join(workdir, "tinyproxy.log"))
    return Upstream("tinyproxy-auth" if auth else "tinyproxy", proc, port, workdir,
                    TINY_USER if auth else None, TINY_PASS if auth else None)


def squid_common(workdir):
    """A test squid's lines besides its port and access rules: no cache, its files in
    workdir, short timeouts, and (as root) the proxy user for its workers and helpers."""
    lines = [
        "cache deny all",
        f"pid_filename {workdir}/squid.pid",
        f"cache_log {workdir}/cache.log",
        f"access_log stdio:{workdir}/access.log",
        "cache_store_log none",
        f"coredump_dir {workdir}",
        "netdb_filename none",
        "pinger_enable off",
        "shutdown_lifetime 0 seconds",
        "dns_timeout 5 seconds",
        "connect_timeout 5 seconds",
    ]
    if os.geteuid() == 0:
        lines.append("cache_effective_user proxy")
    return lines


def start_squid(workdir):
    os.makedirs(workdir, exist_ok=True)
    htpasswd = os.path.join(workdir, "htpasswd")
    subprocess.run(["htpasswd", "-b", "-c", htpasswd, SQUID_USER, SQUID_PASS], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    conf = os.path.join(workdir, "squid.conf")
    root = os.geteuid() == 0

    def argv(port):
        lines = [
            f"http_port 127.0.0.1:{port}",
            "visible_hostname localhost",
            f"auth_param basic program /usr/lib/squid/basic_ncsa_auth {htpasswd}",
            "auth_param basic children 2 startup=1 idle=1",
            "auth_param basic realm socks2http-test",
            "acl authed proxy_auth REQUIRED",
            "acl CONNECT method CONNECT",
            f"acl blocked_port port {SQUID_BLOCKED_PORT}",
            "http_access deny CONNECT blocked_port",
            "http_access allow CONNECT authed",
            "http_access allow authed",
            "http_access deny all",
        ] + squid_common(workdir)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        if root:
            _give_to(workdir, "proxy")
        return ["squid", "-N", "-f", conf]

    proc, port = procs.start_on_free_port(argv, os.path.join(workdir, "squid.out"), timeout=30)
    return Upstream("squid", proc, port, workdir, SQUID_USER, SQUID_PASS)


def have(tool):
    return shutil.which(tool) is not None
