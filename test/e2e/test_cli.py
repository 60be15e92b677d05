"""Command line, exit statuses, signals, config file, and secrets kept out of sight."""

import base64
import os
import re
import signal
import socket
import time

import pytest

from clients import curl
from daemon import clean_env, run_cli
from fakeproxy import basic_first, ok, sequence, silent
from socksclient import connect, recv_exact, socks5_greeting, socks5_open, socks5_request


@pytest.mark.parametrize("args", [["-h"], ["--help"]])
def test_help(binary, args):
    r = run_cli(binary, args)
    assert r.returncode == 0, r.stderr
    assert b"--proxy" in r.stdout and b"--listen" in r.stdout


@pytest.mark.parametrize("args", [["-V"], ["--version"]])
def test_version(binary, args):
    r = run_cli(binary, args)
    assert r.returncode == 0, r.stderr
    assert re.match(rb"socks2http \d+\.\d+", r.stdout), r.stdout


USAGE_ERRORS = [
    ["--bogus-option"],
    ["-Z"],
    ["-x"],
    ["-x", "ftp://127.0.0.1:21"],
    ["-x", "socks5://127.0.0.1:1080"],
    ["-x", "http://127.0.0.1:99999"],
    ["-x", "http://127.0.0.1:0x50"],
    ["-x", "http://[::1:3128"],
    ["-x", "http://"],
    ["-x", "http://user:pa%zzss@127.0.0.1:3128"],
    ["-l", "127.0.0.1:99999"],
    ["-l", "999.1.1.1:1080"],
    ["-l", "[::1:1080"],
    ["-l", "127.0.0.1:"],
    ["-l", "127.0.0.1:-5"],
    ["--max-tunnels", "many"],
    ["--reply-timeout", "soon"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=[" ".join(a) for a in USAGE_ERRORS])
def test_usage_error_exit_2_one_line(binary, args):
    argv = list(args)
    if "-x" not in argv:
        argv += ["-x", "http://127.0.0.1:3128"]
    r = run_cli(binary, argv)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.decode().strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].strip(), f"stderr should be one line: {r.stderr!r}"


def test_usage_error_does_not_echo_password(binary):
    r = run_cli(binary, ["-x", "ftp://user:Zx9-secretpw@127.0.0.1:21"])
    assert r.returncode == 2
    assert b"Zx9-secretpw" not in r.stderr + r.stdout


def test_no_proxy_anywhere(binary):
    r = run_cli(binary, ["-l", "127.0.0.1:0"], env=clean_env())
    assert r.returncode == 1, r.stderr
    assert b"-x" in r.stderr and b"https_proxy" in r.stderr


def test_address_in_use(binary):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        r = run_cli(binary, ["-l", f"127.0.0.1:{busy.getsockname()[1]}", "-x", "http://127.0.0.1:3128"])
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert r.stderr.strip()
    finally:
        busy.close()


def test_second_listener_in_use_fails_whole_start(binary):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        r = run_cli(binary, ["-l", "127.0.0.1:0", "-l", f"127.0.0.1:{busy.getsockname()[1]}",
                             "-x", "http://127.0.0.1:3128"])
        assert r.returncode == 1, (r.returncode, r.stderr)
    finally:
        busy.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exit_0(socks2http, fake_proxy, sig):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    d.signal(sig)
    assert d.wait_exit(5) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exit_0_with_open_tunnels(socks2http, fake_proxy, sig):
    """An open tunnel, a client waiting for the proxy's answer and one stuck in the
    handshake: the daemon still ends, with status 0, once the grace period is over."""
    fp = fake_proxy(sequence(ok(), silent()))
    d = socks2http("-x", fp.url, "--shutdown-grace", "1")
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    waiting = connect(d.port)
    waiting.sendall(socks5_greeting() + socks5_request("example.com", 443))
    fp.wait_requests(2)
    half = connect(d.port)
    half.sendall(socks5_greeting())
    t0 = time.monotonic()
    d.signal(sig)
    assert d.wait_exit(6) == 0
    assert time.monotonic() - t0 < 4
    for c in (s, waiting, half):
        c.close()


def test_password_hidden_from_cmdline_and_logs(socks2http, squid, origin):
    d = socks2http("-v", "-x", squid.url)
    cmdline = d.cmdline()
    assert squid.password.encode() not in cmdline, cmdline
    # the scrubbed argv did not lose the password: squid accepts it
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    d.wait_tunnel(http="200")
    log = d.log()
    assert squid.password not in log
    assert base64.b64encode(f"{squid.user}:{squid.password}".encode()).decode() not in log


@pytest.mark.parametrize("form", ["-x URL", "--proxy URL", "--proxy=URL", "-xURL", "-vx URL"])
def test_password_scrubbed_in_every_option_form(socks2http, fake_proxy, form):
    fp = fake_proxy(basic_first())
    url = fp.url_with("joe:Pw%40Secret-9")
    args = [a.replace("URL", url) for a in form.split(" ")]
    d = socks2http(*args)
    cmdline = d.cmdline()
    for secret in (b"Pw%40Secret-9", b"Pw@Secret-9", b"Secret-9"):
        assert secret not in cmdline, cmdline
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()
    req = fp.wait_requests(2)[-1]  # the first asked for Basic
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(b"joe:Pw@Secret-9").decode()]
    d.wait_tunnel()
    log = d.log()
    assert "Secret-9" not in log
    assert base64.b64encode(b"joe:Pw@Secret-9").decode() not in log


def test_wrong_password_logged_without_it(socks2http, squid, origin):
    bad = "Wr0ng-pw-xyz"
    d = socks2http("-v", "-x", f"http://{squid.user}:{bad}@127.0.0.1:{squid.port}")
    s, rep = socks5_open(d.port, "127.0.0.1", origin.port)
    assert rep.rep == 0x02
    s.close()
    t = d.wait_tunnel()
    assert t["http"] == "407"
    assert bad not in d.log()
    assert bad.encode() not in d.cmdline()


def test_config_file(socks2http, fake_proxy, tmp):
    fp = fake_proxy(basic_first())
    conf = os.path.join(tmp, "socks2http.conf")
    with open(conf, "w") as f:
        f.write("# socks2http test config\n\n"
                f"proxy {fp.url_with('cfguser:Cfg-Secret-1')}\n"
                "reply-timeout 5\n"
                "user-agent from-config/2\n")
    os.chmod(conf, 0o600)  # it holds a password
    d = socks2http("-c", conf)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.sendall(b"c")
    assert recv_exact(s, 1) == b"c"
    s.close()
    req = fp.wait_requests(2)[-1]
    assert req.header("User-Agent") == ["from-config/2"]
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(b"cfguser:Cfg-Secret-1").decode()]
    d.wait_tunnel()
    assert "Cfg-Secret-1" not in d.log()


def test_config_file_listen(socks2http, fake_proxy, tmp):
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "socks2http.conf")
    with open(conf, "w") as f:
        f.write(f"listen 127.0.0.1:0\nproxy {fp.url}\n")
    d = socks2http("-c", conf, listen=())
    d.wait_listening(1)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()


def test_command_line_lists_replace_the_files(socks2http, fake_proxy, tmp):
    """-l and -x replace the default config file's listen and proxy lines (the help and README:
    the command line overrides the file), at start and after SIGHUP re-reads the file.  They
    used to be added: the daemon also listened on the file's port and tried its proxy first."""
    file_proxy, cmd_proxy = fake_proxy(ok()), fake_proxy(ok())
    with socket.socket() as s:  # a port the file names; nothing may listen there
        s.bind(("127.0.0.1", 0))
        file_port = s.getsockname()[1]
    os.makedirs(os.path.join(tmp, "socks2http"))
    conf = os.path.join(tmp, "socks2http", "config")
    with open(conf, "w") as f:
        f.write(f"listen 127.0.0.1:{file_port}\nproxy {file_proxy.url}\n")
    d = socks2http("-x", cmd_proxy.url, env=clean_env(XDG_CONFIG_HOME=tmp))
    d.wait_line(r"upstream proxy 127\.0\.0\.1:%d " % cmd_proxy.port)

    def one_tunnel(n):
        s, rep = socks5_open(d.port, "example.com", 443)
        assert rep.rep == 0
        s.close()
        cmd_proxy.wait_requests(n)
        assert file_proxy.requests == []
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", file_port), timeout=2).close()

    one_tunnel(1)
    assert len(re.findall(r"listening on", d.log())) == 1, d.log()
    assert f"upstream proxy 127.0.0.1:{file_proxy.port}" not in d.log()
    with open(conf, "w") as f:
        f.write(f"listen 127.0.0.1:{file_port}\nproxy {file_proxy.url}\nreply-timeout 7\n")
    d.signal(signal.SIGHUP)
    d.wait_line(r"reloaded: upstream proxy 127\.0\.0\.1:%d " % cmd_proxy.port)
    one_tunnel(2)
    assert f"upstream proxy 127.0.0.1:{file_proxy.port}" not in d.log()
    assert "listen addresses change only on restart" not in d.log()


def test_config_file_unknown_option(binary, tmp):
    conf = os.path.join(tmp, "bad.conf")
    with open(conf, "w") as f:
        f.write("proxy http://127.0.0.1:3128\nno-such-option 1\n")
    r = run_cli(binary, ["-c", conf])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(r.stderr.decode().strip().split("\n")) == 1


def drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def test_signal_right_after_listening_line_is_handled(binary):
    """Whoever reads 'listening on' may stop the daemon at once.  A small stderr pipe that
    we stop reading after that line holds the daemon in its start-up logging; a SIGTERM
    then must still end it with status 0 (handlers in place before readiness is logged)."""
    import fcntl
    import subprocess
    import threading

    host = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    argv = [binary, "-l", "127.0.0.1:0"]
    for i in range(16):
        argv += ["-x", f"http://{host}:{8000 + i}"]  # 16 long 'upstream proxy' start lines
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w,
                         env=clean_env(), start_new_session=True)
    os.close(w)
    try:
        seen = b""
        deadline = time.monotonic() + 10
        while not (b"listening on" in seen and seen.endswith(b"\n")):
            assert time.monotonic() < deadline, f"no listening line: {seen[-300:]!r}"
            c = os.read(r, 1)
            assert c, f"stderr closed: {seen[-300:]!r}"
            seen += c
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        threading.Thread(target=drain, args=(r,), daemon=True).start()
        assert p.wait(5) == 0, "killed by SIGTERM: the handler was not installed yet"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        os.close(r)
