"""Process-wide memory settings for fast CPU inference."""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""glibc's largest allowed mmap threshold on 64-bit systems."""
TRIM_THRESHOLD = 64 << 20


def reuse_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse rather than hand it back at once.

    torch allocates a new buffer for every activation, and for a batch of frames these
    are megabytes: above glibc's mmap threshold (or its trim threshold, in the arenas of
    threads other than the main one), so every decode maps fresh pages that the kernel
    faults in and zeroes again. For the demo model that was about 330 page faults per
    exported frame, which made decoding it cost 1.1 ms of CPU instead of 0.6. Raising
    both thresholds keeps those buffers in the heap, at the cost of holding on to up to
    ``TRIM_THRESHOLD`` of freed memory in each of malloc's arenas (about one per thread
    that allocates). Returns whether the setting took: glibc only; elsewhere (macOS,
    Windows, musl) nothing changes.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # glibc names itself; others do not
            return False
        libc = ctypes.CDLL(None)  # the process's own symbols, glibc's among them
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    except (AttributeError, OSError, ValueError):  # no confstr, name or mallopt here
        return False
