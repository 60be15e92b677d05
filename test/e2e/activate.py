"""A service manager's socket activation in miniature, for the tests:

    activate.py [--journal] [--pid-offset N] SPEC... -- PROGRAM ARGS...

binds and listens on each SPEC (HOST:PORT, [V6]:PORT, or unix:/path; an optional NAME=
before it names the socket in LISTEN_FDNAMES), moves the sockets to fds 3, 4, ..., sets
LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (our pid, which PROGRAM keeps: we exec it; plus
N with --pid-offset, to play a variable meant for another process), and execs PROGRAM.
--journal sets JOURNAL_STREAM to stderr's device:inode, as systemd does for a service
whose stderr is the journal."""

import os
import socket
import sys


def listen(spec):
    if spec.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(spec[5:])
    else:
        host, _, port = spec.rpartition(":")
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    s.listen(64)
    return s


def main(argv):
    journal = False
    offset = 0
    while argv and argv[0].startswith("--") and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--journal":
            journal = True
        elif opt == "--pid-offset":
            offset = int(argv.pop(0))
    sep = argv.index("--")
    specs, prog = argv[:sep], argv[sep + 1:]
    names, socks = [], []
    for spec in specs:
        name, eq, rest = spec.partition("=")
        if eq and not name.startswith("unix") and "[" not in name:
            names.append(name)
            spec = rest
        else:
            names.append("")
        socks.append(listen(spec))
    # out of the way of 3.. first, then into place
    high = [os.dup(s.fileno()) for s in socks]
    high = [os.dup2(h, 100 + i) or 100 + i for i, h in enumerate(high)]
    for i, h in enumerate(high):
        os.dup2(h, 3 + i, inheritable=True)
    for h in high:
        os.close(h)
    env = dict(os.environ)
    env["LISTEN_FDS"] = str(len(socks))
    env["LISTEN_PID"] = str(os.getpid() + offset)
    if any(names):
        env["LISTEN_FDNAMES"] = ":".join(names)
    if journal:
        st = os.fstat(2)
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    os.execvpe(prog[0], prog, env)


if __name__ == "__main__":
    main(sys.argv[1:])
