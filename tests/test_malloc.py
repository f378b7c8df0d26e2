"""The memory tuning of our own processes (malloc.py: the ``otlp-arrow`` command, ``serve``'s
workers), observed through glibc's own counters in a fresh process: after a large block is
freed, the next large one is still mapped on its own (glibc's default raises the threshold
instead, and serves it from an arena that keeps it); and through the kernel's ``THP_enabled``
of the process: transparent huge pages are off."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import ctypes, sys
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tune":
    from otlp_arrow.malloc import tune
    assert tune()
libc.free(libc.malloc(4 << 20))  # a 4 MiB block, mapped, then freed
before = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - before)  # 1: the 2 MiB block is mapped on its own
libc.free(block)
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's malloc only",
)


def _probe(script: str, mode: str, env: dict[str, str] | None = None) -> str:
    """What ``script`` prints in a fresh interpreter (``mode``: "tune" or "default")."""
    done = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _mapped(mode: str, env: dict[str, str] | None = None) -> str:
    return _probe(PROBE, mode, env)


@glibc
def test_large_blocks_stay_mapped_after_tuning() -> None:
    assert _mapped("default") == "0"  # glibc raised its threshold to 4 MiB
    assert _mapped("tune") == "1"


@glibc
def test_the_users_own_malloc_setting_wins() -> None:
    assert _mapped("tune", {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(8 << 20)}) == "0"


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from otlp_arrow.malloc import tune

    monkeypatch.setattr(sys, "platform", "darwin")
    assert tune() is False


THP_PROBE = """
import contextlib, sys
from pathlib import Path
if sys.argv[1] == "tune":
    from otlp_arrow.malloc import tune
    tune()
if sys.argv[1] in ("command", "main"):  # the otlp-arrow script's entry, or main() in-process
    from otlp_arrow.cli import entry, main
    mode, sys.argv = sys.argv[1], ["otlp-arrow", "--version"]
    with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
        entry() if mode == "command" else main(["--version"])
status = Path("/proc/self/status").read_text().splitlines()
print(next(line.split()[1] for line in status if line.startswith("THP_enabled:")))
"""

linux_thp = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or "THP_enabled:" not in Path("/proc/self/status").read_text(),  # Linux 5.0 and later
    reason="Linux's per-process transparent huge page switch only",
)


def _thp(mode: str, env: dict[str, str] | None = None) -> str:
    return _probe(THP_PROBE, mode, env)


@linux_thp
def test_tuning_turns_transparent_huge_pages_off() -> None:
    if _thp("default") == "0":  # pragma: no cover - a machine that has them off already
        pytest.skip("transparent huge pages are off here already")
    assert _thp("tune") == "0"


@linux_thp
def test_the_users_own_huge_page_setting_wins() -> None:
    assert _thp("tune", {**os.environ, "MIMALLOC_ALLOW_THP": "1"}) == _thp("default")


@linux_thp
def test_the_command_tunes_its_process_and_in_process_calls_do_not() -> None:
    if _thp("default") == "0":  # pragma: no cover - a machine that has them off already
        pytest.skip("transparent huge pages are off here already")
    assert _thp("command") == "0"
    assert _thp("main") == _thp("default")


def test_the_installed_command_is_the_tuning_entry_point() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="otlp-arrow")
    assert script.value == "otlp_arrow.cli:entry"
