"""Stopping long-running commands (serve, view, demo) on Ctrl+C or SIGTERM; SIGHUP."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


def on_reload(reload: Callable[[], Any]) -> bool:
    """Call ``reload`` (on a thread of its own) on SIGHUP, where the platform has it and
    when called from the main thread; False where it cannot."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return False

    def handler(*_: object) -> None:
        threading.Thread(target=reload, name="otlp-arrow-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, handler)
    return True


def stop_event() -> threading.Event:
    """An event set by Ctrl+C (SIGINT) and SIGTERM, where the platform has them and when
    called from the main thread. SIGINT is taken over explicitly: a shell that starts a
    command in the background has it ignored, and ``kill -INT`` should still stop cleanly.
    Elsewhere, Ctrl+C arrives as KeyboardInterrupt, which callers also handle."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: stop.set())
    return stop


def wait_until_stopped(stop: threading.Event) -> None:
    """Block until ``stop`` (from :func:`stop_event`, taken before the service starts, so a
    signal during start-up is not lost) is set, or Ctrl+C arrives as KeyboardInterrupt."""
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
