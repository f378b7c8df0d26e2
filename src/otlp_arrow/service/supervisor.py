"""``serve --workers N``: one supervisor process and N worker processes sharing the ports.

Each worker is a whole :class:`~otlp_arrow.service.Service` (receivers, pipeline, writer) in
its own process (:mod:`~otlp_arrow.service.worker`), so N cores convert and write at once.
They listen on the same gRPC and HTTP ports with ``SO_REUSEPORT``; the kernel spreads the
*connections* over them. They share ``output_dir`` (file names carry the writer's pid and a
random token; locks keep each off the others' open files). The supervisor starts them,
restarts one that dies (with back-off), forwards SIGTERM / SIGINT (each worker drains: every
acknowledged request is in its files) and SIGHUP, and fails if a worker cannot start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from otlp_arrow.config import Config
from otlp_arrow.errors import ConfigError, ReceiverError
from otlp_arrow.forward import backoff
from otlp_arrow.service.worker import COMMAND, READY, WorkerTask

log = logging.getLogger(__name__)

#: A worker that ran this long is healthy again: its next restart starts the back-off over.
HEALTHY_S = 30.0
RESTART_INITIAL_S = 0.5
RESTART_MAX_S = 30.0


def reuseport_available() -> bool:
    """True where several processes can listen on one port (``SO_REUSEPORT`` with balancing:
    Linux, macOS, the BSDs; not Windows)."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform != "win32"


def check_workers(workers: int) -> None:
    """ConfigError naming the setting when ``workers`` > 1 cannot work on this platform."""
    if workers > 1 and not reuseport_available():
        raise ConfigError(
            f"workers={workers}: several processes can only share the receivers' ports with "
            f"SO_REUSEPORT, which {sys.platform} does not have; set workers to 1 (and run "
            "more instances on other ports behind a load balancer, docs/scale-out.md)"
        )


def reserve_port(host: str, port: int | None) -> tuple[int | None, socket.socket | None]:
    """A concrete port for ``port`` 0 (a free one, kept bound, not listening, with
    ``SO_REUSEPORT`` so that the workers can listen on it; no connection goes to a socket
    that does not listen). Other ports are returned as they are."""
    if port != 0:
        return port, None
    sock = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ReceiverError(f"cannot find a free port on {host}: {exc.strerror or exc}") from exc
    return int(sock.getsockname()[1]), sock


@dataclass
class _Slot:
    """One worker's place: its number, the current process and its restart history."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0  # restarts in a row without a healthy run
    restart_at: float | None = None
    restarts: int = 0
    pids: list[int] = field(default_factory=list)


class Supervisor:
    """Runs ``config.workers`` worker processes of ``config`` until :meth:`stop`."""

    def __init__(
        self,
        config: Config,
        *,
        command: tuple[str, ...] = COMMAND,
        start_timeout_s: float = 60.0,
        grace_s: float = 10.0,
    ) -> None:
        check_workers(config.workers)
        self.config = config
        self.command = command
        self.start_timeout_s = start_timeout_s
        self.grace_s = grace_s
        self.slots = [_Slot(i) for i in range(config.workers)]
        self._reserved: list[socket.socket] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the slots' processes (the loop and stop)
        self._worker_config = config

    def start(self) -> Supervisor:
        """Start every worker and wait until each listens; ReceiverError (after stopping the
        others) if one cannot start."""
        grpc_port, grpc_sock = reserve_port(self.config.host, self.config.grpc_port)
        try:
            http_port, http_sock = reserve_port(self.config.host, self.config.http_port)
        except ReceiverError:
            if grpc_sock is not None:
                grpc_sock.close()
            raise
        self._reserved = [s for s in (grpc_sock, http_sock) if s is not None]
        self._worker_config = dataclasses.replace(
            self.config, grpc_port=grpc_port, http_port=http_port, viewer_port=None
        )
        try:
            for slot in self.slots:
                self._spawn(slot)
            for slot in self.slots:
                assert slot.process is not None
                self._await_ready(slot.index, slot.process)
        except BaseException:
            self.stop()
            raise
        log.info(
            "%d workers ready (pids %s) sharing %s",
            len(self.slots),
            ", ".join(str(s.process.pid) for s in self.slots if s.process is not None),
            ", ".join(self._ports()),
        )
        return self

    @property
    def http_port(self) -> int | None:
        """The OTLP/HTTP port the workers share (None: off), once started."""
        return self._worker_config.http_port

    def _ports(self) -> list[str]:
        c = self._worker_config
        ports = [f"OTLP/gRPC {c.grpc_port}" if c.grpc_port is not None else ""]
        ports.append(f"OTLP/HTTP {c.http_port}" if c.http_port is not None else "")
        return [p for p in ports if p] or ["no port"]

    def _spawn(self, slot: _Slot) -> None:
        task = WorkerTask(self._worker_config, slot.index, logging.getLogger().getEffectiveLevel())
        process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdin is not None
        try:  # the pipe stays open: its end tells the worker that the supervisor is gone
            process.stdin.write(pickle.dumps(task))
            process.stdin.flush()
        except OSError:  # died at once: _await_ready / the loop see its exit code
            pass
        slot.process, slot.started, slot.restart_at = process, time.monotonic(), None
        slot.pids.append(process.pid)

    def _await_ready(self, index: int, process: subprocess.Popen[bytes]) -> None:
        """Wait for the worker's ``ready`` line; ReceiverError if it exits or stays silent."""
        stdout = process.stdout
        assert stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout_s)
        if line and line[0].strip() == READY.encode():
            stdout.close()  # the worker's standard output is its standard error now
            return
        if reader.is_alive():
            raise ReceiverError(f"worker {index} did not start within {self.start_timeout_s:g}s")
        code = process.wait()
        stdout.close()
        raise ReceiverError(
            f"worker {index} could not start (exit code {code}); its error is logged above"
        )

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Watch the workers until ``stop`` is set: restart one that exits (logged, with
        back-off), then stop them all (draining)."""
        try:
            while not stop.wait(poll_s):
                self.check(time.monotonic())
        finally:
            self.stop()

    def check(self, now: float) -> None:
        """One look at the workers: note those that exited, restart those whose back-off is
        over."""
        with self._lock:
            if self._stopping.is_set():
                return
            for slot in self.slots:
                process = slot.process
                if process is not None and process.poll() is not None:
                    self._exited(slot, process.returncode, now)
                elif slot.restart_at is not None and now >= slot.restart_at:
                    slot.restarts += 1
                    self._spawn(slot)
                    threading.Thread(
                        target=self._announce,
                        args=(slot.index, slot.process),
                        name="otlp-arrow-restart",
                        daemon=True,
                    ).start()

    def _exited(self, slot: _Slot, code: int, now: float) -> None:
        assert slot.process is not None
        pid = slot.process.pid
        _close_pipes(slot.process)
        slot.process = None
        if now - slot.started >= HEALTHY_S:
            slot.failures = 0
        wait = backoff.delay(slot.failures, RESTART_INITIAL_S, RESTART_MAX_S)
        slot.failures += 1
        slot.restart_at = now + wait
        log.warning(
            "worker %d (pid %d) exited (%s); restarting it in %.1fs",
            slot.index,
            pid,
            _describe(code),
            wait,
        )

    def _announce(self, index: int, process: subprocess.Popen[bytes]) -> None:
        try:
            self._await_ready(index, process)
        except ReceiverError as exc:
            if not self._stopping.is_set():  # the loop sees the exit and backs off further
                log.warning("%s", exc)
            return
        log.info("worker %d restarted (pid %d)", index, process.pid)

    def reload(self) -> None:
        """Forward SIGHUP (re-read the TLS files) to every worker."""
        for process in self._processes():
            if hasattr(signal, "SIGHUP"):
                process.send_signal(signal.SIGHUP)

    def _processes(self) -> list[subprocess.Popen[bytes]]:
        return [s.process for s in self.slots if s.process is not None]

    def stop(self) -> None:
        """SIGTERM to every worker, wait for each to drain (killed after ``grace_s`` + 30s),
        release the reserved ports. Idempotent."""
        with self._lock:
            self._stopping.set()
            processes = self._processes()
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + self.grace_s + 30
            for process in processes:
                try:
                    process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.error("worker pid %d did not stop in time; killing it", process.pid)
                    process.kill()
                    process.wait()
                _close_pipes(process)
            for sock in self._reserved:
                sock.close()
            self._reserved = []

    @property
    def exit_codes(self) -> list[int | None]:
        """The current workers' exit codes (None: running or restarting)."""
        return [None if s.process is None else s.process.poll() for s in self.slots]


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    """Close the pipes of a worker that exited (a reader of its standard output is at the
    end of it, or about to be: ``close`` waits for it)."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):  # a pipe whose reader died with data unread
                stream.close()
