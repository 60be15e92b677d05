"""curl as the SOCKS client, socks2http in the middle, a real proxy upstream."""

import base64
import hashlib
import re

import pytest

from clients import curl
from origin import pattern

MODES = [
    # scheme, curl sends the name (else it resolves itself), SOCKS version, success code
    ("socks4", False, "4", "90"),
    ("socks4a", True, "4", "90"),
    ("socks5", False, "5", "0x00"),
    ("socks5h", True, "5", "0x00"),
]


@pytest.mark.parametrize("upstream", ["tinyproxy", "tinyproxy_auth", "squid"])
@pytest.mark.parametrize("scheme,remote_name,version,code", MODES, ids=[m[0] for m in MODES])
def test_curl_get(request, socks2http, origin, upstream, scheme, remote_name, version, code):
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    host = "localhost" if remote_name else "127.0.0.1"
    r = curl("--proxy", f"{scheme}://127.0.0.1:{d.port}", origin.url(host))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    # The name went to the proxy unresolved (4a, 5h); the tunnel line says what happened.
    t = d.wait_tunnel(target=f"{host}:{origin.port}")
    assert t["socks"] == version
    assert t["proxy"] == up.addr
    assert t["http"] == "200"
    assert t["reply"] == code
    assert t["client"].startswith("127.0.0.1:")
    assert int(t["up"]) > len("GET /hello HTTP/1.1\r\n")
    assert int(t["down"]) > len(origin.body)
    assert re.fullmatch(r"\d+(\.\d+)?s", t["time"]), t
    if up.password:
        log = d.log()
        assert up.password not in log
        assert base64.b64encode(f"{up.user}:{up.password}".encode()).decode() not in log


def test_curl_larger_download_through_squid(socks2http, origin, squid):
    d = socks2http("-x", squid.url)
    n = 3_000_001
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost", f"/size/{n}"))
    assert r.returncode == 0, r.stderr.decode()
    assert hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(pattern(n)).hexdigest()
    t = d.wait_tunnel(target=f"localhost:{origin.port}")
    assert int(t["down"]) > n


def test_curl_several_requests_one_daemon(socks2http, origin, tinyproxy):
    """Sequential tunnels on one daemon, each logged once."""
    d = socks2http("-x", tinyproxy.url)
    for i in range(5):
        r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == origin.body
    assert len(d.wait_tunnels(5, target=f"localhost:{origin.port}")) == 5

