"""Network changes, in network and mount namespaces of the test's own (loopback only): what
the daemon does when the machine's addresses change and /etc/resolv.conf names other DNS
servers (a VPN came up), and when nothing really changed (an address's lifetimes renewed).

Each scenario runs this file again under `unshare -nm` (root needed: it binds port 53 and
bind-mounts a resolv.conf of its own over /etc/resolv.conf); the scenario prints one JSON
line with what it saw, and the test checks it.  Skipped where that is not possible."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# network changes come from netwatch (rtnetlink), which a portable build leaves out; a build
# with the Linux-only interfaces has it
pytestmark = pytest.mark.linux_only()


def _can_unshare():
    return os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip") and \
        subprocess.run(["unshare", "-nm", "true"], capture_output=True).returncode == 0


def run_in_namespace(binary, scenario, timeout=60):
    """Runs scenario in fresh namespaces; returns its JSON report (the daemon's log in 'log')."""
    if not _can_unshare():
        pytest.skip("needs root and unshare -nm (network and mount namespaces) and ip(8)")
    env = dict(os.environ, SOCKS2HTTP_BIN=binary)
    r = subprocess.run(["unshare", "-nm", sys.executable, os.path.abspath(__file__), scenario],
                       env=env, capture_output=True, timeout=timeout, text=True)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines, f"scenario {scenario}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    rep = json.loads(lines[-1])
    print(rep.get("log", ""))  # shown when the test fails
    return rep


def test_network_change_rereads_resolv_conf(binary):
    """At home the PAC host's name does not resolve (home DNS says NXDOMAIN): the PAC is
    unavailable.  Then a VPN comes up: resolv.conf names the company's DNS server and an
    address appears.  The daemon must ask the new server (c-ares read resolv.conf only once,
    and it had the failure cached), so the PAC is fetched and loaded."""
    rep = run_in_namespace(binary, "resolv_conf")
    assert rep["unavailable_at_home"], rep
    assert rep["corp_queries"] > 0, rep
    assert rep["loaded_after_change"], rep


def test_address_lifetime_renewal_is_no_network_change(binary):
    """The kernel reports an address whose lifetimes are renewed (every IPv6 router
    advertisement for a SLAAC address, DHCP renewals with `ip addr replace`) as a new
    address; the address set is the same, so the PAC must not be fetched again nor proxy
    health wiped.  An address really added still counts."""
    rep = run_in_namespace(binary, "lifetime")
    assert rep["changes_on_renewal"] == 0, rep
    assert rep["changes_on_real_change"] == 1, rep


# ---------------------------------------------------------------- inside the namespaces

def _start_daemon(args, logpath):
    log = open(logpath, "w+")
    d = subprocess.Popen([os.environ["SOCKS2HTTP_BIN"], "-l", "127.0.0.1:0", "--no-control"] + args,
                         stdout=log, stderr=log)
    return d, log


def _wait_log(log, regex, timeout):
    import re
    end = time.time() + timeout
    while time.time() < end:
        log.seek(0)
        if re.search(regex, log.read()):
            return True
        time.sleep(0.05)
    return False


def _sh(*cmd):
    subprocess.run(cmd, check=True)


def scenario_resolv_conf(work):
    from fakedns import FakeDNS
    from pacserver import PacServer, returning
    _sh("ip", "link", "set", "lo", "up")
    conf = os.path.join(work, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.2\n")
    _sh("mount", "--bind", conf, "/etc/resolv.conf")
    FakeDNS("answer", {}, host="127.0.0.2", port=53)  # home: NXDOMAIN for everything
    corp = FakeDNS("answer", {"wpad.corp.test": "127.0.0.1"}, host="127.0.0.3", port=53)
    pac = PacServer(returning("DIRECT"))
    d, log = _start_daemon(["--pac", f"http://wpad.corp.test:{pac.port}/proxy.pac"], os.path.join(work, "log"))
    try:
        rep = {"unavailable_at_home": _wait_log(log, r"PAC unavailable", 8)}
        with open(conf, "w") as f:  # the VPN: its DNS server, an address
            f.write("nameserver 127.0.0.3\n")
        _sh("ip", "addr", "add", "10.9.9.9/32", "dev", "lo")
        rep["loaded_after_change"] = _wait_log(log, r"PAC .*loaded", 6)
        rep["corp_queries"] = len(corp.queries)
    finally:
        d.terminate()
        d.wait()
    log.seek(0)
    rep["log"] = log.read()
    return rep


def scenario_lifetime(work):
    _sh("ip", "link", "set", "lo", "up")
    _sh("ip", "addr", "add", "10.5.5.5/32", "dev", "lo", "valid_lft", "3600", "preferred_lft", "3600")
    pac = os.path.join(work, "lt.pac")
    with open(pac, "w") as f:
        f.write('function FindProxyForURL(u, h) { return "DIRECT"; }\n')
    d, log = _start_daemon(["-v", "--pac", pac], os.path.join(work, "log"))
    try:
        _wait_log(log, r"PAC .*loaded", 5)
        time.sleep(0.3)
        for _ in range(3):
            _sh("ip", "addr", "change", "10.5.5.5/32", "dev", "lo", "valid_lft", "3000", "preferred_lft", "3000")
            time.sleep(1.4)
        log.seek(0)
        rep = {"changes_on_renewal": log.read().count("network change")}
        _sh("ip", "addr", "add", "10.5.5.6/32", "dev", "lo")
        time.sleep(1.6)
        log.seek(0)
        rep["changes_on_real_change"] = log.read().count("network change") - rep["changes_on_renewal"]
    finally:
        d.terminate()
        d.wait()
    log.seek(0)
    rep["log"] = log.read()
    return rep


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    work = tempfile.mkdtemp(prefix="s2h-netns-")
    try:
        report = {"resolv_conf": scenario_resolv_conf, "lifetime": scenario_lifetime}[sys.argv[1]](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report))
