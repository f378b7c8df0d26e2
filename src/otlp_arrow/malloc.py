"""The memory of our own processes tuned: transparent huge pages off for every ``otlp-arrow``
command, and glibc's ``malloc`` for a server that takes large requests on many threads.

By default glibc gives each thread that allocates its own arena (up to 8 per core) and raises
its mmap threshold to the size of every large block freed, so a stream of large request bodies
(most of them refused at the in-flight limit) on gRPC's worker threads comes to be served from
arenas that keep freed memory: measured on 20 clients sending 13.5 MiB gRPC requests at once,
peak RSS 740-820 MiB above idle with the defaults, 490-520 MiB with two arenas and a fixed
1 MiB threshold (docs/operations.md, "Memory bound").

On Linux it also turns transparent huge pages off for the process. mimalloc (pyarrow's and
the native core's) asks for them, and a request's columns and a write round's combined batch
then keep landing on fresh 2 MiB pages that the kernel zeroes whole: 19-31 % of the server's
CPU under gRPC load (perf); without them, 6-41 % more spans per CPU-second
(docs/performance.md, "The server path end to end").

Every ``otlp-arrow`` command turns huge pages off first thing (``cli.entry`` calls
:func:`no_huge_pages`; ``compact`` spends 15-30 % less CPU without them); ``serve`` and its
workers call :func:`tune`, both parts, before their threads start (the fixed mmap threshold
costs a batch job like ``compact`` some system time, so only the server takes it). The
library, and ``cli.main`` called in-process, never change their host process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import sys

log = logging.getLogger(__name__)

#: ``mallopt`` parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Arenas for the whole process: the receivers' threads mostly wait on I/O.
ARENAS = 2
#: Blocks this large or larger are mapped and unmapped on their own, returned at once.
MMAP_THRESHOLD = 1024 * 1024
#: The environment variables through which a user sets the same (theirs win).
_ENV = {M_ARENA_MAX: "MALLOC_ARENA_MAX", M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_"}
#: ``prctl`` option (linux/prctl.h) and mimalloc's own switch for huge pages (the user's wins).
PR_SET_THP_DISABLE = 41
_THP_ENV = "MIMALLOC_ALLOW_THP"


def tune() -> bool:
    """Turn transparent huge pages off (Linux) and set two arenas and a fixed 1 MiB mmap
    threshold (glibc), except where the user set any of them in the environment; True if
    glibc took its two, False on other platforms and C libraries."""
    if not sys.platform.startswith("linux"):
        return False
    no_huge_pages()
    if platform.libc_ver()[0] != "glibc":  # pragma: no cover - musl and others
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # pragma: no cover - a glibc system always has it
        return False
    ok = True
    for param, value in ((M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD)):
        if _ENV[param] not in os.environ:
            ok = libc.mallopt(param, value) == 1 and ok
    log.debug("malloc: %d arenas, %d-byte mmap threshold (%s)", ARENAS, MMAP_THRESHOLD, ok)
    return ok


def no_huge_pages() -> None:
    """Transparent huge pages off for this process (and what it starts), unless the user set
    ``MIMALLOC_ALLOW_THP``; Linux only (elsewhere nothing)."""
    if not sys.platform.startswith("linux") or _THP_ENV in os.environ:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:  # pragma: no cover - kernels < 3.15
        log.debug("prctl(PR_SET_THP_DISABLE) failed: errno %d", ctypes.get_errno())
