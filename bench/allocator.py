"""glibc's malloc, told to keep the memory it frees. By default every allocation above its
(adaptive) mmap threshold gets fresh pages from the kernel and gives them back when freed, and
the top of the heap is trimmed: a network's activations, allocated and freed batch after batch,
then cost page faults and system time comparable to the computing itself
(docs/performance.md: the allocator). Called once in every process that runs stages; each
stage hands what it kept back when it ends (`release`), so a task's peak memory is its own and
an idle worker holds little."""

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
KEEP = 1 << 30  # bytes: freed memory below this is kept for reuse, not returned
_tuned = False
_libc = None


def keep_freed_memory() -> bool:
    """Set this process's malloc to keep freed memory (once; glibc only). True when it did."""
    global _tuned, _libc
    if _tuned or not sys.platform.startswith("linux"):
        return _tuned
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # another C library (musl): it has its own policy
        return False
    # large blocks from the heap rather than fresh mappings (glibc caps the threshold, so try
    # lower where it refuses), a heap that is not trimmed, and one arena: single-threaded tasks
    _tuned = any(libc.mallopt(M_MMAP_THRESHOLD, size) for size in (KEEP, 1 << 25)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP)) and bool(libc.mallopt(M_ARENA_MAX, 1))
    _libc = libc if _tuned else None
    return _tuned


def release() -> None:
    """Give the kept free memory back to the kernel (once per stage, not once per batch)."""
    if _libc is not None:
        _libc.malloc_trim(0)
