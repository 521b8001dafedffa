"""Keep freed memory in the process: page faults were a third of a GraphSTAD training step on CPU.

glibc's ``malloc`` serves blocks above a threshold (a few MB after warm-up, at most 32 MB) with fresh
``mmap`` pages and returns them to the kernel on ``free``. A GraphSTAD step at full HE geometry allocates
and frees dozens of such tensors (the [40, 32, 14, 72, 7] maps are 36 MB), so every step pays for
~140,000 page faults: measured 0.70 s per step against 0.38 s once large blocks are kept
(``benchmarks/bench_graphstad.py``). :func:`keep_freed_memory` raises glibc's mmap and trim
thresholds to 1 GiB, so freed blocks are reused (scoring 48 HE windows: 2.3 s → 1.5 s). :mod:`hcaltl.train`
calls it before training and scoring. The price: the process keeps its peak memory until it ends.

Explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_state = {"applied": False}


def keep_freed_memory(threshold: int = 1 << 30) -> bool:
    """Ask glibc to keep freed blocks below ``threshold`` bytes for reuse (``mallopt``).

    Returns True when the setting is in force (now or from an earlier call); False where the C library is
    not glibc (macOS, Windows, musl), where nothing is changed.
    """
    if _state["applied"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, threshold) == 1 and mallopt(_M_TRIM_THRESHOLD, threshold) == 1
    _state["applied"] = ok
    return ok
