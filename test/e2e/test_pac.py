"""--pac URL (http://, file://, a path), --pac-timeout, --pac-refresh, --pac-cache: the PAC's
answers are followed (PROXY in failover order, DIRECT, SOCKS and HTTPS skipped), a PAC that
loops or throws stops nothing, a broken PAC keeps the last good one, a PAC server that goes
away means direct until it comes back, and the PAC is never fetched through a proxy."""

import os
import re
import signal
import threading
import time

import pytest

from daemon import clean_env
from fakeproxy import ok
from hardening import fakedns, wait_until  # noqa: F401 (fixture)
from pacserver import pac_script, pac_server, refused, returning  # noqa: F401 (fixture)
from routing import echoes, no_requests, wait_target
from socksclient import recv_until_eof, socks4_open, socks5_open


def proxy(fp):
    return f"PROXY 127.0.0.1:{fp.port}"


def dns_args(dns):
    return ["--dns-servers", dns.addr, "--dns-timeout", "0.3"]


LOADED = r"\bPAC\b.*\bloaded\b"  # "PAC http://127.0.0.1:PORT/proxy.pac loaded (57 bytes)"


def start(socks2http, pac, *args, env=None, loaded=True):
    """The daemon with --pac pac (a PacServer or a path/URL string).  Waits until the PAC has
    been fetched and loaded (its log line), so that the first tunnel finds it; with
    loaded=False (no PAC to be had) half a second instead."""
    url = pac if isinstance(pac, str) else pac.url
    d = socks2http("--pac", url, *args, env=env)
    if not isinstance(pac, str):
        pac.wait_gets(1, timeout=5)
    if loaded:
        d.wait_line(LOADED, timeout=5)
    else:
        time.sleep(0.5)
    return d


def goes_to(d, fp, host, port=443):
    """A SOCKS5 tunnel to host:port succeeds through the recording proxy fp."""
    before = len(fp.requests)
    s, rep = socks5_open(d.port, host, port)
    assert rep.rep == 0, f"{host}:{port}: {rep!r}"
    s.close()
    reqs = fp.wait_requests(before + 1, timeout=5)
    assert reqs[before].line == f"CONNECT {host}:{port} HTTP/1.1"
    return wait_target(d, host, port)


# ---------------------------------------------------------------- answers

def test_pac_proxy_answer(socks2http, fake_proxy, pac_server):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    d = start(socks2http, pac, "-x", a.url)
    t = goes_to(d, b, "pac.example")
    assert t.get("route") == "pac-proxy" and t["proxy"] == f"127.0.0.1:{b.port}", t
    s, code = socks4_open(d.port, "10.1.2.3", 443)
    assert code == 90
    s.close()
    assert b.wait_requests(2)[1].line == "CONNECT 10.1.2.3:443 HTTP/1.1"
    no_requests(a)


def test_pac_direct_answer(socks2http, fake_proxy, pac_server, echo):
    a = fake_proxy(ok())
    pac = pac_server(returning("DIRECT"))
    d = start(socks2http, pac, "-x", a.url)
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
    assert rep.rep == 0
    echoes(s, b"pac said direct")
    assert d.wait_tunnel().get("route") == "pac-direct"
    no_requests(a)


def test_pac_proxy_failover(socks2http, fake_proxy, pac_server, closed_port):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(f"PROXY 127.0.0.1:{closed_port}; {proxy(b)}"))
    d = start(socks2http, pac, "-x", a.url)
    t = goes_to(d, b, "failover.example")
    assert t.get("route") == "pac-proxy" and t["proxy"] == f"127.0.0.1:{b.port}", t
    no_requests(a)


def test_pac_dead_proxy_then_direct(socks2http, fake_proxy, pac_server, closed_port, echo):
    a = fake_proxy(ok())
    pac = pac_server(returning(f"PROXY 127.0.0.1:{closed_port}; DIRECT"))
    d = start(socks2http, pac, "-x", a.url)
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
    assert rep.rep == 0
    echoes(s, b"the proxy is dead, direct it is")
    assert d.wait_tunnel().get("route", "").startswith("pac-")  # the PAC's plan, whichever entry served
    no_requests(a)


def test_pac_socks_entries_skipped_https_tried(socks2http, fake_proxy, pac_server, acceptor, closed_port):
    """SOCKS entries are skipped (said once); an HTTPS entry is a proxy spoken to over TLS:
    tried in its turn (here nothing listens there), then the next entry."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    sx = acceptor()
    pac = pac_server(returning(f"SOCKS5 127.0.0.1:{sx.port}; SOCKS 127.0.0.1:{sx.port}; "
                               f"HTTPS 127.0.0.1:{closed_port}; {proxy(b)}"))
    d = start(socks2http, pac, "-x", a.url)
    goes_to(d, b, "skip.example")
    d.wait_line(r"(?i)(skip\w*.*\bSOCKS|\bSOCKS\S*.*skip)")
    d.wait_line(rf"127\.0\.0\.1:{closed_port}.*(refused|connect)")
    assert sx.pending() == 0, "a SOCKS entry of the PAC was connected to"
    no_requests(a)


def test_pac_host_lowercased_as_browsers_do(socks2http, fake_proxy, pac_server):
    """Browsers canonicalise the URL: FindProxyForURL sees the host in lower case and without a
    trailing dot.  A client that spells the name with capitals (or ends it with a dot) must get
    the route the PAC gives the lower-case name, not fall through its dnsDomainIs tests."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(pac_script(f"""
        if (dnsDomainIs(host, ".corp.example") && shExpMatch(url, "*.corp.example/*")) return "{proxy(b)}";
        return "{proxy(a)}";"""))
    d = start(socks2http, pac)
    goes_to(d, b, "intranet.corp.example")
    goes_to(d, b, "Intranet.Corp.Example")
    goes_to(d, b, "WIKI.CORP.EXAMPLE.")
    no_requests(a)


@pytest.mark.parametrize("answer", ["", ";", " ; ;"])
def test_pac_empty_answer_means_direct(socks2http, fake_proxy, pac_server, echo, answer):
    """Chromium (ProxyList::SetFromPacString) and Firefox take an answer with no usable entry
    as DIRECT; the -x proxy is kept for a PAC that throws or runs out of time."""
    a = fake_proxy(ok())
    pac = pac_server(returning(answer))
    d = start(socks2http, pac, "-x", a.url)
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
    assert rep.rep == 0
    echoes(s, b"empty answer")
    s.close()
    t = d.wait_tunnel()
    assert t.get("route") == "pac-direct", t
    no_requests(a)


def test_pac_url_argument_as_browsers_pass_it(socks2http, fake_proxy, pac_server):
    """url is https://host/ for 443, http://host:port/ else, http://host/ for 80; IPv6 bracketed."""
    good = [fake_proxy(ok()) for _ in range(4)]
    wrong = fake_proxy(ok())
    pac = pac_server(pac_script(f"""
        if (url == "https://" + host + "/") return "{proxy(good[0])}";
        if (url == "http://" + host + ":8080/") return "{proxy(good[1])}";
        if (url == "http://" + host + "/") return "{proxy(good[2])}";
        if (host == "2001:db8::1" && url == "https://[2001:db8::1]/") return "{proxy(good[3])}";
        return "{proxy(wrong)}";"""))
    d = start(socks2http, pac, "-x", wrong.url)
    goes_to(d, good[0], "u.example", 443)
    goes_to(d, good[1], "u.example", 8080)
    goes_to(d, good[2], "u.example", 80)
    s, rep = socks5_open(d.port, "2001:db8::1", 443)
    assert rep.rep == 0
    s.close()
    assert good[3].wait_requests(1)[0].line == "CONNECT [2001:db8::1]:443 HTTP/1.1"
    no_requests(wrong)


def test_pac_helper_functions(socks2http, fake_proxy, pac_server, fakedns):
    b, c, e, x = (fake_proxy(ok()) for _ in range(4))
    dns = fakedns("nxdomain")
    pac = pac_server(pac_script(f"""
        if (isPlainHostName(host)) return "DIRECT";
        if (dnsDomainIs(host, ".corp.test")) return "{proxy(b)}";
        if (shExpMatch(host, "*.shexp.test")) return "{proxy(c)}";
        if (/^[0-9.]+$/.test(host) && isInNet(host, "10.0.0.0", "255.0.0.0")) return "{proxy(e)}";
        return "{proxy(x)}";"""))
    d = start(socks2http, pac, "-x", x.url, *dns_args(dns))
    goes_to(d, b, "a.corp.test")
    goes_to(d, c, "deep.x.shexp.test")
    goes_to(d, e, "10.2.3.4")
    goes_to(d, x, "11.2.3.4")
    goes_to(d, x, "other.test")
    s, rep = socks5_open(d.port, "plainhost", 443)  # DIRECT: NXDOMAIN from the fake DNS
    assert rep.rep == 0x04, rep
    s.close()
    assert wait_target(d, "plainhost", 443).get("route") == "pac-direct"
    assert len(x.requests) == 2


# ---------------------------------------------------------------- a PAC that misbehaves

def test_pac_endless_loop(socks2http, fake_proxy, pac_server, echo):
    """FindProxyForURL loops forever for one host.  That tunnel still gets an answer within
    about --pac-timeout (3 s here); tunnels that need no PAC call (a rule, a cached answer) go on at once
    meanwhile; afterwards the PAC answers again (a new worker with the same script)."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(pac_script(f"""
        if (host == "loop.example") {{ while (true) {{}} }}
        return "{proxy(b)}";"""))
    d = start(socks2http, pac, "-x", a.url, "--pac-timeout", "3", "--route", "127.0.0.1 direct")
    goes_to(d, b, "cached.example")  # its answer is cached from now on
    result = {}

    def looping():
        t0 = time.monotonic()
        try:
            s, rep = socks5_open(d.port, "loop.example", 443, timeout=10)
            result["rep"] = rep.rep
            s.close()
        except Exception as e:  # noqa: BLE001 (asserted below)
            result["error"] = repr(e)
        result["took"] = time.monotonic() - t0

    th = threading.Thread(target=looping, daemon=True)
    th.start()
    time.sleep(0.3)  # the worker is inside the loop now
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "127.0.0.1", echo.port, timeout=5)
    assert rep.rep == 0
    echoes(s, b"a rule needs no PAC")
    s, rep = socks5_open(d.port, "cached.example", 443, timeout=5)
    assert rep.rep == 0
    s.close()
    assert time.monotonic() - t0 < 1.5, "tunnels waited for the looping PAC"
    th.join(10)
    assert "error" not in result, result
    assert result["took"] < 6.0, f"the looping host got its answer after {result['took']:.1f}s (--pac-timeout 3)"
    assert d.alive()
    goes_to(d, b, "after-loop.example")
    assert wait_target(d, "loop.example", 443)["reply"] == f"0x{result['rep']:02x}"


def test_pac_that_throws(socks2http, fake_proxy, pac_server):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(pac_script(f"""
        if (host == "throw.example") throw new Error("pac-boom-42");
        return "{proxy(b)}";"""))
    d = start(socks2http, pac, "-x", a.url)
    t0 = time.monotonic()
    s, rep = socks5_open(d.port, "throw.example", 443, timeout=10)
    assert time.monotonic() - t0 < 3
    s.close()
    wait_target(d, "throw.example", 443)
    d.wait_line(r"pac-boom-42")
    goes_to(d, b, "fine.example")
    assert d.alive()


def test_pac_syntax_error_on_refresh_keeps_the_old(socks2http, fake_proxy, pac_server):
    a, b, c = fake_proxy(ok()), fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    d = start(socks2http, pac, "-x", a.url, "--pac-refresh", "1")
    goes_to(d, b, "v1.example")
    n = pac.count()
    pac.set("function FindProxyForURL(url, host) { return 'PROXY 127.0.0.1:1'; ")  # no closing brace
    pac.wait_gets(n + 2, timeout=6)  # fetched (and refused) at least once
    time.sleep(0.3)
    goes_to(d, b, "v2.example")
    n = pac.count()
    pac.set(returning(proxy(c)))
    pac.wait_gets(n + 1, timeout=6)
    # the good script replaces the old one as soon as it is loaded
    wait_until(lambda: _through(d, c, f"v3-{time.monotonic_ns()}.example"), 5, interval=0.2,
               what="the new PAC in use")
    no_requests(a)


def _through(d, fp, host):
    """True when a tunnel to host went through fp (a new host each time: no cached answer)."""
    before = len(fp.requests)
    s, rep = socks5_open(d.port, host, 443)
    s.close()
    time.sleep(0.1)
    return rep.rep == 0 and len(fp.requests) > before


def _pac_direct_notices(d):
    return [line for line in d.log().splitlines()
            if re.search(r"(?i)\bpac\b", line) and re.search(r"(?i)\bdirect\b", line)
            and not re.search(r"\btunnel\s+client=", line)]


@pytest.mark.parametrize("how", ["sighup", "refresh"])
def test_pac_server_away_then_back(socks2http, fake_proxy, pac_server, echo, how):
    """No PAC at start: targets go direct, logged once.  The server comes back: after SIGHUP
    (or the next retry, --pac-refresh 1 caps the retry delay) the PAC is used."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    pac.stop()
    assert refused(pac.port)
    args = ["-x", a.url] + (["--pac-refresh", "1"] if how == "refresh" else ["--pac-refresh", "600"])
    d = start(socks2http, pac.url, *args, loaded=False)
    notices = None
    for i in range(3):
        s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
        assert rep.rep == 0, rep
        echoes(s, b"no PAC: direct %d" % i)
        d.wait_tunnels(i + 1)
        if i == 0:
            wait_until(lambda: _pac_direct_notices(d), 5, what="a line saying there is no PAC and targets go direct")
            notices = _pac_direct_notices(d)
    ts = d.wait_tunnels(3)
    assert all(t.get("route") in ("direct", "pac-direct", "nopac-direct") for t in ts), ts
    if how == "sighup":  # no retry within the test (the first comes 30 s later): logged once, not per tunnel
        assert _pac_direct_notices(d) == notices, _pac_direct_notices(d)
    no_requests(a)
    pac.start()
    if how == "sighup":
        d.signal(signal.SIGHUP)
    pac.wait_gets(1, timeout=8)
    wait_until(lambda: _through(d, b, f"back-{time.monotonic_ns()}.example"), 5, interval=0.2,
               what="the PAC in use once its server is back")
    no_requests(a)


def test_pac_server_goes_away_keeps_the_script(socks2http, fake_proxy, pac_server):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    d = start(socks2http, pac, "-x", a.url, "--pac-refresh", "1")
    goes_to(d, b, "before.example")
    pac.stop()
    time.sleep(2.5)  # a refresh or two fail
    goes_to(d, b, "after.example")
    assert d.wait_tunnel(target="after.example:443").get("route") == "pac-proxy"
    pac.set(returning("DIRECT"), status=404)
    pac.start()
    time.sleep(2.5)  # a 404 is no script either
    goes_to(d, b, "after404.example")
    no_requests(a)


def test_pac_kept_across_sighup_while_its_server_is_gone(socks2http, fake_proxy, pac_server, tmp):
    """A reload with the same PAC URL takes the last good script over: with the server gone,
    targets still follow the PAC, not direct."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {a.url}\npac {pac.url}\n")
    d = socks2http("-c", conf)
    pac.wait_gets(1, timeout=5)
    d.wait_line(LOADED, timeout=5)
    goes_to(d, b, "before-hup.example")
    pac.stop()
    d.signal(signal.SIGHUP)
    d.wait_line(r"reloaded")
    time.sleep(0.5)
    t = goes_to(d, b, "after-hup.example")
    assert t.get("route") == "pac-proxy", t
    no_requests(a)


def test_sighup_old_generation_stops_fetching(socks2http, pac_server, echo):
    """After SIGHUP the new configuration fetches the PAC; one still used by an open tunnel
    (an SSH session can last for days) must stop its own fetch schedule: one fetcher, not one
    more per reload.  With --pac-refresh 1 and three old generations held open, the PAC
    server must see about one GET a second, not four."""
    pac = pac_server(returning("DIRECT"))
    d = start(socks2http, pac, "--pac-refresh", "1")
    held = []
    for _ in range(3):
        s, rep = socks5_open(d.port, "127.0.0.1", echo.port)
        assert rep.rep == 0
        held.append(s)  # one tunnel open on each generation
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
    n0 = len(pac.gets)
    time.sleep(5)
    rate = (len(pac.gets) - n0) / 5
    assert rate <= 1.5, f"{rate:.1f} PAC GETs a second with --pac-refresh 1"
    for s in held:
        echoes(s, b"still open")
        s.close()


# ---------------------------------------------------------------- where the PAC comes from

@pytest.mark.parametrize("form", ["file-url", "path"])
def test_pac_from_file(socks2http, fake_proxy, tmp, form):
    a, b, c = fake_proxy(ok()), fake_proxy(ok()), fake_proxy(ok())
    path = os.path.join(tmp, "proxy.pac")
    with open(path, "w") as f:
        f.write(returning(proxy(b)))
    d = start(socks2http, f"file://{path}" if form == "file-url" else path, "-x", a.url)
    t = goes_to(d, b, "file.example")
    assert t.get("route") == "pac-proxy"
    with open(path + ".new", "w") as f:
        f.write(returning(proxy(c)))
    os.replace(path + ".new", path)
    d.signal(signal.SIGHUP)
    wait_until(lambda: _through(d, c, f"hup-{time.monotonic_ns()}.example"), 5, interval=0.2,
               what="the rewritten PAC file in use after SIGHUP")
    no_requests(a)


def test_pac_never_fetched_through_the_proxy(socks2http, fake_proxy, pac_server, tmp):
    """-x and http_proxy both name the recording proxy: it sees CONNECTs for targets only,
    never a GET for the PAC; the PAC server is asked directly."""
    a = fake_proxy(ok())
    pac = pac_server(returning("PROXY 127.0.0.1:1; DIRECT"))
    env = clean_env(XDG_RUNTIME_DIR=tmp, http_proxy=a.url, HTTP_PROXY=a.url, https_proxy=a.url)
    d = start(socks2http, pac, "-x", a.url, env=env)
    s, rep = socks5_open(d.port, "127.0.0.1", pac.port)  # any tunnel: the PAC is in use
    s.close()
    d.signal(signal.SIGHUP)  # and fetched again
    pac.wait_gets(2, timeout=8)
    time.sleep(0.3)
    assert all(r.line.startswith("CONNECT ") for r in a.requests), a.requests
    assert not any(f":{pac.port}" in r.line for r in a.requests), a.requests
    line, headers, peer = pac.gets[0]
    assert line.startswith("GET /proxy.pac HTTP/1.")
    assert peer[0] == "127.0.0.1"


def test_pac_file_url_percent_encoded(socks2http, fake_proxy, tmp):
    """file:///dir%20with%20space/proxy.pac names "dir with space" (RFC 8089; browsers
    decode it); an encoded slash (%2F) is refused with a clear error."""
    b = fake_proxy(ok())
    os.makedirs(os.path.join(tmp, "my pac"))
    path = os.path.join(tmp, "my pac", "proxy.pac")
    with open(path, "w") as f:
        f.write(returning(proxy(b)))
    url = "file://" + path.replace(" ", "%20")
    d = socks2http("--pac", url)
    d.wait_line(LOADED, timeout=5)
    goes_to(d, b, "file.example")
    d2 = socks2http("--pac", url.replace("/proxy.pac", "%2Fproxy.pac"))
    d2.wait_line(r"PAC unavailable.*\(an encoded /\) is not allowed", timeout=5)


class Redirector:
    """An HTTP server whose every GET answers `code` with Location: target."""

    def __init__(self, target, code=302):
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(code)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/wpad.dat"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_pac_redirect_followed(socks2http, fake_proxy, pac_server, code):
    """A PAC URL that redirects (wpad.dat -> /proxy.pac elsewhere), as browsers and libproxy
    follow it: the PAC at the Location is loaded, and the log says where the fetch went."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    r = Redirector(pac.url, code)
    try:
        d = socks2http("--pac", r.url, "-x", a.url)
        d.wait_line(LOADED, timeout=5)
        d.wait_line(rf"redirects \({code}\) to {re.escape(pac.url)}")
        goes_to(d, b, "redir.example")
        no_requests(a)
    finally:
        r.close()


def test_pac_redirect_relative_and_loop(socks2http, fake_proxy, pac_server):
    """A relative Location is resolved against the URL that answered; a redirect loop ends
    after 5 redirects (the PAC is unavailable, with a reason)."""
    b = fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    r = Redirector(f"//127.0.0.1:{pac.port}/proxy.pac", 302)  # network-path reference
    rel = Redirector("proxy.pac", 302)  # relative: the redirector's own /proxy.pac, itself a redirect
    try:
        d = socks2http("--pac", rel.url)
        d.wait_line(r"PAC unavailable.*more than 5 redirects", timeout=8)
        d2 = socks2http("--pac", r.url)
        d2.wait_line(LOADED, timeout=5)
        goes_to(d2, b, "rel.example")
    finally:
        r.close()
        rel.close()


def test_pac_fetch_tries_the_next_address(socks2http, pac_server, fakedns):
    """The PAC host's first address drops SYNs (a listener with a full accept queue, as behind
    a firewall that drops), the second serves the PAC: the fetch must move on to it after a
    connect timeout of its own, instead of spending its whole 10 s on the first address."""
    import socket as so
    pac = pac_server(returning("DIRECT"))
    hole = so.socket()
    hole.bind(("127.0.0.5", pac.port))
    hole.listen(0)
    fill = []
    for _ in range(3):
        c = so.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.5", pac.port))
        except BlockingIOError:
            pass
        fill.append(c)
    dns = fakedns("answer", {"wpad.test": ["127.0.0.5", "127.0.0.1"]})
    t0 = time.time()
    try:
        d = socks2http(*dns_args(dns), "--pac", f"http://wpad.test:{pac.port}/proxy.pac")
        d.wait_line(r"\bPAC\b.*(loaded|unavailable)", timeout=15)
        took = time.time() - t0
        assert any(re.search(LOADED, line) for line in d.lines), "\n".join(d.lines[-3:])
        assert took < 5, took
    finally:
        for c in fill:
            c.close()
        hole.close()


# ---------------------------------------------------------------- the answer cache

COUNTING = """var calls = 0;
function FindProxyForURL(url, host) {
    calls++;
    return calls == 1 ? "%s" : calls == 2 ? "%s" : "%s";
}
"""


def test_pac_cache_per_host_and_port(socks2http, fake_proxy, pac_server):
    """The PAC answers differently on each call: a second tunnel to the same host:port going
    the first call's way shows it was not evaluated again."""
    a, p1, p2, p3 = (fake_proxy(ok()) for _ in range(4))
    pac = pac_server(COUNTING % (proxy(p1), proxy(p2), proxy(p3)))
    d = start(socks2http, pac, "-x", a.url, "--pac-cache", "60")
    goes_to(d, p1, "cache.example")
    goes_to(d, p1, "cache.example")
    goes_to(d, p1, "cache.example")
    goes_to(d, p2, "cache.example", 8443)  # another port: another call
    goes_to(d, p3, "other.example")
    no_requests(a)


def test_pac_cache_expires(socks2http, fake_proxy, pac_server):
    a, p1, p2, p3 = (fake_proxy(ok()) for _ in range(4))
    pac = pac_server(COUNTING % (proxy(p1), proxy(p2), proxy(p3)))
    d = start(socks2http, pac, "-x", a.url, "--pac-cache", "1")
    goes_to(d, p1, "exp.example")
    time.sleep(1.5)
    goes_to(d, p2, "exp.example")


def test_pac_cache_zero_evaluates_every_time(socks2http, fake_proxy, pac_server):
    a, p1, p2, p3 = (fake_proxy(ok()) for _ in range(4))
    pac = pac_server(COUNTING % (proxy(p1), proxy(p2), proxy(p3)))
    d = start(socks2http, pac, "-x", a.url, "--pac-cache", "0")
    goes_to(d, p1, "nocache.example")
    goes_to(d, p2, "nocache.example")
    goes_to(d, p3, "nocache.example")


def test_pac_for_http_proxy_clients(socks2http, fake_proxy, pac_server):
    """An HTTP proxy client's CONNECT follows the PAC as a SOCKS client's does."""
    from routing import http_connect_status

    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    d = start(socks2http, pac, "-x", a.url)
    status, s = http_connect_status(d.port, "httpclient.example", 443)
    assert status == 200
    s.close()
    assert b.wait_requests(1)[0].line == "CONNECT httpclient.example:443 HTTP/1.1"
    t = d.wait_tunnel()
    assert t["socks"] == "http" and t.get("route") == "pac-proxy", t
    no_requests(a)


# ---------------------------------------------------------------- precedence

def test_rule_then_noproxy_then_pac_then_x(socks2http, fake_proxy, pac_server, fakedns):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    dns = fakedns("nxdomain")
    pac = pac_server(returning(proxy(b)))
    d = start(socks2http, pac, "-x", a.url, "--route", "r.test block", "--no-proxy", "np.test,r.test",
              *dns_args(dns))
    s, rep = socks5_open(d.port, "r.test", 443)
    assert rep.rep == 0x02
    s.close()
    s, rep = socks5_open(d.port, "www.np.test", 443)  # direct: NXDOMAIN from the fake DNS
    assert rep.rep == 0x04, rep
    assert recv_until_eof(s, 5) == b""
    s.close()
    t = goes_to(d, b, "p.test")
    assert t.get("route") == "pac-proxy"
    assert wait_target(d, "r.test", 443).get("route") == "block"
    assert wait_target(d, "www.np.test", 443).get("route") == "direct"
    assert [r.line for r in b.requests] == ["CONNECT p.test:443 HTTP/1.1"]
    no_requests(a)


def test_pac_options_in_config_file(socks2http, fake_proxy, pac_server, tmp):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    pac = pac_server(returning(proxy(b)))
    conf = os.path.join(tmp, "s2h.conf")
    with open(conf, "w") as f:
        f.write(f"proxy {a.url}\npac {pac.url}\npac-timeout 1.5\npac-refresh 300\npac-cache 30\n")
    d = socks2http("-c", conf)
    pac.wait_gets(1, timeout=5)
    d.wait_line(LOADED, timeout=5)
    goes_to(d, b, "conf.example")
    no_requests(a)


# ---------------------------------------------------------------- network changes

@pytest.mark.linux_only()
def test_pac_fetched_again_when_an_address_appears(socks2http, tmp):
    """The daemon in a network namespace of its own, with a file PAC and no refresh within the
    test: the PAC file changes, nothing happens; an address is added in the namespace
    (rtnetlink), and the new PAC is in use a debounce later.  Inside, nothing listens: DIRECT
    to 127.0.0.1 is refused (05), PROXY 127.0.0.1:9 cannot be reached (01)."""
    import shutil
    import subprocess

    from routing import netns_prefix, unix_socks5

    prefix = netns_prefix()
    if not shutil.which("nsenter"):
        pytest.skip("no nsenter to change an address inside the daemon's namespace")
    path = os.path.join(tmp, "proxy.pac")
    with open(path, "w") as f:
        f.write(returning("DIRECT"))
    sock = os.path.join(tmp, "s.sock")
    d = socks2http("--pac", f"file://{path}", "--pac-refresh", "600", listen=(f"unix:{sock}",), wait=False,
                   prefix=prefix)
    d.wait_line(r"listening on unix:")
    d.wait_line(LOADED)
    ports = iter(range(20000, 20100))

    def reply():
        s, rep = unix_socks5(sock, "127.0.0.1", next(ports))
        s.close()
        return rep.rep

    assert reply() == 0x05
    with open(path + ".new", "w") as f:
        f.write(returning("PROXY 127.0.0.1:9"))
    os.replace(path + ".new", path)
    time.sleep(1.5)
    assert reply() == 0x05, "the PAC was fetched again with no reason"
    r = subprocess.run(["nsenter", "-t", str(d.pid), "-n", "ip", "addr", "add", "10.5.5.5/32", "dev", "lo"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert r.returncode == 0, r.stdout
    wait_until(lambda: reply() == 0x01, 6, interval=0.3, what="the PAC fetched again after the address change")
