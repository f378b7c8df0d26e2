"""One worker of ``serve --workers N``: a process running :func:`main` (see ``COMMAND``).

Started by the :mod:`~otlp_arrow.service.supervisor` with pipes: its standard input brings
the task (a pickled :class:`WorkerTask`: the resolved settings and the worker's number; only
its own parent writes there), and stays open while the supervisor lives: end of input (the
supervisor is gone, even after ``kill -9``) stops the worker as SIGTERM does, draining. Its
standard output says ``ready`` once the receivers listen; the log goes to standard error.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from otlp_arrow.config import Config
from otlp_arrow.errors import OtlpArrowError
from otlp_arrow.storage import spool

log = logging.getLogger(__name__)

#: What a worker writes on its standard output once its receivers listen.
READY = "ready"
#: How the supervisor starts a worker (``-c``, not ``-m``: the package imports this module).
COMMAND = (
    sys.executable,
    "-c",
    "import sys; from otlp_arrow.service.worker import main; sys.exit(main())",
)


@dataclass(frozen=True)
class WorkerTask:
    """What the supervisor hands a worker: the settings (ports resolved) and its number."""

    config: Config
    index: int
    log_level: int = logging.INFO


def log_format(index: int) -> str:
    """The CLI's log format, with the worker's number: the workers share standard error."""
    return f"%(asctime)s %(levelname)s [worker {index}] %(name)s: %(message)s"


def run(task: WorkerTask, stop: threading.Event, announce: Callable[[], None]) -> int:
    """Serve until ``stop`` is set, calling ``announce`` once listening. The exit code:
    0 after a clean stop, 1 when the service cannot start (the error is logged)."""
    from otlp_arrow.cli.signals import on_reload
    from otlp_arrow.service.service import Service

    config = task.config
    if config.remote is not None:  # object storage: each worker has its own spool
        config = config.replace(spool_dir=spool.worker_dir(config.spool, task.index))
    try:
        service = Service(config)
        service.worker = task.index  # /metrics samples carry worker="<index>"
        service.start()
    except OtlpArrowError as exc:
        log.error("worker %d cannot start: %s", task.index, exc)
        return 1
    on_reload(service.reload_tls)  # the supervisor forwards SIGHUP
    announce()
    stop.wait()
    service.stop()
    return 0


def _stop_at_end_of(fd: int, stop: threading.Event) -> None:
    """Set ``stop`` when the pipe ``fd`` ends (the supervisor closed it, or died). Read
    unbuffered: a daemon thread inside a buffered read would abort the interpreter's exit."""

    def watch() -> None:
        while os.read(fd, 4096):
            pass
        stop.set()

    threading.Thread(target=watch, name="otlp-arrow-supervisor-watch", daemon=True).start()


def _announce() -> None:
    """``ready`` to the supervisor's pipe; standard output is standard error after it."""
    sys.stdout.write(f"{READY}\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def main() -> int:
    from otlp_arrow.cli.signals import stop_event
    from otlp_arrow.malloc import tune

    tune()  # before any thread starts: see otlp_arrow/malloc.py
    if hasattr(signal, "SIGHUP"):  # a forwarded SIGHUP before the service runs: nothing
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    stop = stop_event()  # SIGTERM / SIGINT: drain and exit 0
    task: WorkerTask = pickle.load(sys.stdin.buffer)  # our own parent's pipe, nobody else's
    logging.basicConfig(level=task.log_level, format=log_format(task.index))
    _stop_at_end_of(sys.stdin.fileno(), stop)
    return run(task, stop, _announce)
