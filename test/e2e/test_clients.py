"""ncat and proxychains4 as SOCKS clients of socks2http."""

import os

import pytest

from clients import Interactive, write_proxychains_conf
from daemon import clean_env
import procs


def ncat_argv(port, kind, target, tport, remote_dns=False):
    argv = ["ncat", "--proxy", f"127.0.0.1:{port}", "--proxy-type", kind]
    if remote_dns:
        argv += ["--proxy-dns", "remote"]
    return argv + [target, str(tport)]


def converse(nc, rounds=8, size=16384):
    """Both directions: each chunk written to ncat's stdin must come back on its stdout."""
    for i in range(rounds):
        chunk = os.urandom(size // 2).hex().encode()[:size - 1] + b"\n"
        nc.send(chunk)
        assert nc.read_exact(len(chunk)) == chunk, f"round {i}"


@pytest.mark.parametrize("kind", ["socks5", "socks4"])
def test_ncat_echo(socks2http, tinyproxy, echo, kind):
    d = socks2http("-x", tinyproxy.url)
    nc = Interactive(ncat_argv(d.port, kind, "127.0.0.1", echo.port))
    try:
        converse(nc)
        nc.close_stdin()
        assert nc.wait(10) == 0
    finally:
        nc.close()
    t = d.wait_tunnel(target=f"127.0.0.1:{echo.port}")
    assert t["socks"] == kind[-1]
    assert t["http"] == "200"
    assert t["up"] == str(8 * 16384)
    assert t["down"] == str(8 * 16384)


def test_ncat_socks5_remote_name_server_speaks_first(socks2http, tinyproxy, banner):
    d = socks2http("-x", tinyproxy.url)
    nc = Interactive(ncat_argv(d.port, "socks5", "localhost", banner.port, remote_dns=True))
    try:
        assert nc.read_exact(len(banner.banner)) == banner.banner
        converse(nc, rounds=2, size=1000)
        nc.close_stdin()
        assert nc.wait(10) == 0
    finally:
        nc.close()
    t = d.wait_tunnel(target=f"localhost:{banner.port}")
    assert t["down"] == str(len(banner.banner) + 2000)


def test_proxychains_curl_by_name(socks2http, tinyproxy, origin, tmp):
    d = socks2http("-x", tinyproxy.url)
    conf = write_proxychains_conf(os.path.join(tmp, "proxychains.conf"), d.port)
    r = procs.run(["proxychains4", "-q", "-f", conf, "curl", "-q", "-sS", "--max-time", "15",
                   origin.url("localhost")], timeout=30, env=clean_env())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    # proxychains resolves names from /etc/hosts itself, else sends them (proxy_dns)
    t = d.wait_tunnel()
    assert t["target"] in (f"localhost:{origin.port}", f"127.0.0.1:{origin.port}", f"[::1]:{origin.port}"), t
    assert t["socks"] == "5" and t["http"] == "200" and t["reply"] == "0x00"


def test_proxychains_socks4(socks2http, tinyproxy, origin, tmp):
    d = socks2http("-x", tinyproxy.url)
    conf = write_proxychains_conf(os.path.join(tmp, "proxychains.conf"), d.port, kind="socks4")
    r = procs.run(["proxychains4", "-q", "-f", conf, "curl", "-q", "-sS", "--max-time", "15",
                   origin.url("127.0.0.1")], timeout=30, env=clean_env())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    t = d.wait_tunnel(target=f"127.0.0.1:{origin.port}")
    assert t["socks"] == "4" and t["reply"] == "90"

