#!/usr/bin/env python3
"""The house's rules, checked on the sources (a make check test):
- the include graph of src/ and include/ has no cycle (module X = include/X.h + src/X.c);
- the relay (pump, stream) reaches no protocol header (socks.h, httpc.h), not even through
  another header;
- the pure modules (socks, httpc, httpreq, proxyurl, config, route, pacanswer, chunked, paccache, authchal,
  digest, ntlm, md4, auth) include neither log.h nor ev.h;
- no source file is over 600 lines.
Ends with one line "N passed, N failed"."""

import os
import re
import sys

top = os.environ.get("srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


files = {}
for d in ("src", "include"):
    for name in sorted(os.listdir(os.path.join(top, d))):
        if name.endswith((".c", ".h")):
            files[os.path.join(d, name)] = open(os.path.join(top, d, name), encoding="utf-8").read()

inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def module(name):
    """A module's private header (X_int.h) is part of module X."""
    return name[:-4] if name.endswith("_int") else name


graph = {}   # module -> modules it includes
for path, text in files.items():
    mod = module(os.path.splitext(os.path.basename(path))[0])
    graph.setdefault(mod, set())
    for dep in map(module, inc_re.findall(text)):
        if dep != mod:
            graph[mod].add(dep)
        graph.setdefault(dep, set())

# cycles: depth-first search with colours
WHITE, GREY, BLACK = 0, 1, 2
colour = {m: WHITE for m in graph}
cycles = []


def visit(m, stack):
    colour[m] = GREY
    stack.append(m)
    for d in sorted(graph[m]):
        if colour[d] == GREY:
            cycles.append(stack[stack.index(d):] + [d])
        elif colour[d] == WHITE:
            visit(d, stack)
    stack.pop()
    colour[m] = BLACK


for m in sorted(graph):
    if colour[m] == WHITE:
        visit(m, [])
check(not cycles, "include cycles: " + "; ".join(" -> ".join(c) for c in cycles))


def reach(m):
    seen, todo = set(), [m]
    while todo:
        for d in graph.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


for relay in ("pump", "stream"):
    bad = reach(relay) & {"socks", "httpc", "httpreq", "front", "front_http", "forward", "dial", "session"}
    check(not bad, f"{relay} reaches protocol modules {sorted(bad)}")

for pure in ("socks", "httpc", "httpreq", "proxyurl", "config", "route", "pacanswer", "chunked", "paccache",
             "authchal", "digest", "ntlm", "md4", "auth"):
    bad = graph.get(pure, set()) & {"log", "ev"}
    for path in (f"src/{pure}.c", f"include/{pure}.h"):
        if re.search(r'#\s*include\s+<ev\.h>', files.get(path, "")):
            bad.add("ev")
    check(not bad, f"pure module {pure} includes {sorted(bad)}")

for path, text in files.items():
    n = text.count("\n")
    check(n <= 600, f"{path} has {n} lines (over 600)")

check(not os.path.exists(os.path.join(top, "src", "tunnel.c")), "src/tunnel.c is back")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
