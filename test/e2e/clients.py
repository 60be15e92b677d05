"""Running real clients (curl, ncat, proxychains4) with bounded time and a clean env."""

import os
import select
import signal
import subprocess
import time

import procs
from daemon import clean_env


def curl(*args, timeout=20, env=None):
    argv = ["curl", "-q", "-sS", "--max-time", "15", "--connect-timeout", "5"] + list(args)
    return procs.run(argv, timeout=timeout, env=env or clean_env())


def write_proxychains_conf(path, port, host="127.0.0.1", kind="socks5"):
    with open(path, "w") as f:
        f.write("strict_chain\nproxy_dns\nremote_dns_subnet 224\n"
                "tcp_read_time_out 15000\ntcp_connect_time_out 8000\n"
                f"[ProxyList]\n{kind} {host} {port}\n")
    return path


class Interactive:
    """A child with stdin/stdout pipes for conversation (ncat), killed on close()."""

    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env or clean_env(),
                                  start_new_session=True)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def read_exact(self, n, timeout=10.0):
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        out = b""
        while len(out) < n:
            left = deadline - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(0, left))
            if not r:
                raise AssertionError(f"child sent {len(out)} of {n} bytes within {timeout}s: {out[:80]!r}"
                                     f"; stderr: {self.stderr_now()!r}")
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise AssertionError(f"child closed stdout after {len(out)} of {n} bytes: {out[:80]!r}"
                                     f"; stderr: {self.stderr_now()!r}")
            out += chunk
        return out

    def stderr_now(self):
        fd = self.p.stderr.fileno()
        r, _, _ = select.select([fd], [], [], 0)
        return os.read(fd, 65536) if r else b""

    def close_stdin(self):
        self.p.stdin.close()

    def wait(self, timeout=10.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"child did not exit within {timeout}s")

    def close(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(5)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass
