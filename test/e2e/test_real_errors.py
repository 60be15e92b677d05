"""Failure replies made from what real proxies answer (squid's X-Squid-Error, tinyproxy's
500), end to end."""

import pytest

import upstreams
from socksclient import recv_until_eof, socks4_open, socks5_open


def socks5_code(d, host, port):
    s, rep = socks5_open(d.port, host, port, timeout=15)
    assert recv_until_eof(s, 5) == b""
    s.close()
    return rep.rep


def test_squid_refused_is_05(socks2http, squid, closed_port):
    d = socks2http("-x", squid.url)
    assert socks5_code(d, "127.0.0.1", closed_port) == 0x05
    t = d.wait_tunnel()
    assert t["http"] in ("503", "504") and t["reply"] == "0x05"


def test_squid_refused_socks4_is_91(socks2http, squid, closed_port):
    d = socks2http("-x", squid.url)
    s, code = socks4_open(d.port, "127.0.0.1", closed_port)
    assert code == 91
    s.close()


def test_squid_port_policy_is_02(socks2http, squid):
    d = socks2http("-x", squid.url)
    assert socks5_code(d, "127.0.0.1", upstreams.SQUID_BLOCKED_PORT) == 0x02
    assert d.wait_tunnel()["http"] == "403"


def test_squid_unresolvable_name_is_04(socks2http, squid):
    """squid answers 503 ERR_DNS_FAIL, or 500 ERR_CANNOT_FORWARD without any DNS server."""
    d = socks2http("-x", squid.url)
    assert socks5_code(d, "no-such-host.invalid", 443) == 0x04


def test_squid_wrong_password_is_02(socks2http, squid, origin):
    d = socks2http("-x", f"http://{squid.user}:not-the-password@127.0.0.1:{squid.port}")
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    assert d.wait_tunnel()["http"] == "407"


@pytest.mark.parametrize("upstream", ["tinyproxy", "tinyproxy_auth"])
def test_tinyproxy_refused_is_failure(request, socks2http, closed_port, upstream):
    up = request.getfixturevalue(upstream)
    d = socks2http("-x", up.url)
    code = socks5_code(d, "127.0.0.1", closed_port)
    t = d.wait_tunnel()
    assert t["http"] != "200" and t["http"] != "-"
    # tinyproxy says 500 for every upstream failure: "other 5xx" is 04
    assert code == (0x04 if t["http"].startswith("5") else 0x02), t


def test_tinyproxy_without_credentials_is_02(socks2http, tinyproxy_auth, origin):
    d = socks2http("-x", f"http://127.0.0.1:{tinyproxy_auth.port}")
    assert socks5_code(d, "127.0.0.1", origin.port) == 0x02
    assert d.wait_tunnel()["http"] == "407"
