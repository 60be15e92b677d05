"""The upstream proxy from the environment when there is no -x."""

import base64

import pytest

from daemon import clean_env, run_cli
from fakeproxy import basic_first, ok
from socksclient import recv_exact, socks5_open

ORDER = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy"]


def via(d, fp):
    """One tunnel through d; asserts it went through fake proxy fp."""
    n = len(fp.requests)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.sendall(b"env")
    assert recv_exact(s, 3) == b"env"
    s.close()
    return fp.wait_requests(n + 1)[-1]


@pytest.mark.parametrize("winner", range(len(ORDER)), ids=ORDER)
def test_env_priority(socks2http, fake_proxy, winner):
    """Variables from `winner` on are set, each to its own proxy: the first one set wins."""
    fps = [fake_proxy(ok()) for _ in ORDER]
    env = clean_env(**{ORDER[i]: fps[i].url for i in range(winner, len(ORDER))})
    d = socks2http(env=env)
    via(d, fps[winner])
    assert all(not fp.requests for i, fp in enumerate(fps) if i != winner)
    t = d.wait_tunnel()
    assert t["proxy"] == f"127.0.0.1:{fps[winner].port}"


def test_env_proxy_without_scheme_and_with_trailing_slash(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http(env=clean_env(https_proxy=f"127.0.0.1:{fp.port}"))
    via(d, fp)
    fp2 = fake_proxy(ok())
    d2 = socks2http(env=clean_env(all_proxy=fp2.url + "/"))
    via(d2, fp2)


def test_command_line_proxy_beats_env(socks2http, fake_proxy):
    env_fp, cli_fp = fake_proxy(ok()), fake_proxy(ok())
    d = socks2http("-x", cli_fp.url, env=clean_env(https_proxy=env_fp.url, http_proxy=env_fp.url))
    via(d, cli_fp)
    assert env_fp.requests == []


def test_uppercase_HTTP_PROXY_is_not_used(binary):
    """HTTP_PROXY is not in the list (it can be set by a CGI request header)."""
    r = run_cli(binary, ["-l", "127.0.0.1:0"], env=clean_env(HTTP_PROXY="http://127.0.0.1:3128"))
    assert r.returncode == 1, r.stderr
    assert b"-x" in r.stderr and b"https_proxy" in r.stderr


def test_password_from_env_with_user_in_url(socks2http, fake_proxy):
    fp = fake_proxy(basic_first())
    secret = "env-Secret:with colon"
    d = socks2http("-x", fp.url_with("alice"), env=clean_env(SOCKS2HTTP_PROXY_PASSWORD=secret))
    req = via(d, fp)
    assert req.header("Proxy-Authorization") == [
        "Basic " + base64.b64encode(f"alice:{secret}".encode()).decode()]
    d.wait_tunnel()
    assert secret not in d.log()


def test_password_from_env_for_env_proxy(socks2http, fake_proxy):
    fp = fake_proxy(basic_first())
    d = socks2http(env=clean_env(https_proxy=fp.url_with("bob"), SOCKS2HTTP_PROXY_PASSWORD="hunter2x"))
    req = via(d, fp)
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(b"bob:hunter2x").decode()]


def test_password_in_url_wins_over_env(socks2http, fake_proxy):
    fp = fake_proxy(basic_first())
    d = socks2http("-x", fp.url_with("carol:inurl"), env=clean_env(SOCKS2HTTP_PROXY_PASSWORD="fromenv"))
    req = via(d, fp)
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(b"carol:inurl").decode()]


def test_env_password_with_real_squid(socks2http, squid, origin):
    from clients import curl

    d = socks2http("-x", f"http://{squid.user}@127.0.0.1:{squid.port}",
                   env=clean_env(SOCKS2HTTP_PROXY_PASSWORD=squid.password))
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == origin.body
    d.wait_tunnel(http="200")
    assert squid.password not in d.log()

