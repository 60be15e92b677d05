"""Test data for large transfers and a thread that keeps its result or exception."""

import os
import struct
import threading

import pytest

MIB = 1 << 20

# The daemon relays with splice(2) by default on Linux, through its buffers with --no-splice.
RELAY_MODES = [pytest.param((), id="splice"), pytest.param(("--no-splice",), id="buffers")]
_DATA = {}


def data64():
    """64 MiB of random bytes, made once per session."""
    if "d" not in _DATA:
        _DATA["d"] = os.urandom(64 * MIB)
    return _DATA["d"]


def stream_blocks(n_mib):
    """n_mib distinct 1 MiB blocks (a counter in front of a sliding window of random data)."""
    base = data64()
    for i in range(n_mib):
        off = (i * 7919 * 64) % (len(base) - MIB)
        yield struct.pack(">Q", i) + base[off: off + MIB - 8]


class Worker(threading.Thread):
    """Runs fn in a thread and keeps its result or exception."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args = fn, args
        self.result = self.error = None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:  # noqa: BLE001 - reported by get()
            self.error = e

    def get(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), f"worker still running after {timeout}s"
        if self.error:
            raise self.error
        return self.result
