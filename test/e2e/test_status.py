"""`socks2http status` and the daemon's control socket: live tunnels, --json, permissions,
other users refused, --watch, --control and --no-control."""

import json
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from daemon import clean_env, run_cli
from fakeproxy import basic_first, ok
from socksclient import recv_exact, socks5_tunnel

SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def start(socks2http, fake_proxy, tmp, *args):
    p = fake_proxy(ok())
    env = clean_env(XDG_RUNTIME_DIR=tmp)
    d = socks2http("-x", p.url, *args, env=env)
    return d, env


def wait_control(d):
    return d.wait_for(lambda lines: [l for l in lines if "control socket" in l], what="control socket line")


def status(binary, env, *args):
    r = run_cli(binary, ["status"] + list(args), env=env)
    assert b"Sanitizer" not in r.stderr and b"runtime error" not in r.stderr, r.stderr.decode()
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_learned_scheme_shown(binary, socks2http, fake_proxy, tmp):
    """What a proxy asked for is shown once a tunnel has learned it."""
    p = fake_proxy(basic_first())
    env = clean_env(XDG_RUNTIME_DIR=tmp)
    d = socks2http("-x", p.url_with("u:Status-Pw1"), env=env)
    wait_control(d)
    rc, out, err = status(binary, env)
    assert rc == 0 and re.search(r"proxy 127\.0\.0\.1:\d+: healthy\n", out), out
    s = socks5_tunnel(d.port, "learn.example", 443)
    s.close()
    d.wait_tunnel()
    rc, out, err = status(binary, env)
    assert re.search(r"proxy 127\.0\.0\.1:\d+: healthy, asks for basic\n", out), out
    rc, out, err = status(binary, env, "--json")
    doc = json.loads(out)
    assert doc["proxies"][0]["auth"] == "basic" and doc["proxies"][0]["tls"] is False
    assert "Status-Pw1" not in out


def test_live_tunnel(binary, socks2http, fake_proxy, tmp):
    d, env = start(socks2http, fake_proxy, tmp)
    wait_control(d)
    s = socks5_tunnel(d.port, "live.example", 443)
    s.sendall(b"x" * 1000)
    assert recv_exact(s, 1000) == b"x" * 1000
    rc, out, err = status(binary, env)
    assert rc == 0, err
    assert re.search(r"tunnels: 1 open \(max \d+\), 1 accepted.*pipes \d+ in use, \d+ pooled \(\d", out), out
    assert re.search(r"proxy 127\.0\.0\.1:\d+: healthy", out), out
    line = [l for l in out.splitlines() if "live.example:443" in l]
    assert line and re.search(r"\brelay\b.* 1000B +1000B ", line[0]), out
    rc, out, err = status(binary, env, "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["pid"] == d.pid and doc["accepting"] == "yes"
    assert doc["counters"]["open"] == 1 and doc["counters"]["accepted"] == 1
    assert doc["proxies"][0]["healthy"] is True
    t = doc["tunnels"][0]
    assert t["target"] == "live.example:443" and t["state"] == "relay"
    assert t["up"] == 1000 and t["down"] == 1000
    assert t["client"].startswith("127.0.0.1:") and t["proxy"] == doc["proxies"][0]["proxy"]
    # the rate is over the time since the previous ask
    s.sendall(b"y" * 50000)
    assert recv_exact(s, 50000) == b"y" * 50000
    doc = json.loads(status(binary, env, "--json")[1])
    assert doc["tunnels"][0]["up"] == 51000 and doc["tunnels"][0]["rate_up"] > 0
    assert doc["tunnels"][0]["rate_down"] > 0
    time.sleep(0.2)
    doc = json.loads(status(binary, env, "--json")[1])
    assert doc["tunnels"][0]["rate_up"] == 0 and doc["tunnels"][0]["rate_down"] == 0
    p = doc["pipes"]  # the pipe memory held: each pipe between the kernel's default and 1 MiB
    n = p["in_use"] + p["pooled"]
    assert 65536 * n <= p["bytes"] <= (1 << 20) * n, p
    s.close()
    d.signal(signal.SIGUSR1)  # the log report still works beside the socket
    d.wait_for(lambda lines: [l for l in lines if "status:" in l], what="SIGUSR1 report")


def test_socket_modes_and_cleanup(binary, socks2http, fake_proxy, tmp):
    d, env = start(socks2http, fake_proxy, tmp)
    wait_control(d)
    path = os.path.join(tmp, "socks2http", "control")
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    d.stop()
    assert not os.path.exists(path)


def test_no_daemon(binary, tmp):
    rc, out, err = status(binary, clean_env(XDG_RUNTIME_DIR=tmp))
    assert rc == 1 and "no daemon answers at" in err, err


def test_control_option_and_no_control(binary, socks2http, fake_proxy, tmp):
    path = os.path.join(tmp, "ctl.sock")
    d, env = start(socks2http, fake_proxy, tmp, "--control", path)
    wait_control(d)
    assert status(binary, env, "--control", path)[0] == 0
    assert status(binary, env)[0] == 1  # not at the default place
    d2, env2 = start(socks2http, fake_proxy, tmp, "--no-control")
    assert "control socket" not in d2.log()
    assert not os.path.exists(os.path.join(tmp, "socks2http", "control"))


def test_second_daemon_leaves_the_socket_alone(binary, socks2http, fake_proxy, tmp):
    d, env = start(socks2http, fake_proxy, tmp)
    wait_control(d)
    d2, _ = start(socks2http, fake_proxy, tmp)
    d2.wait_for(lambda lines: [l for l in lines if "in use by another socks2http" in l], what="in-use warning")
    d2.stop()
    doc = json.loads(status(binary, env, "--json")[1])
    assert doc["pid"] == d.pid


def test_workers_have_no_control_socket(socks2http, fake_proxy, tmp):
    d, _ = start(socks2http, fake_proxy, tmp, "--workers", "2")
    d.wait_for(lambda lines: [l for l in lines if "no control socket with --workers 2" in l], what="workers note")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_other_user_refused(binary, socks2http, fake_proxy, tmp):
    os.chmod(tmp, 0o755)
    path = os.path.join(tmp, "ctl.sock")
    d, env = start(socks2http, fake_proxy, tmp, "--control", path)
    wait_control(d)
    os.chmod(path, 0o666)  # only the uid check stands between nobody and the answer now
    r = subprocess.run(SETPRIV + [binary, "status", "--control", path], env=env, capture_output=True, timeout=10)
    assert r.returncode == 1, r
    assert r.stdout == b""
    d.wait_for(lambda lines: [l for l in lines if "control: refused a client of another user" in l],
               what="refusal line")
    assert status(binary, env, "--control", path)[0] == 0  # we still are served


def test_watch(binary, socks2http, fake_proxy, tmp):
    d, env = start(socks2http, fake_proxy, tmp)
    wait_control(d)
    w = subprocess.Popen([binary, "status", "--watch", "0.2"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        seen = b""
        os.set_blocking(w.stdout.fileno(), False)
        while seen.count(b"\033[H\033[2J") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            seen += w.stdout.read() or b""
        assert seen.count(b"\033[H\033[2J") >= 2, seen
        assert b"tunnels: 0 open" in seen
        w.send_signal(signal.SIGINT)
        assert w.wait(timeout=5) == 0
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_watch_ends_when_the_daemon_goes(binary, socks2http, fake_proxy, tmp):
    d, env = start(socks2http, fake_proxy, tmp)
    wait_control(d)
    w = subprocess.Popen([binary, "status", "--watch", "0.2", "--json"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        d.stop()
        out, _ = w.communicate(timeout=5)
        assert w.returncode == 0
        assert b"the daemon went away" in out
        first = out.split(b"\n", 1)[0]
        assert json.loads(first)["pid"] == d.pid
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_usage(binary, tmp):
    env = clean_env(XDG_RUNTIME_DIR=tmp)
    assert status(binary, env, "--bogus")[0] == 2
    assert status(binary, env, "--watch", "0")[0] == 2
    rc, out, _ = status(binary, env, "--help")
    assert rc == 0 and "--watch" in out


def test_routes_and_pac(binary, socks2http, fake_proxy, tmp):
    pac = os.path.join(tmp, "status.pac")
    with open(pac, "w") as f:
        f.write('function FindProxyForURL(url, host) { return "DIRECT"; }\n')
    d, env = start(socks2http, fake_proxy, tmp, "--route", "ads.example block", "--no-proxy", ".corp.example",
                   "--pac", pac)
    wait_control(d)
    d.wait_for(lambda lines: [l for l in lines if "PAC" in l and "loaded" in l], what="PAC loaded")
    rc, out, err = status(binary, env)
    assert rc == 0, err
    assert "routes: 1 rules, a no_proxy list" in out, out
    assert re.search(r"PAC \S+status\.pac: ok\n", out), out
    doc = json.loads(status(binary, env, "--json")[1])
    assert doc["routes"]["rules"] == 1 and doc["routes"]["no_proxy"] is True
    assert doc["routes"]["pac"]["state"] == "ok" and doc["routes"]["pac"]["url"].endswith("status.pac")
    assert doc["routes"]["pac"]["error"] == ""
