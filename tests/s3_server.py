"""A real S3 API for the tests: moto in server mode on a loopback port (a subprocess the
tests start), and a TCP proxy in front of it that the tests can cut, stall and restore."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"  # moto accepts any key unless told to authenticate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``python -m moto.server`` on a free loopback port; ``authenticate``: every request is
    checked against moto's IAM (so unknown credentials are refused)."""

    def __init__(self, *, authenticate: bool = False) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COV_CORE")}
        env.pop("COVERAGE_PROCESS_START", None)  # not our code: no need to measure it
        if authenticate:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def client(self, endpoint: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every object key in ``bucket`` under ``prefix`` (not the empty ``…/`` directory markers
    pyarrow leaves when it deletes the last object of a "directory")."""
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents", []) if item["Key"][-1] != "/"]
    return sorted(found)


class Proxy:
    """A TCP proxy on a free loopback port to ``target_port``. ``down()`` refuses and cuts
    connections (the endpoint is unreachable) until ``up()``; ``stall_after(n)`` stops
    forwarding a connection's upload once ``n`` bytes of it went through (a writer stuck
    mid-upload); ``forwarded`` counts the bytes sent upstream."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._up = threading.Event()
        self._up.set()
        self.stall_at: int | None = None
        self.stalled = threading.Event()
        self.forwarded = 0
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        self._up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()

    def up(self) -> None:
        self._up.set()

    def stall_after(self, nbytes: int) -> None:
        self.stall_at = nbytes

    def close(self) -> None:
        self._closed = True
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if upload and self.stall_at is not None and self.forwarded >= self.stall_at:
                    self.stalled.set()
                    while not self._closed:  # hold the connection: the writer waits on it
                        time.sleep(0.1)
                    return
                sink.sendall(data)
                if upload:
                    self.forwarded += len(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def moto(**kwargs: Any) -> Iterator[MotoServer]:
    server = MotoServer(**kwargs)
    try:
        yield server
    finally:
        server.stop()
