"""--workers N: the supervisor process and the workers it forks, which share the TCP ports
through SO_REUSEPORT.  What the supervisor must keep doing whatever its stderr does, which
configuration a restarted worker serves, when the service manager hears READY=1, and that
a second instance cannot slip onto the same port."""

import os
import signal
import socket
import time

import pytest

import procs


def workers(d, n=2, timeout=10.0, other_than=()):
    """The supervisor's n children, once it has n of them none of which is in other_than."""
    deadline = time.monotonic() + timeout
    while True:
        kids = sorted(procs._children(d.pid))
        if len(kids) == n and not set(kids) & set(other_than):
            return kids
        if time.monotonic() > deadline:
            raise AssertionError(f"supervisor has children {kids}, wanted {n} new ones; log:\n{d.log()[-4000:]}")
        time.sleep(0.05)


def fill_log_pipe(d, port, clients=300):
    """Stops reading the daemon's stderr, has the workers log a line per client (bytes no
    front speaks), then tops the pipe up to the last byte (through /proc, another opening
    of the same pipe), so that any further line would have to wait."""
    d.pause_log()
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x01junk")
        s.close()
    fd = os.open(f"/proc/{d.pid}/fd/2", os.O_WRONLY | os.O_NONBLOCK)
    try:
        for chunk in (b"\n" * 4096, b"\n"):
            while True:
                try:
                    os.write(fd, chunk)
                except BlockingIOError:
                    break
    finally:
        os.close(fd)  # not even one byte fits now


def test_supervisor_carries_on_when_nobody_reads_the_log(socks2http, closed_port):
    """Nobody reads stderr and the pipe is full (the workers drop what does not fit, so it
    stays so).  A worker killed then is still replaced, and SIGTERM still stops everything:
    the supervisor drops its own lines too ("worker ... died" first) instead of waiting in
    write(2) for a reader, with its signals masked, for ever."""
    d = socks2http("-x", f"http://127.0.0.1:{closed_port}", "--workers", "2", "-v")
    d.wait_listening(2)
    first = workers(d)
    fill_log_pipe(d, d.port)
    os.kill(first[0], signal.SIGKILL)
    workers(d, other_than=first[:1])  # the replacement, forked about 1 s later
    d.signal(signal.SIGTERM)
    try:
        rc = d.popen.wait(10)  # the log still unread
    finally:
        d.resume_log()
    assert rc == 0, d.log()[-4000:]


def write_conf(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)  # atomic: a reload never sees half a file


def test_replacement_worker_serves_the_reloaded_config(socks2http, fake_proxy, tmp):
    """After SIGHUP switched the proxy, a worker started in place of one that died serves the
    new proxy, like the workers that reloaded, not the one from the start: the supervisor
    reads the configuration again as well."""
    a, b = fake_proxy(), fake_proxy()
    conf = os.path.join(tmp, "w.conf")
    write_conf(conf, f"proxy {a.url}\n")
    d = socks2http("-c", conf, "--workers", "2")
    d.wait_listening(2)
    first = workers(d)
    write_conf(conf, f"proxy {b.url}\n")
    d.signal(signal.SIGHUP)
    d.wait_for(lambda lines: len([l for l in lines if f"reloaded: upstream proxy 127.0.0.1:{b.port}" in l]) >= 2,
               what="both workers' reload")
    os.kill(first[0], signal.SIGKILL)
    new = [k for k in workers(d, other_than=first[:1]) if k not in first][0]
    m = d.wait_line(rf"socks2http\[{new}\] info: upstream proxy 127\.0\.0\.1:(\d+)")
    assert int(m.group(1)) == b.port, d.log()[-4000:]


@pytest.mark.parametrize("host,first_workers", [("127.0.0.1", "2"), ("::1", "2"), ("127.0.0.1", "1")])
def test_second_instance_cannot_share_the_port(socks2http, fake_proxy, host, first_workers):
    """A --workers instance on a port another socks2http listens on (with --workers, so with
    SO_REUSEPORT, or without) fails to start, exit 1 and the usual "Address already in use",
    as one process does: otherwise the kernel would split the clients between two daemons
    with different configurations.  Port 0 (a free port) still works with workers."""
    fp = fake_proxy()
    bracketed = f"[{host}]" if ":" in host else host
    a = socks2http("-x", fp.url, "--workers", first_workers, listen=(f"{bracketed}:0",))
    a.wait_listening(int(first_workers))
    where = f"{bracketed}:{a.port}"
    b = socks2http("-x", fp.url, "--workers", "2", listen=(where,), wait=False)
    assert b.wait_exit(20) == 1, b.log()
    assert f"cannot listen on {where}: Address already in use" in b.log(), b.log()
    assert "listening on" not in b.log()
