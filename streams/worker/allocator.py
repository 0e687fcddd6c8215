"""glibc's malloc told to hand large blocks back, so a worker's RSS follows RocksDB's use.

RocksDB allocates each memtable in arena blocks of a few MiB, freed when the memtable is
flushed, a minute or two later.  glibc serves blocks above its mmap threshold (128 KiB)
with their own mapping, returned to the system on free — but the first such free raises
the threshold to that block's size ("dynamic threshold"), and from then on the blocks come
from the main heap instead, where a freed block stays resident and the heap's top rarely
shrinks.  The worker's RSS then creeps up flush after flush although RocksDB's own count
stays within its budget (bench/soak.py prints both).  Setting the threshold once turns the
dynamic adjustment off: every large block is mapped and unmapped again, a few system calls
a minute at the worker's write rates."""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
"""glibc's <malloc.h> parameter number."""
THRESHOLD = 128 * 1024
"""glibc's own default threshold, kept fixed instead of rising."""


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold at its default; False where the C library is not glibc
    (musl, macOS), where nothing is changed."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))
