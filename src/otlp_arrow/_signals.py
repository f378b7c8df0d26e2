"""Stopping long-running commands: Ctrl+C everywhere, SIGTERM where the platform has it."""

from __future__ import annotations

import signal
import threading


def stop_event() -> threading.Event:
    """An event set by SIGTERM (on platforms that have it, when called from the main
    thread). Ctrl+C arrives as KeyboardInterrupt, which callers handle themselves."""
    stop = threading.Event()
    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def wait_until_stopped(stop: threading.Event | None = None) -> None:
    """Block until Ctrl+C or SIGTERM."""
    stop = stop or stop_event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
