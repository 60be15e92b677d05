"""Who may use the bridge: own user only by default (peer credentials), --allow-users, the
Unix-domain listener and its file mode, RFC 1929 login from --socks-auth, the refusal to
listen beyond loopback unprotected, and private config/credential files.

The daemon runs as root here; 'another user' is nobody (65534), through a child that drops
privileges before it connects (hardening.as_user) or setpriv(1) around curl."""

import os
import re
import socket
import stat

import pytest

import procs
from clients import curl
from daemon import clean_env, run_cli
from fakeproxy import basic_first, ok
from hardening import as_user, socks4_connect_bytes, socks5_connect_bytes
from socksclient import (connect, read_socks4_reply, read_socks5_reply, recv_exact, recv_until_eof,
                         socks4_request, socks5_greeting, socks5_open, socks5_request)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")

SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def closed(s, timeout=5.0):
    try:
        return recv_until_eof(s, timeout)
    except ConnectionResetError:
        return b""


def own_user_served(d, fp):
    s, rep = socks5_open(d.port, "own.example", 443, listen_host=d.listeners[0][0].replace("0.0.0.0", "127.0.0.1"))
    assert rep.rep == 0, f"the daemon's own user was refused: {rep!r}"
    s.sendall(b"mine")
    assert recv_exact(s, 4) == b"mine"
    s.close()


# ---------------------------------------------------------------- peer credentials on TCP
# (looked up with NETLINK_SOCK_DIAG: a portable build lets every local TCP client in)

@pytest.mark.linux_only("sock_diag")
@pytest.mark.parametrize("version,listen", [(5, "127.0.0.1:0"), (4, "127.0.0.1:0"), (5, "[::1]:0")],
                         ids=["socks5", "socks4", "socks5-ipv6"])
def test_other_user_refused_by_default(socks2http, fake_proxy, version, listen):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, listen=(listen,))
    host = d.listeners[0][0]
    if version == 5:
        res = as_user(socks5_connect_bytes("example.com", 443), 12 if host != "::1" else 24, port=d.port, host=host)
        assert res.get("reply", "")[:4] == "0500", res
        assert res["reply"][4:8] == "0502", f"SOCKS5 reply to another user: {res}"
    else:
        res = as_user(socks4_connect_bytes("127.0.0.1", 443), 8, port=d.port)
        assert res.get("reply", "")[:4] == "005b", f"SOCKS4 reply to another user: {res}"
    assert res["eof"], "connection left open after the refusal"
    t = d.wait_tunnel(reason="access-denied")
    assert t["reply"] == ("0x02" if version == 5 else "91")
    assert re.search(r"refusing client: uid 65534", d.log())
    assert fp.requests == [], "a refused client's CONNECT reached the proxy"
    own_user_served(d, fp)


@pytest.mark.linux_only("sock_diag")
def test_other_user_greeting_answered_then_refused_without_proxy_connection(socks2http, fake_proxy):
    """The greeting is answered before the owner is looked up (its answer needs no verdict);
    the request then waits for the verdict: refused, and no connection to the proxy at all
    (the early connect starts only for an allowed client)."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    req = socks5_request("example.com", 443)
    res = as_user(socks5_greeting(), 2, port=d.port, then=req)
    assert res.get("reply") == "0500", res
    assert res.get("echo", "")[:4] == "0502", f"SOCKS5 reply to another user: {res}"
    t = d.wait_tunnel(reason="access-denied")
    assert t["reply"] == "0x02"
    assert re.search(r"refusing client: uid 65534", d.log())
    assert fp.requests == [] and fp.silent_connections == 0, "a refused client made us connect to the proxy"
    own_user_served(d, fp)


@pytest.mark.linux_only("sock_diag")
def test_other_user_from_other_loopback_address(socks2http, fake_proxy):
    """The peer lookup matches the exact connection: a client from 127.0.0.5 to 127.0.0.1
    is identified like any other (nobody refused, own user served)."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url)
    res = as_user(socks5_connect_bytes(), 12, port=d.port, bind="127.0.0.5")
    assert res.get("reply", "")[4:8] == "0502", res
    t = d.wait_tunnel(reason="access-denied")
    assert t["client"].startswith("127.0.0.5:")
    s = socket.socket()
    s.settimeout(5)
    s.bind(("127.0.0.5", 0))
    s.connect(("127.0.0.1", d.port))
    s.sendall(socks5_connect_bytes())
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 0
    s.close()


@pytest.mark.linux_only("sock_diag")
def test_other_user_refused_with_curl(socks2http, tinyproxy, origin):
    d = socks2http("-x", tinyproxy.url)
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0 and r.stdout == origin.body, r.stderr
    r = procs.run(SETPRIV + ["curl", "-q", "-sS", "--max-time", "10", "--proxy", f"socks5h://127.0.0.1:{d.port}",
                             origin.url("localhost")], timeout=20, env=clean_env())
    assert r.returncode == 97, f"curl as nobody: exit {r.returncode}, {r.stderr!r}"
    assert r.stdout == b""
    d.wait_tunnel(reason="access-denied")


@pytest.mark.parametrize("allow", ["nobody", "65534", "any", "daemon,nobody"])
def test_allow_users_lets_other_user_in(socks2http, fake_proxy, allow):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--allow-users", allow)
    res = as_user(socks5_connect_bytes("example.com", 443), 12, port=d.port, then=b"from nobody")
    assert res.get("reply", "")[:8] == "05000500", res
    assert bytes.fromhex(res["echo"]) == b"from nobody", res
    res4 = as_user(socks4_connect_bytes("127.0.0.1", 443), 8, port=d.port, then=b"v4")
    assert res4.get("reply", "")[:4] == "005a", res4
    assert bytes.fromhex(res4["echo"]) == b"v4"
    assert "access-denied" not in d.log()
    own_user_served(d, fp)


@pytest.mark.linux_only("sock_diag")
def test_allow_users_other_uid_still_refused(socks2http, fake_proxy):
    """--allow-users daemon (uid 1) does not let nobody in."""
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--allow-users", "daemon")
    res = as_user(socks5_connect_bytes(), 12, port=d.port)
    assert res.get("reply", "")[4:8] == "0502", res
    d.wait_tunnel(reason="access-denied")


def test_allow_users_with_curl(socks2http, tinyproxy, origin):
    d = socks2http("-x", tinyproxy.url, "--allow-users", "nobody")
    r = procs.run(SETPRIV + ["curl", "-q", "-sS", "--max-time", "10", "--proxy", f"socks5h://127.0.0.1:{d.port}",
                             origin.url("localhost")], timeout=20, env=clean_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body


# ---------------------------------------------------------------- unix-domain listener

@pytest.fixture
def sockdir(tmp):
    """A directory others may traverse, so only the socket's own mode keeps them out."""
    os.chmod(tmp, 0o755)
    return tmp


def start_unix(socks2http, path, *args):
    d = socks2http(*args, listen=(f"unix:{path}",), wait=False)
    d.wait_line(r"listening on unix:")
    return d


def unix_socks5(path, host="example.com", port=443, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(socks5_greeting() + socks5_request(host, port))
    assert recv_exact(s, 2) == b"\x05\x00"
    return s, read_socks5_reply(s)


def test_unix_socket_mode_0600_and_clients(socks2http, tinyproxy, origin, sockdir):
    path = os.path.join(sockdir, "s2h.sock")
    d = start_unix(socks2http, path, "-x", tinyproxy.url)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, f"socket mode {stat.S_IMODE(st.st_mode):o}"
    assert st.st_uid == os.geteuid()
    # curl through the socket, the name resolved by the proxy
    r = curl("--proxy", f"socks5h://localhost{path}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    # a hand-written client
    s, rep = unix_socks5(path, "127.0.0.1", origin.port)
    assert rep.rep == 0
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert origin.body in recv_until_eof(s)
    s.close()
    t = d.wait_tunnels(2)
    assert all(x["client"].startswith("unix(") for x in t), t


def test_unix_stale_socket_replaced(socks2http, fake_proxy, sockdir):
    path = os.path.join(sockdir, "stale.sock")
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(path)
    old.close()  # the file stays, nobody listens
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    fp = fake_proxy(ok())
    start_unix(socks2http, path, "-x", fp.url)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    s, rep = unix_socks5(path)
    assert rep.rep == 0
    s.close()


def test_unix_live_socket_not_taken_over(socks2http, fake_proxy, binary, sockdir):
    path = os.path.join(sockdir, "live.sock")
    fp = fake_proxy(ok())
    first = start_unix(socks2http, path, "-x", fp.url)
    ino = os.lstat(path).st_ino
    r = run_cli(binary, ["-l", f"unix:{path}", "-x", fp.url], timeout=10)
    assert r.returncode == 1, f"second daemon on a live socket: exit {r.returncode}, {r.stderr!r}"
    assert b"another process is listening" in r.stderr or b"in use" in r.stderr, r.stderr
    # the first daemon's socket is untouched and still serves
    assert os.lstat(path).st_ino == ino
    assert first.alive()
    s, rep = unix_socks5(path)
    assert rep.rep == 0
    s.close()


def test_unix_not_a_socket_refused(binary, sockdir):
    path = os.path.join(sockdir, "plain-file")
    with open(path, "w") as f:
        f.write("keep me\n")
    r = run_cli(binary, ["-l", f"unix:{path}", "-x", "http://127.0.0.1:3128"], timeout=10)
    assert r.returncode == 1, r.stderr
    with open(path) as f:
        assert f.read() == "keep me\n", "the daemon clobbered a regular file"


def test_unix_path_too_long(binary, sockdir):
    path = os.path.join(sockdir, "x" * 120 + ".sock")
    r = run_cli(binary, ["-l", f"unix:{path}", "-x", "http://127.0.0.1:3128"], timeout=10)
    assert r.returncode in (1, 2), f"exit {r.returncode}: {r.stderr!r}"
    assert b"unix:" in r.stderr or b"long" in r.stderr, r.stderr
    assert not os.path.exists(path[:108])


def test_unix_socket_removed_on_exit(socks2http, fake_proxy, sockdir):
    path = os.path.join(sockdir, "gone.sock")
    fp = fake_proxy(ok())
    d = start_unix(socks2http, path, "-x", fp.url)
    assert os.path.exists(path)
    d.signal(15)
    assert d.wait_exit(5) == 0
    assert not os.path.lexists(path), "socket file left behind after exit"


def test_unix_other_user_denied(socks2http, fake_proxy, sockdir):
    path = os.path.join(sockdir, "priv.sock")
    fp = fake_proxy(ok())
    d = start_unix(socks2http, path, "-x", fp.url)
    res = as_user(socks5_connect_bytes(), 12, unix=path)
    assert res.get("error") == "EACCES", f"nobody connecting to a 0600 socket: {res}"
    # with the mode opened up, the peer-credential check still refuses
    os.chmod(path, 0o666)
    res = as_user(socks5_connect_bytes(), 12, unix=path)
    assert res.get("reply", "")[4:8] == "0502", f"nobody on a 0666 socket: {res}"
    assert res["eof"]
    t = d.wait_tunnel(reason="access-denied")
    assert t["reply"] == "0x02"
    assert fp.requests == []
    # and the owner is still served
    s, rep = unix_socks5(path)
    assert rep.rep == 0
    s.close()


def test_unix_other_user_allowed_with_allow_users(socks2http, fake_proxy, sockdir):
    path = os.path.join(sockdir, "shared.sock")
    fp = fake_proxy(ok())
    start_unix(socks2http, path, "-x", fp.url, "--allow-users", "nobody")
    os.chmod(path, 0o666)
    res = as_user(socks5_connect_bytes(), 12, unix=path, then=b"hi")
    assert res.get("reply", "")[4:8] == "0500", res
    assert bytes.fromhex(res["echo"]) == b"hi"


# ---------------------------------------------------------------- unmapped users (user namespaces)

def userns_works():
    try:
        return procs.run(["unshare", "--user", "true"], timeout=10).returncode == 0
    except (OSError, AssertionError):
        return False


@pytest.fixture
def unmapped(socks2http):
    """socks2http(...) run in a user namespace of its own that maps no one: every peer, and
    the daemon itself, reads as the overflow uid (65534) there."""
    if not userns_works():
        pytest.skip("unshare --user does not work here")

    def start(*args, **kw):
        return socks2http(*args, prefix=("unshare", "--user"), **kw)

    return start


UNMAPPED = "refusing client: owner unknown (unmapped user namespace uid)"


@pytest.mark.linux_only("sock_diag")
@pytest.mark.parametrize("allow", [(), ("--allow-users", "65534")], ids=["default", "allow-65534"])
def test_unmapped_peer_refused_tcp(unmapped, fake_proxy, allow):
    """The overflow uid names no one: not the daemon's own user (its uid reads the same),
    nor the 65534 of --allow-users."""
    fp = fake_proxy(ok())
    d = unmapped("-x", fp.url, *allow)
    s = connect(d.port)
    s.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 2, "an unmapped peer was served"
    assert closed(s) == b""
    s.close()
    t = d.wait_tunnel(reason="access-denied")
    assert t["reply"] == "0x02"
    assert UNMAPPED in d.log()
    assert fp.requests == []


def test_unmapped_peer_refused_unix(unmapped, fake_proxy, sockdir):
    path = os.path.join(sockdir, "ns.sock")
    fp = fake_proxy(ok())
    d = unmapped("-x", fp.url, listen=(f"unix:{path}",), wait=False)
    d.wait_line(r"listening on unix:")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(socks5_greeting() + socks5_request("example.com", 443))
    assert recv_exact(s, 2) == b"\x05\x00"
    assert read_socks5_reply(s).rep == 2, "an unmapped peer was served"
    s.close()
    d.wait_tunnel(reason="access-denied")
    assert UNMAPPED in d.log()
    assert fp.requests == []


# ---------------------------------------------------------------- --socks-auth

def write_private(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def rfc1929(user, pw):
    u, p = user.encode(), pw.encode()
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p


def test_socks_auth_file_must_be_private(binary, tmp):
    path = write_private(os.path.join(tmp, "users"), "alice:Qz7-secret-pw\n", 0o644)
    r = run_cli(binary, ["-l", "127.0.0.1:0", "-x", "http://127.0.0.1:3128", "--socks-auth", path])
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr!r}"
    assert b"chmod 600" in r.stderr, r.stderr
    assert b"Qz7-secret-pw" not in r.stderr


@pytest.fixture
def authed(socks2http, fake_proxy, tmp):
    path = write_private(os.path.join(tmp, "users"), "# comment\nalice:pw\nbob:s3cr3t:with:colons\n", 0o600)
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--socks-auth", path)
    return d, fp


def test_socks_auth_curl_right_login(socks2http, tinyproxy, origin, tmp):
    path = write_private(os.path.join(tmp, "users2"), "alice:pw\n", 0o600)
    d = socks2http("-x", tinyproxy.url, "--socks-auth", path)
    r = curl("--proxy", f"socks5h://alice:pw@127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == origin.body
    r = curl("--proxy", f"socks5h://alice:wrong@127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode != 0
    r = curl("--proxy", f"socks5h://127.0.0.1:{d.port}", origin.url("localhost"))
    assert r.returncode != 0, "curl without a login was served"


@pytest.mark.parametrize("user,pw", [("alice", "pw"), ("bob", "s3cr3t:with:colons")])
def test_socks_auth_right_login(authed, user, pw):
    d, fp = authed
    s = connect(d.port)
    s.sendall(socks5_greeting((0, 2)))
    assert recv_exact(s, 2) == b"\x05\x02", "server must pick user/password when it requires it"
    s.sendall(rfc1929(user, pw))
    assert recv_exact(s, 2) == b"\x01\x00"
    s.sendall(socks5_request("example.com", 443))
    assert read_socks5_reply(s).rep == 0
    s.sendall(b"authed")
    assert recv_exact(s, 6) == b"authed"
    s.close()


@pytest.mark.parametrize("user,pw", [("alice", "wrong"), ("alice", "p"), ("alice", "pww"), ("mallory", "pw"),
                                     ("", "pw"), ("bob", "s3cr3t")])
def test_socks_auth_wrong_login(authed, user, pw):
    d, fp = authed
    s = connect(d.port)
    s.sendall(socks5_greeting((2,)))
    assert recv_exact(s, 2) == b"\x05\x02"
    s.sendall(rfc1929(user, pw))
    status = recv_exact(s, 2)
    assert status == b"\x01\x01", f"RFC 1929 status {status.hex()} for a wrong login, want 0101"
    assert closed(s) == b"", "connection not closed after a failed login"
    s.close()
    d.wait_tunnel(reason="login-failed")
    assert f"{user}:{pw}" not in d.log() and (len(pw) < 3 or pw not in d.log()), "the password tried was logged"
    assert fp.requests == []


def test_socks_auth_no_acceptable_method(authed):
    d, fp = authed
    s = connect(d.port)
    s.sendall(socks5_greeting((0,)) + socks5_request("example.com", 443))
    assert recv_exact(s, 2) == b"\x05\xff"
    assert closed(s) == b""
    s.close()
    assert fp.requests == []


def test_socks_auth_refuses_socks4(authed):
    d, fp = authed
    s = connect(d.port)
    s.sendall(socks4_request("127.0.0.1", 443, b"alice"))
    code, _ = read_socks4_reply(s)
    assert code == 91
    assert closed(s) == b""
    s.close()
    t = d.wait_tunnel(reason="access-denied")
    assert t["socks"] == "4"
    assert fp.requests == []


def test_socks_auth_other_user_needs_login_too(authed):
    d, fp = authed
    res = as_user(socks5_greeting((2,)) + rfc1929("alice", "nope"), 4, port=d.port)
    assert res.get("reply") == "05020101", res
    assert res["eof"]
    res = as_user(socks5_greeting((0,)), 2, port=d.port)
    assert res.get("reply") == "05ff", res
    assert fp.requests == []


# ---------------------------------------------------------------- beyond loopback

def test_non_loopback_listener_needs_protection(binary):
    r = run_cli(binary, ["-l", "0.0.0.0:0", "-x", "http://127.0.0.1:3128"])
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr!r}"
    assert b"--socks-auth" in r.stderr and b"--allow-remote" in r.stderr, r.stderr
    assert b"listening on" not in r.stderr


def test_non_loopback_second_listener_refused(binary):
    r = run_cli(binary, ["-l", "127.0.0.1:0", "-l", "[::]:0", "-x", "http://127.0.0.1:3128"])
    assert r.returncode == 1, r.stderr
    assert b"--allow-remote" in r.stderr


def test_allow_remote_starts(socks2http, fake_proxy):
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--allow-remote", listen=("0.0.0.0:0",))
    assert d.listeners[0][0] == "0.0.0.0"
    # reached over loopback, the own-user rule still applies
    own_user_served(d, fp)


def test_non_loopback_with_socks_auth_starts(socks2http, fake_proxy, tmp):
    path = write_private(os.path.join(tmp, "users"), "alice:pw\n", 0o600)
    fp = fake_proxy(ok())
    d = socks2http("-x", fp.url, "--socks-auth", path, listen=("0.0.0.0:0",))
    s = connect(d.port)
    s.sendall(socks5_greeting((2,)) + rfc1929("alice", "pw") + socks5_request("example.com", 443))
    assert recv_exact(s, 4) == b"\x05\x02\x01\x00"
    assert read_socks5_reply(s).rep == 0
    s.close()


# ---------------------------------------------------------------- passwords in files and on the command line

def test_config_with_password_must_be_private(binary, fake_proxy, tmp):
    fp = fake_proxy(ok())
    conf = write_private(os.path.join(tmp, "s2h.conf"), f"listen 127.0.0.1:0\nproxy {fp.url_with('u:Conf-Pw9')}\n",
                         0o644)
    r = run_cli(binary, ["-c", conf])
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr!r}"
    assert b"chmod 600" in r.stderr, r.stderr
    assert b"Conf-Pw9" not in r.stderr


def test_config_with_password_private_works(socks2http, fake_proxy, tmp):
    import base64
    fp = fake_proxy(basic_first())
    conf = write_private(os.path.join(tmp, "s2h.conf"), f"proxy {fp.url_with('u:Conf-Pw9')}\n", 0o600)
    d = socks2http("-c", conf)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()
    req = fp.wait_requests(2)[-1]  # the first asked for Basic
    assert req.header("Proxy-Authorization") == ["Basic " + base64.b64encode(b"u:Conf-Pw9").decode()]
    assert "Conf-Pw9" not in d.log()


def test_config_without_password_may_be_world_readable(socks2http, fake_proxy, tmp):
    fp = fake_proxy(ok())
    conf = write_private(os.path.join(tmp, "s2h.conf"), f"proxy {fp.url}\n", 0o644)
    d = socks2http("-c", conf)
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()


def test_password_on_command_line_warned_and_hidden(socks2http, fake_proxy):
    fp = fake_proxy(basic_first())
    secret = "Cmd-Line-Pw-4417"
    d = socks2http("-x", fp.url_with(f"u:{secret}"))
    assert re.search(r"warn.*command line", d.log()), d.log()
    assert secret.encode() not in d.cmdline(), d.cmdline()
    s, rep = socks5_open(d.port, "example.com", 443)
    assert rep.rep == 0
    s.close()
    req = fp.wait_requests(2)[-1]
    assert req.header("Proxy-Authorization"), "the password was lost along with the command line"
    assert secret not in d.log()
