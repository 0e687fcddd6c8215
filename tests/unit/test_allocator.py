"""glibc's mmap threshold held fixed (streams/worker/allocator.py): large blocks freed
while a later one is still in use go back to the system instead of staying resident."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from streams.worker.allocator import keep_large_blocks_mapped

# The pattern of RocksDB's memtables: 2 MiB blocks, written, freed while a newer one lives.
CHURN = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys
    from streams.worker.allocator import keep_large_blocks_mapped
    if sys.argv[1] == "fixed":
        assert keep_large_blocks_mapped()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    block = 2 * 1024 * 1024
    first = libc.malloc(block)
    libc.free(first)  # a mapped block freed: glibc raises its threshold past it
    before = rss()
    blocks = [libc.malloc(block) for _ in range(50)]
    for b in blocks:
        ctypes.memset(b, 1, block)
    for b in blocks[:-1]:
        libc.free(b)  # the last one, still in use, sits on the heap's top
    print(rss() - before)
    """
)


def resident_after_churn(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_large_blocks_go_back_to_the_system_once_the_threshold_is_fixed() -> None:
    assert resident_after_churn("fixed") < 16 * 1024 * 1024  # the one block left, and slack


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_without_it_they_stay_resident_on_the_heap() -> None:
    """The case the setting is for, shown on glibc's defaults."""
    assert resident_after_churn("default") > 80 * 1024 * 1024


def test_the_setting_reports_that_it_applied() -> None:
    assert keep_large_blocks_mapped() is sys.platform.startswith("linux")
