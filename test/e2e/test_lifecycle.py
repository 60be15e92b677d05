"""Signals: graceful stop on SIGTERM (listener closed at once, live tunnels finish within
--shutdown-grace), reload on SIGHUP from the config file, status report on SIGUSR1."""

import os
import re
import signal
import socket
import time

import pytest

from fakeproxy import ok, silent
from hardening import fakedns, fd_count, wait_fds_back, wait_until  # noqa: F401 (fixture)
from socksclient import (connect, read_socks5_reply, recv_exact, recv_until_eof, socks5_greeting, socks5_open,
                         socks5_request, socks5_tunnel)


def refused_now(port, timeout=1.0):
    """True when a connection to port is refused (nobody listens)."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()
    return False


def echo_works(s, data):
    s.sendall(data)
    assert recv_exact(s, len(data), timeout=5) == data


def write_conf(path, text, mode=0o600):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)  # atomic: a reload never sees half a file


# ---------------------------------------------------------------- SIGTERM / SIGINT

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_without_tunnels_is_prompt(socks2http, fake_proxy, sig):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    t0 = time.monotonic()
    d.signal(sig)
    assert d.wait_exit(5) == 0
    assert time.monotonic() - t0 < 1.0, "exit took longer than 1s with nothing to wait for"


def test_stop_waits_for_live_tunnel_which_keeps_working(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--shutdown-grace", "10")
    port = d.port
    s = socks5_tunnel(port, "example.com", 443)
    echo_works(s, b"before")
    d.signal(signal.SIGTERM)
    d.wait_line(r"no new clients")
    # the listener is gone at once
    assert refused_now(port), "new connections still accepted after SIGTERM"
    # the live tunnel still carries data both ways, for a while
    for i in range(3):
        echo_works(s, b"during %d" % i)
        time.sleep(0.3)
    assert d.alive(), "daemon exited with a tunnel still open within the grace period"
    # the tunnel ends by itself: the daemon follows promptly, exit 0
    t0 = time.monotonic()
    s.shutdown(socket.SHUT_WR)
    assert recv_until_eof(s, 5) == b""
    s.close()
    assert d.wait_exit(5) == 0
    assert time.monotonic() - t0 < 2.0, "daemon lingered after its last tunnel closed"
    t = d.wait_tunnel()
    assert t["reason"] not in ("shutdown",), t
    assert int(t["up"]) == int(t["down"]) == len(b"before" + b"during 0during 1during 2")


def test_stop_grace_period_expires(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--shutdown-grace", "1")
    s = socks5_tunnel(d.port, "example.com", 443)
    echo_works(s, b"x")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    echo_works(s, b"still")
    assert d.wait_exit(5) == 0
    took = time.monotonic() - t0
    assert 0.8 <= took <= 2.5, f"exit {took:.2f}s after SIGTERM with --shutdown-grace 1"
    # the client's connection was closed
    assert recv_until_eof(s, 3) == b""
    s.close()
    t = d.wait_tunnel()
    assert t["reason"] == "shutdown", t


def test_stop_default_grace_is_5s(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    s = socks5_tunnel(d.port, "example.com", 443)
    d.signal(signal.SIGTERM)
    m = d.wait_line(r"waiting up to (\S+)s for 1 tunnels")
    assert float(m.group(1)) == 5
    time.sleep(0.5)
    assert d.alive()
    d.signal(signal.SIGTERM)  # not worth waiting 5s: second signal
    assert d.wait_exit(3) == 0
    s.close()


def test_second_signal_stops_at_once(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--shutdown-grace", "30")
    s = socks5_tunnel(d.port, "example.com", 443)
    d.signal(signal.SIGTERM)
    d.wait_line(r"no new clients")
    time.sleep(0.2)
    assert d.alive()
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait_exit(3) == 0
    assert time.monotonic() - t0 < 1.0
    assert recv_until_eof(s, 3) == b""
    s.close()
    assert d.wait_tunnel()["reason"] == "shutdown"


def test_stop_with_tunnel_still_waiting_for_proxy(socks2http, fake_proxy):
    """A tunnel whose proxy has not answered yet is closed at the end of the grace period
    too (no SOCKS success is sent to it)."""
    fp = fake_proxy(silent())
    d = socks2http("-x", fp.url, "--shutdown-grace", "1", "--reply-timeout", "30")
    c = connect(d.port)
    c.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(c, 2) == b"\x05\x00"
    fp.wait_requests(1)
    d.signal(signal.SIGTERM)
    assert d.wait_exit(5) == 0
    got = recv_until_eof(c, 3)
    assert got == b"" or got[1] != 0, f"a success reply during shutdown: {got.hex()}"
    c.close()


def test_stop_with_tunnel_resolving_proxy_name(socks2http, fakedns):
    """SIGTERM while the proxy's name is being looked up (silent DNS): clean exit 0 at the
    end of the grace period, nothing left for the sanitizers to report."""
    dns = fakedns("silent")
    d = socks2http("-x", "http://proxy.test:3128", "--dns-servers", dns.addr, "--dns-timeout", "5",
                   "--shutdown-grace", "1")
    c = connect(d.port)
    c.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(c, 2) == b"\x05\x00"
    wait_until(lambda: dns.queries, 3, what="a DNS query")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait_exit(5) == 0
    assert time.monotonic() - t0 < 2.5
    got = recv_until_eof(c, 3)
    assert got == b"" or got[1] != 0
    c.close()


# ---------------------------------------------------------------- SIGHUP

def test_reload_switches_proxy_old_tunnel_survives(socks2http, fake_proxy, tmp):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {a.url}\nreply-timeout 5\n")
    d = socks2http("-c", conf)
    old = socks5_tunnel(d.port, "old.example", 443)
    echo_works(old, b"via A")
    write_conf(conf, f"proxy {b.url}\nreply-timeout 5\n")
    d.signal(signal.SIGHUP)
    d.wait_line(rf"reloaded: upstream proxy 127\.0\.0\.1:{b.port}")
    new = socks5_tunnel(d.port, "new.example", 443)
    echo_works(new, b"via B")
    assert [r.line for r in b.requests] == ["CONNECT new.example:443 HTTP/1.1"]
    assert [r.line for r in a.requests] == ["CONNECT old.example:443 HTTP/1.1"]
    # the tunnel from before the reload still works, still through A
    echo_works(old, b"still via A")
    old.close()
    new.close()
    lines = d.wait_tunnels(2)
    by_target = {t["target"]: t for t in lines}
    assert by_target["old.example:443"]["proxy"] == f"127.0.0.1:{a.port}"
    assert by_target["new.example:443"]["proxy"] == f"127.0.0.1:{b.port}"


def test_reload_from_dead_proxy_to_working(socks2http, fake_proxy, closed_port, tmp):
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy http://127.0.0.1:{closed_port}\n")
    d = socks2http("-c", conf)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0x01
    s.close()
    write_conf(conf, f"proxy {fp.url}\n")
    d.signal(signal.SIGHUP)
    d.wait_line(r"reloaded: upstream proxy")
    s = socks5_tunnel(d.port, "example.com", 443)
    echo_works(s, b"works now")
    s.close()


@pytest.mark.parametrize("broken", [
    "proxy http://127.0.0.1:{port}\nno-such-option 1\n",
    "proxy ftp://127.0.0.1:{port}\n",
    "max-tunnels lots\n",
    "",  # no proxy at all
    "proxy http://u:secret-pw@127.0.0.1:{port}\n#mode 0644",
], ids=["unknown-option", "bad-scheme", "bad-number", "empty", "password-readable"])
def test_reload_broken_file_keeps_running_config(socks2http, fake_proxy, tmp, broken):
    a, b = fake_proxy(ok()), fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {a.url}\n")
    d = socks2http("-c", conf)
    write_conf(conf, broken.format(port=b.port), 0o644 if "0644" in broken else 0o600)
    d.signal(signal.SIGHUP)
    d.wait_line(r"reload failed")
    assert not re.search(r"reloaded:", d.log())
    assert "secret-pw" not in d.log()
    assert d.alive()
    s = socks5_tunnel(d.port, "example.com", 443)
    echo_works(s, b"old config")
    s.close()
    assert len(a.requests) == 1 and b.requests == []


def test_reload_unreadable_file_keeps_running_config(socks2http, fake_proxy, tmp):
    a = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {a.url}\n")
    d = socks2http("-c", conf)
    os.unlink(conf)
    d.signal(signal.SIGHUP)
    d.wait_line(r"reload failed")
    s = socks5_tunnel(d.port, "example.com", 443)
    echo_works(s, b"old config")
    s.close()


def test_reload_many_times_under_traffic(socks2http, fake_proxy, tmp):
    """20 reloads alternating between two proxies while tunnels come and go: every tunnel
    works, the daemon stays up, no sanitizer report (checked at teardown)."""
    a, b = fake_proxy(ok()), fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {a.url}\n")
    d = socks2http("-c", conf)
    live = []
    for i in range(20):
        write_conf(conf, f"proxy {(b if i % 2 == 0 else a).url}\n")
        d.signal(signal.SIGHUP)
        s = socks5_tunnel(d.port, "example.com", 1000 + i)
        echo_works(s, b"%d" % i)
        live.append(s)
        if len(live) > 3:
            live.pop(0).close()
    wait_until(lambda: len(re.findall(r"reloaded:", d.log())) == 20, 5, what="20 reloads")
    for s in live:
        echo_works(s, b"end")
        s.close()
    assert d.alive()
    assert len(a.requests) + len(b.requests) == 20


def test_reload_while_proxy_name_lookups_pending(socks2http, fake_proxy, fakedns, tmp):
    """Reloads while tunnels of the old configuration wait on DNS: those lookups end
    (failure, then the next proxy) without touching freed state; new tunnels use the new
    configuration; clients that give up during the lookup are cleaned up."""
    fp = fake_proxy(ok())
    dns = fakedns("silent")
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy http://proxy.test:3128\nproxy {fp.url}\ndns-servers {dns.addr}\ndns-timeout 0.5\n")
    d = socks2http("-c", conf)
    c = connect(d.port)  # a first client: the owner lookup's netlink socket opens now, and stays
    c.sendall(socks5_greeting())
    assert recv_exact(c, 2) == b"\x05\x00"
    c.close()
    d.wait_tunnel()
    base = fd_count(d.pid)
    waiting = []
    for i in range(6):
        c = connect(d.port)
        c.sendall(socks5_greeting() + socks5_request(f"w{i}.example", 443))
        assert recv_exact(c, 2) == b"\x05\x00"
        waiting.append(c)
    wait_until(lambda: dns.queries, 3, what="a DNS query")
    for c in waiting[:2]:
        c.close()  # gives up while the lookup is pending
    for i in range(3):
        d.signal(signal.SIGHUP)
        wait_until(lambda: len(re.findall(r"reloaded:", d.log())) >= 2 * (i + 1), 5, what=f"reload {i + 1}")
    for c in waiting[2:]:
        assert read_socks5_reply(c, timeout=6).rep == 0, "the tunnel from before the reloads failed"
        echo_works(c, b"after reloads")
        c.close()
    s = socks5_tunnel(d.port, "new.example", 443, timeout=6)
    echo_works(s, b"new")
    s.close()
    wait_until(lambda: len([l for l in d.log().splitlines() if " reason=" in l]) >= 8, 5, what="7 tunnel lines and the first client's")
    wait_fds_back(d.pid, base)
    assert d.alive()


def test_signal_storm(socks2http, fake_proxy, tmp):
    """300 signals (SIGUSR1, SIGHUP) in a burst while tunnels carry data: all still fine."""
    fp = fake_proxy(ok())
    conf = os.path.join(tmp, "s2h.conf")
    write_conf(conf, f"proxy {fp.url}\n")
    d = socks2http("-c", conf)
    tunnels = [socks5_tunnel(d.port, f"s{i}.example", 443) for i in range(5)]
    for i in range(300):
        d.signal(signal.SIGUSR1 if i % 3 else signal.SIGHUP)
        if i % 50 == 0:
            for s in tunnels:
                echo_works(s, b"%d" % i)
    time.sleep(0.3)
    for s in tunnels:
        echo_works(s, b"end")
        s.close()
    assert d.alive()
    serves = socks5_tunnel(d.port, "after.example", 443)
    echo_works(serves, b"after")
    serves.close()


# ---------------------------------------------------------------- SIGUSR1

def test_status_report(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    tunnels = [socks5_tunnel(d.port, f"t{i}.example", 443) for i in range(3)]
    for i, s in enumerate(tunnels):
        echo_works(s, b"x" * (i + 1))
    d.signal(signal.SIGUSR1)
    m = d.wait_line(r"status: (\d+) tunnels open")
    assert int(m.group(1)) == 3, m.group(0)
    rx = re.compile(r"tunnel client=\S+ socks=5 target=(t\d\.example:443) .*state=relay")
    found = d.wait_for(lambda lines: [rx.search(l).group(1) for l in lines if rx.search(l)] if
                       len([l for l in lines if rx.search(l)]) >= 3 else None, 5, "3 relay lines")
    assert sorted(found) == ["t0.example:443", "t1.example:443", "t2.example:443"]
    for s in tunnels:
        s.close()
    d.wait_for(lambda lines: len([l for l in lines if " reason=" in l]) >= 3, 5, "3 tunnel end lines")
    before = len(d.log().splitlines())
    d.signal(signal.SIGUSR1)
    m = d.wait_for(lambda lines: [re.search(r"status: (\d+) tunnels open", l) for l in lines[before:]
                                  if re.search(r"status: ", l)], 5, "second status line")
    assert int(m[0].group(1)) == 0
    time.sleep(0.2)
    assert not [l for l in d.log().splitlines()[before:] if "state=relay" in l]
    assert d.alive()
