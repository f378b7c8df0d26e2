"""``otlp-arrow demo``: the service with its viewer, and a simulated shop sending to it.

Starts ``serve`` in-process (OTLP/gRPC, OTLP/HTTP and the web viewer; the usual ports, or
free ones when those are taken), runs the shop of ``cli.shop`` against it over OTLP/HTTP, prints
the viewer's URL and, every few seconds, what has been written; stops cleanly on Ctrl+C or
SIGTERM (or after ``--duration``), with a summary and the next commands to try.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from otlp_arrow.cli import shop
from otlp_arrow.cli.signals import stop_event
from otlp_arrow.config import Config
from otlp_arrow.errors import ReceiverError
from otlp_arrow.query import connect
from otlp_arrow.schema import SIGNALS
from otlp_arrow.service import Service
from otlp_arrow.storage.objects import display
from otlp_arrow.storage.reader import signal_files
from otlp_arrow.viewer import DEFAULT_PORT as VIEWER_PORT

log = logging.getLogger(__name__)

NOUNS = {"traces": "spans", "metrics": "metric points", "logs": "log records"}


def run(config: Config, *, duration: float | None = None, rate: float = 20.0) -> int:
    """Run the demo until Ctrl+C / SIGTERM or for ``duration`` seconds. Returns 0."""
    stop = stop_event()
    service = _start(config)
    out = service.config.output_dir
    host = service.config.host
    print("otlp-arrow demo", flush=True)
    print(f"  writing to       {display(out)}")
    print(f"  OTLP/gRPC        {host}:{service.grpc_port}")
    print(f"  OTLP/HTTP        http://{host}:{service.http_port}")
    print(f"  web viewer       http://{host}:{service.viewer_port}/   <- open this in a browser")
    print(
        "A simulated web shop (services frontend, cart, payment; the OpenTelemetry SDK) is\n"
        "sending traces, metrics and logs over OTLP. Point your own app at the OTLP ports too.\n"
        + ("Ctrl+C stops." if duration is None else f"Stopping after {duration:g} s."),
        flush=True,
    )
    started = time.monotonic()
    try:
        with shop.running(f"http://{host}:{service.http_port}", rate=rate) as running:
            while not stop.wait(min(3.0, duration or 3.0)):
                print(f"  {_progress(service, running.requests)}", flush=True)
                if duration is not None and time.monotonic() - started >= duration:
                    break
            print("stopping: sending what the shop still holds...", flush=True)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        service.stop()
    _summary(out)
    return 0


def _start(config: Config) -> Service:
    """The service on the configured ports, or on free ones for those that are taken."""
    ports = {"grpc_port": config.grpc_port, "http_port": config.http_port}
    ports["viewer_port"] = config.viewer_port if config.viewer_port is not None else VIEWER_PORT
    ports = {name: 0 if port is None else port for name, port in ports.items()}
    try:
        return Service(config.replace(**ports)).start()
    except ReceiverError as exc:
        log.info("%s; using free ports instead", exc)
        return Service(config.replace(grpc_port=0, http_port=0, viewer_port=0)).start()


def _progress(service: Service, requests: int) -> str:
    written = service.library.stats()["rows_written"]
    files = [f for s in SIGNALS for f in signal_files(service.config.local_dir, s)]
    size = sum(f.size for f in files) / 1024
    counts = " · ".join(f"{written.get(s, 0):,} {NOUNS[s]}" for s in SIGNALS)
    return (
        f"{time.strftime('%H:%M:%S')}  {requests:,} requests -> written {counts} "
        f"({len(files)} files, {size:,.0f} KiB)"
    )


def _summary(out: Path | str) -> None:
    print()
    print(f"{'signal':<8} {'rows':>8} {'files':>6} {'bytes':>10}  first .. last (UTC)")
    for s in connect(out).summary():
        span = f"{s.first:%H:%M:%S} .. {s.last:%H:%M:%S}" if s.first and s.last else "-"
        print(f"{s.signal:<8} {s.rows:>8,} {s.files:>6} {s.bytes:>10,}  {span}")
    where = "" if out == Path("otlp-arrow-data") else f" --output-dir {out}"
    print()
    print("Next:")
    print(f"  otlp-arrow view{where}          browse it again")
    print(
        f'  otlp-arrow query "SELECT service_name, name, count(*) FROM traces GROUP BY ALL"{where}'
    )
    print(f"  python -c \"import otlp_arrow; print(otlp_arrow.connect('{out}').traces())\"")
    print("  docs/querying.md: SQL, pandas, Polars and DuckDB on these files")
