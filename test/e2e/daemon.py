"""Runs socks2http, reads its stderr live, finds the listening ports in its log and
parses the per-tunnel log lines."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import procs

LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")
SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer: detected|runtime error:|ERROR: ThreadSanitizer"
    r"|WARNING: ThreadSanitizer|ERROR: MemorySanitizer"
    r"|==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param"
    r"|.* are (definitely|indirectly) lost)")

# SOCKS2HTTP_WRAPPER runs the daemon under a tool, e.g. valgrind (test/run-all.sh does once).
WRAPPER = shlex.split(os.environ.get("SOCKS2HTTP_WRAPPER", ""))

# Variables the daemon reads for its upstream: removed from every environment we give it.
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY",
              "no_proxy", "NO_PROXY", "SOCKS2HTTP_PROXY_PASSWORD")


def clean_env(**extra):
    """The environment without proxy settings, and with an empty XDG_CONFIG_HOME so that no
    user's own config file is read by default."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    # never the default config file of whoever runs the tests (~/.config/socks2http/config)
    env["XDG_CONFIG_HOME"] = "/nonexistent/socks2http-e2e"
    env.update(extra)
    return env


def parse_tunnel_line(line):
    """`... tunnel client=... socks=5 ... reason=...` into a dict (reason: rest of line)."""
    m = re.search(r"\btunnel\s+(client=.*)$", line)
    if not m:
        return None
    body = m.group(1)
    fields = {}
    reason = None
    r = re.search(r"\breason=(.*)$", body)
    if r:
        reason = r.group(1).strip()
        body = body[: r.start()]
    for k, v in re.findall(r"(\w+)=(\S+)", body):
        fields[k] = v
    if reason is not None:
        fields["reason"] = reason
    return fields


class Daemon:
    def __init__(self, binary, args, env=None, cwd=None, prefix=()):
        """prefix: a command that execs the daemon in its own process (prlimit ... --)."""
        self.argv = [binary] + list(args)
        self.wrapper = list(WRAPPER) + list(prefix)
        self.rundir = None
        if env is None:  # a control socket of its own, not one shared by every test's daemon
            self.rundir = tempfile.mkdtemp(prefix="s2h-run-")
            env = clean_env(XDG_RUNTIME_DIR=self.rundir)
        self.env = env
        self.lines = []
        self.skip_tunnels = 0  # tunnel lines before this many are ignored (forget_tunnels)
        self.stdout = b""
        self.cond = threading.Condition()
        self.popen = subprocess.Popen(self.wrapper + self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=self.env, cwd=cwd,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self._eof = False
        self._reading = threading.Event()  # cleared: nobody reads stderr (see pause_log)
        self._reading.set()
        self._t_err = threading.Thread(target=self._read_err, daemon=True)
        self._t_err.start()
        self._t_out = threading.Thread(target=self._read_out, daemon=True)
        self._t_out.start()
        self.listeners = []

    # ------------------------------------------------------------ output
    def _read_err(self):
        while True:
            self._reading.wait()
            raw = self.popen.stderr.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self._eof = True
            self.cond.notify_all()

    def _read_out(self):
        data = self.popen.stdout.read()
        with self.cond:
            self.stdout = data

    def pause_log(self):
        """Stops reading the daemon's stderr (after the line being read), so the pipe fills
        up as with a log reader that hangs.  stop() and resume_log() read on."""
        self._reading.clear()

    def resume_log(self):
        self._reading.set()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, pred, timeout=10.0, what="log line"):
        """Waits until pred(list of lines) returns something true; returns it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                res = pred(self.lines)
                if res:
                    return res
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    raise AssertionError(f"no {what} within {timeout}s; daemon log:\n" + "\n".join(self.lines[-40:]))
                self.cond.wait(left)

    def wait_line(self, regex, timeout=10.0):
        rx = re.compile(regex)

        def pred(lines):
            for line in lines:
                m = rx.search(line)
                if m:
                    return m
            return None

        return self.wait_for(pred, timeout, f"line matching {regex!r}")

    def wait_listening(self, n=1, timeout=15.0):
        def pred(lines):
            found = []
            for line in lines:
                m = LISTEN_RE.search(line)
                if m:
                    found.append((m.group(1).strip("[]"), int(m.group(2))))
            return found if len(found) >= n else None

        try:
            self.listeners = self.wait_for(pred, timeout, f"{n} 'listening on' line(s)")
        except AssertionError:
            rc = self.popen.poll()
            raise AssertionError(f"socks2http did not report listening (exit status {rc}):\n{self.log()}")
        return self.listeners

    @property
    def port(self):
        return self.listeners[0][1]

    def tunnels(self):
        with self.cond:
            return [t for t in (parse_tunnel_line(l) for l in self.lines) if t][self.skip_tunnels:]

    def forget_tunnels(self):
        """Later waits and lists ignore the tunnel lines logged so far (a warm-up's)."""
        with self.cond:
            self.skip_tunnels = len([l for l in self.lines if parse_tunnel_line(l)])

    def wait_tunnels(self, n=1, timeout=10.0, **match):
        """Waits for n tunnel lines whose fields equal **match (e.g. target='x:1')."""

        def pred(lines):
            ts = [t for t in (parse_tunnel_line(l) for l in lines) if t][self.skip_tunnels:]
            ts = [t for t in ts if all(t.get(k) == str(v) for k, v in match.items())]
            return ts if len(ts) >= n else None

        return self.wait_for(pred, timeout, f"{n} tunnel line(s) with {match}")

    def wait_tunnel(self, timeout=10.0, **match):
        return self.wait_tunnels(1, timeout, **match)[0]

    # ------------------------------------------------------------ process
    def alive(self):
        return self.popen.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def cmdline(self):
        with open(f"/proc/{self.pid}/cmdline", "rb") as f:
            return f.read()

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=10.0):
        self.resume_log()
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"socks2http still running {timeout}s later; log:\n{self.log()}")
        self._t_err.join(5)
        self._t_out.join(5)
        return rc

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL if needed.  Returns the exit status (negative: signal)."""
        self.resume_log()
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)
        self._t_err.join(5)
        self._t_out.join(5)
        if self.rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)
        return self.popen.returncode

    def sanitizer_report(self):
        text = self.log()
        m = SANITIZER_RE.search(text)
        return text[m.start():m.start() + 4000] if m else None


def stop_all(started):
    """Stops every daemon (printing each log's tail for a failing test's report) and fails
    the test on a sanitizer report from any of them."""
    import pytest
    reports = []
    for d in started:
        rc = d.stop()
        print(f"--- socks2http {' '.join(d.argv[1:])} (exit {rc})\n{d.log()[-20000:]}")
        rep = d.sanitizer_report()
        if rep:
            reports.append(rep)
    if reports:
        pytest.fail("sanitizer report from socks2http:\n" + reports[0], pytrace=False)


def run_cli(binary, args, env=None, timeout=10.0):
    """Runs socks2http expecting it to exit by itself."""
    return procs.run([binary] + list(args), timeout=timeout, env=clean_env() if env is None else env)
