"""glibc's malloc, told to keep the memory it frees. By default every allocation above its
(adaptive) mmap threshold gets fresh pages from the kernel and gives them back when freed, and
the top of the heap is trimmed: a network's activations, allocated and freed batch after batch,
then cost page faults and system time comparable to the computing itself
(docs/performance.md: the allocator). Called once in every process that runs stages."""

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
KEEP = 1 << 30  # bytes: freed memory below this is kept for reuse, not returned
_tuned = False


def keep_freed_memory() -> bool:
    """Set this process's malloc to keep freed memory (once; glibc only). True when it did."""
    global _tuned
    if _tuned or not sys.platform.startswith("linux"):
        return _tuned
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # another C library (musl): it has its own policy
        return False
    # large blocks from the heap rather than fresh mappings (glibc caps the threshold, so try
    # lower where it refuses), a heap that is not trimmed, and one arena: single-threaded tasks
    _tuned = any(libc.mallopt(M_MMAP_THRESHOLD, size) for size in (KEEP, 1 << 25)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP)) and bool(libc.mallopt(M_ARENA_MAX, 1))
    return _tuned
