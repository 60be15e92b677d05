"""`socks2http check [TARGET]`: one tunnel walked stage by stage, exit status, advice, --json."""

import json
import os
import re

import pytest

from daemon import clean_env, run_cli
from fakeproxy import relay, respond

STAGES = ["config", "route", "resolve", "connect", "proxy-reply", "first-bytes"]


def check(binary, *args, env=None, timeout=15.0):
    r = run_cli(binary, ["check"] + list(args), env=env, timeout=timeout)
    assert b"Sanitizer" not in r.stderr and b"runtime error" not in r.stderr, r.stderr.decode()
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def stage_names(out):
    return [m.group(2) for m in re.finditer(r"^  (ok|FAIL) +[\d.]+ ms  (\S+)", out, re.M)]


def test_good_proxy_and_a_banner(binary, fake_proxy, banner, token):
    p = fake_proxy(relay())
    rc, out, err = check(binary, f"127.0.0.1:{banner.port}", "-x", p.url)
    assert rc == 0, out + err
    assert stage_names(out) == STAGES, out
    assert "FAIL" not in out
    assert re.search(r"ok .* connect +127\.0\.0\.1:%d" % int(p.url.rsplit(":", 1)[1]), out), out
    assert re.search(r"proxy-reply +200 Connection established; auth offered: none; sent: none", out), out
    assert f"220 banner {token} ready" in out, out
    assert "verdict: the tunnel works" in out
    assert p.requests[0].target() == ("127.0.0.1", banner.port)


def test_real_proxy_target_that_waits_for_the_client(binary, tinyproxy, origin):
    host, port = origin.url().split("/")[2].rsplit(":", 1)
    rc, out, err = check(binary, f"{host}:{port}", "-x", tinyproxy.url)
    assert rc == 0, out + err
    assert stage_names(out) == STAGES, out
    assert re.search(r"first-bytes +none within 2s \(normal for TLS and HTTP", out), out


def test_port_22_refused(binary, fake_proxy):
    p = fake_proxy(respond(b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n"))
    rc, out, err = check(binary, "git.example:22", "-x", p.url)
    assert rc == 1, out + err
    assert re.search(r"FAIL .* proxy-reply +403 Forbidden; X-Squid-Error: ERR_ACCESS_DENIED 0", out), out
    assert "advice: the proxy refuses CONNECT to port 22: many proxies allow only 443" in out
    assert "verdict: the proxy refused the tunnel" in out


@pytest.mark.parametrize("fields", [
    b"Proxy-Authenticate: Negotiate, NTLM, Basic realm=\"a, b\"\r\n",
    b"Proxy-Authenticate: Negotiate,\r\n NTLM,\r\n\tBasic realm=\"corp\"\r\n",
], ids=["one-value", "folded"])
def test_offered_schemes_listed_whole(binary, fake_proxy, fields):
    """Every scheme a 407 offers is listed, also when several share one field value or the
    value is folded over lines (RFC 9112 section 5.2): read as auth reads them, not by the
    first word of each line ("Negotiate," is Negotiate, not "other")."""
    p = fake_proxy(respond(b"HTTP/1.1 407 Proxy Authentication Required\r\n" + fields + b"\r\n"))
    rc, out, _ = check(binary, "example.com:443", "-x", p.url)
    assert rc == 1
    assert "auth offered: Basic, NTLM, Negotiate; sent: none" in out, out


def test_credentials_wanted(binary, fake_proxy):
    head = (b"HTTP/1.1 407 Proxy Authentication Required\r\n"
            b"Proxy-Authenticate: Basic realm=\"corp\"\r\nProxy-Authenticate: NTLM\r\n\r\n")
    p = fake_proxy(respond(head))
    rc, out, _ = check(binary, "example.com:443", "-x", p.url)
    assert rc == 1
    assert "auth offered: Basic, NTLM; sent: none" in out, out
    assert "advice: the proxy wants credentials (it offers: Basic, NTLM): give user:password" in out, out
    # with credentials that it refuses
    rc, out, _ = check(binary, "example.com:443", "-x", p.url_with("alice:wrong"))
    assert rc == 1
    assert "sent: Basic" in out, out
    assert "advice: the proxy refused our Basic credentials (it offers: Basic, NTLM)" in out, out
    assert "wrong" not in out


def test_kerberos_wanted_without_a_ticket(binary, fake_proxy, tmp_path):
    """Only Negotiate offered, no ticket (an empty cache): the advice says kinit."""
    p = fake_proxy(respond(b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Negotiate\r\n\r\n"))
    env = dict(os.environ, KRB5CCNAME=f"FILE:{tmp_path}/none", KRB5_CONFIG=str(tmp_path / "none.conf"))
    rc, out, _ = check(binary, "example.com:443", "-x", p.url, env=env)
    assert rc == 1
    assert "advice: authentication failed: no scheme left to try (negotiate failed)" in out, out
    assert "kinit" in out, out


def test_squid_error_and_5xx(binary, fake_proxy):
    p = fake_proxy(respond(b"HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\n\r\n"))
    rc, out, _ = check(binary, "down.example:443", "-x", p.url)
    assert rc == 1
    assert "X-Squid-Error: ERR_CONNECT_FAIL 111" in out, out
    assert "advice: the proxy could not open the path to down.example:443 (503)" in out, out


def test_malformed_answer(binary, fake_proxy):
    p = fake_proxy(respond(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    rc, out, _ = check(binary, "example.com:443", "-x", p.url)
    assert rc == 1
    assert "verdict: the proxy's answer was malformed" in out, out
    assert "is -x an HTTP proxy" in out


def test_proxy_refuses_connections(binary, closed_port):
    rc, out, _ = check(binary, "example.com:443", "-x", f"http://127.0.0.1:{closed_port}")
    assert rc == 1
    assert re.search(r"FAIL .* connect +127\.0\.0\.1:%d: Connection refused" % closed_port, out), out
    assert "check the port in -x / https_proxy" in out
    assert "verdict: no proxy could be reached" in out


def test_proxy_name_does_not_resolve(binary):
    rc, out, _ = check(binary, "example.com:443", "-x", "http://no-such-proxy.invalid:3128", "--dns-timeout", "1")
    assert rc == 1
    assert re.search(r"FAIL .* resolve +cannot resolve no-such-proxy\.invalid", out), out
    assert "advice: the proxy's name no-such-proxy.invalid does not resolve: check -x / https_proxy" in out


def test_configuration_from_environment_and_file(binary, fake_proxy, banner, tmp):
    p = fake_proxy(relay())
    rc, out, _ = check(binary, f"127.0.0.1:{banner.port}", env=clean_env(https_proxy=p.url))
    assert rc == 0, out
    assert "proxy_source=https_proxy config_file=none" in out, out
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {p.url}\n")
    os.chmod(conf, 0o600)
    rc, out, _ = check(binary, "-c", conf, f"127.0.0.1:{banner.port}")
    assert rc == 0, out
    assert f"proxy_source=-x config_file={conf}" in out, out


def test_default_config_file(binary, fake_proxy, banner, tmp):
    """Without -c, check reads $XDG_CONFIG_HOME/socks2http/config as the daemon does (the README
    promises the same options, config file and environment), says which file it read, and the
    command line still wins over it.  It used to ignore the file: "no upstream proxy"."""
    p = fake_proxy(relay())
    xdg = os.path.join(tmp, "xdg")
    os.makedirs(os.path.join(xdg, "socks2http"))
    conf = os.path.join(xdg, "socks2http", "config")
    with open(conf, "w") as f:
        f.write(f"proxy {p.url}\n")
    os.chmod(conf, 0o600)
    rc, out, _ = check(binary, f"127.0.0.1:{banner.port}", env=clean_env(XDG_CONFIG_HOME=xdg))
    assert rc == 0, out
    assert f"config_file={conf} proxies: 127.0.0.1:{p.url.rsplit(':', 1)[1]}" in out, out
    assert p.requests[0].target() == ("127.0.0.1", banner.port)
    # the file's errors are reported as the daemon reports them
    with open(conf, "a") as f:
        f.write("no-such-option 1\n")
    rc, out, err = check(binary, f"127.0.0.1:{banner.port}", env=clean_env(XDG_CONFIG_HOME=xdg))
    assert rc == 2 and "no-such-option" in err, out + err


def test_no_proxy_configured(binary):
    rc, out, _ = check(binary)
    assert rc == 1
    assert re.search(r"FAIL .* config ", out), out
    assert "advice: name the proxy with -x" in out


def test_json(binary, fake_proxy, banner, closed_port):
    p = fake_proxy(relay())
    rc, out, _ = check(binary, "--json", f"127.0.0.1:{banner.port}", "-x", p.url)
    assert rc == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["target"] == f"127.0.0.1:{banner.port}"
    assert [s["name"] for s in doc["stages"]] == STAGES
    assert all(s["ok"] is True and isinstance(s["ms"], float) for s in doc["stages"])
    assert "220 banner" in doc["stages"][-1]["detail"]
    assert doc["verdict"] == "the tunnel works" and doc["advice"] == []
    rc, out, _ = check(binary, "example.com:443", "--json", "-x", f"http://127.0.0.1:{closed_port}")
    assert rc == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["stages"][-1] == {**doc["stages"][-1], "name": "connect", "ok": False}
    assert any("check the port" in a for a in doc["advice"])


def test_usage_errors(binary):
    assert check(binary, "no-port-here", "-x", "http://127.0.0.1:3128")[0] == 2
    assert check(binary, "example.com:443", "--bogus")[0] == 2
    rc, out, _ = check(binary, "--help")
    assert rc == 0 and "socks2http check [TARGET]" in out


def test_route_rule_direct_and_block(binary, fake_proxy, banner):
    """check shows the route a target takes: a rule's direct connection (the proxy sees
    nothing), or a block (exit 1, nothing dialled)."""
    p = fake_proxy(relay())
    rc, out, err = check(binary, f"127.0.0.1:{banner.port}", "-x", p.url, "--route", "127.0.0.1 direct")
    assert rc == 0, out + err
    assert re.search(r"ok .* route +127\.0\.0\.1:%d via a direct connection \(rule 1: 127\.0\.0\.1 direct\)"
                     % banner.port, out), out
    assert re.search(r"ok .* connect +127\.0\.0\.1:%d" % banner.port, out), out
    assert "verdict: the tunnel works" in out
    rc, out, err = check(binary, "ads.example:443", "-x", p.url, "--route", "ads.example block")
    assert rc == 1, out + err
    assert re.search(r"FAIL .* route +ads\.example:443 is blocked \(rule 1: ads\.example block\)", out), out
    assert "verdict: a --route rule blocks this target" in out
    assert not p.requests


def test_route_direct_target_refused(binary, closed_port):
    rc, out, _ = check(binary, f"127.0.0.1:{closed_port}", "--no-proxy", "*")
    assert rc == 1
    assert re.search(r"route +127\.0\.0\.1:%d via a direct connection \(--no-proxy\)" % closed_port, out), out
    assert re.search(r"FAIL .* connect +127\.0\.0\.1:%d: Connection refused" % closed_port, out), out
    assert "verdict: the target could not be reached directly" in out, out


def test_route_from_a_pac(binary, fake_proxy, banner, tmp):
    p = fake_proxy(relay())
    port = int(p.url.rsplit(":", 1)[1])
    pac = os.path.join(tmp, "check.pac")
    with open(pac, "w") as f:
        f.write('function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:%d; DIRECT"; }\n' % port)
    rc, out, err = check(binary, f"127.0.0.1:{banner.port}", "--pac", pac)
    assert rc == 0, out + err
    assert re.search(r"ok .* pac +2 entries from ", out), out
    assert re.search(r"route +127\.0\.0\.1:%d via 127\.0\.0\.1:%d, then a direct connection \(the PAC\)"
                     % (banner.port, port), out), out
    assert p.requests[0].target() == ("127.0.0.1", banner.port)
    # no PAC to be had: said, and the target goes direct
    rc, out, err = check(binary, f"127.0.0.1:{banner.port}", "--pac", os.path.join(tmp, "missing.pac"))
    assert rc == 0, out + err
    assert re.search(r"FAIL .* pac +\S+missing\.pac could not be fetched .*: targets go direct", out), out
    assert "via a direct connection (no PAC: direct)" in out, out
