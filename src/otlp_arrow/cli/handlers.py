"""One handler per ``otlp-arrow`` subcommand: ``(args, parser) -> exit code``.

Heavy parts (the service, the viewer, the demo, replay) are imported by the handler that runs
them, so ``otlp-arrow query`` does not start by loading gRPC.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from otlp_arrow._version import __version__
from otlp_arrow.cli.output import tail_lines, write
from otlp_arrow.cli.signals import on_reload, stop_event, wait_until_stopped
from otlp_arrow.config import Config, render_docs
from otlp_arrow.errors import ConfigError
from otlp_arrow.query import connect
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage.objects import display

if TYPE_CHECKING:
    from otlp_arrow.viewer import Viewer

#: The signals ``otlp-arrow tail`` follows (metric points are not a stream to read by eye).
TAILED: Final[tuple[Signal, ...]] = ("traces", "logs")


def version_text() -> str:
    """``otlp-arrow --version``: the version, and whether the native core is in use."""
    from otlp_arrow.convert.native import native_status

    return f"otlp-arrow {__version__} ({native_status()})"


def _config(args: argparse.Namespace, **overrides: Any) -> Config:
    return Config.load(config_file=args.config, output_dir=args.output_dir, **overrides)


def demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if (args.duration is not None and args.duration <= 0) or not 0 < args.rate <= 1000:
        parser.error("--duration must be positive, --rate between 0 and 1000")
    from otlp_arrow.cli import demo as shop_demo

    return shop_demo.run(_config(args), duration=args.duration, rate=args.rate)


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the service until SIGINT/SIGTERM (with ``workers`` > 1: a supervisor of that many
    worker processes, and the viewer once, here)."""
    config = _config(
        args,
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        viewer_port=args.viewer,
        workers=args.workers,
    )
    if config.workers > 1:
        return _serve_workers(config)
    from otlp_arrow.malloc import tune
    from otlp_arrow.service import Service

    tune()  # before any thread starts: see otlp_arrow/malloc.py

    stop = stop_event()  # before starting: a SIGTERM while the listeners come up is a clean stop
    service = Service(config).start()
    on_reload(service.reload_tls)  # SIGHUP: re-read the TLS files
    wait_until_stopped(stop)
    service.stop()
    return 0


def _serve_workers(config: Config) -> int:
    from otlp_arrow.service.supervisor import Supervisor

    stop = stop_event()
    supervisor = Supervisor(config)  # ConfigError here where the platform cannot share ports
    viewer = None if config.viewer_port is None else _viewer(config, config.viewer_port)
    supervisor.start()
    try:
        if viewer is not None:
            viewer.start()
            logging.getLogger("otlp_arrow").info("web viewer on %s", viewer.where)
        _warn_if_exposed(
            config,
            receives=config.grpc_port is not None or config.http_port is not None,
            metrics_port=supervisor.http_port,
            viewer=viewer,
        )
        on_reload(supervisor.reload)  # SIGHUP: every worker re-reads the TLS files
        logging.getLogger("otlp_arrow").info("writing to %s", config.output_dir)
        supervisor.run(stop)
    finally:
        supervisor.stop()
        if viewer is not None:
            viewer.stop()
    return 0


def view(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the web viewer until SIGINT/SIGTERM."""
    config = _config(args, host=args.host)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: expected a port 0..65535")
    stop = stop_event()  # before starting, as serve does
    viewer = _viewer(config, args.port)
    viewer.start()
    log = logging.getLogger("otlp_arrow")
    log.info("viewer of %s on %s (Ctrl+C stops)", display(config.output_dir), viewer.where)
    _warn_if_exposed(config, viewer=viewer)
    if _missing(config) is not None:
        log.warning(
            "%s does not exist (yet): the viewer shows data as soon as something writes there",
            display(config.output_dir),
        )
    wait_until_stopped(stop)
    viewer.stop()
    return 0


def _viewer(config: Config, port: int) -> Viewer:
    """The viewer on its own (``view``; ``serve --workers``), with the listener settings."""
    from otlp_arrow.receivers.auth import Authenticator
    from otlp_arrow.receivers.limits import Limits, connection_cap, raise_fd_limit
    from otlp_arrow.receivers.tls import server_tls
    from otlp_arrow.viewer import Viewer

    tls = server_tls(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file)
    tokens = [token.reveal() for token in config.auth_bearer_tokens]
    limits = Limits(
        max_connections=connection_cap(config.max_connections, 1, raise_fd_limit()),
        header_timeout=config.header_timeout,
        idle_timeout=config.idle_timeout,
        ssl_context=None if tls is None else tls.context,
        auth=Authenticator(tokens) if tokens else None,
    )
    if tls is not None:  # re-read on SIGHUP and when the files change, as serve does
        on_reload(tls.reload)
        tls.watch(1.0, threading.Event())
    return Viewer(
        config.output_dir,
        config.host,
        port,
        spool_dir=config.spool_dir,
        limits=limits,
        allowed_hosts=config.viewer_allowed_hosts,
        query_timeout=config.viewer_query_timeout,
        memory_limit=config.viewer_memory_limit,
    )


def _warn_if_exposed(
    config: Config,
    *,
    receives: bool = False,
    metrics_port: int | None = None,
    viewer: Viewer | None,
) -> None:
    from otlp_arrow.receivers.auth import warn_if_exposed

    warn_if_exposed(
        config.host,
        protected=config.tls_cert_file is not None or bool(config.auth_bearer_tokens),
        receives=receives,
        metrics_port=metrics_port,
        viewer_port=None if viewer is None else viewer.port,
    )


def _missing(config: Config) -> str | None:
    """What is wrong with a local output directory that is not there (None: it is, or the
    output is a bucket)."""
    if config.remote is not None or config.local_dir.is_dir():
        return None
    return "is not a directory" if config.local_dir.exists() else "does not exist"


def _stored(args: argparse.Namespace) -> Config:
    """The settings of a command that reads what is stored: ConfigError if the (local)
    output directory is not there, rather than answers about nothing (a typo)."""
    config = _config(args)
    if (what := _missing(config)) is not None:
        raise ConfigError(
            f"{display(config.output_dir)} {what}: nothing is stored there (--output-dir or "
            "OTLP_ARROW_OUTPUT_DIR chooses the directory)"
        )
    return config


def query(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not args.sql.strip():
        raise ConfigError("the SQL query is empty")
    config = _stored(args)
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    result = connect(config.output_dir, config.spool_dir).sql(args.sql)
    sys.stdout.flush()
    write(result, fmt, sys.stdout, sys.stdout.buffer)
    return 0


def replay(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    config = _config(args, forward_endpoint=args.to, forward_protocol=args.protocol)
    from otlp_arrow.forward.replay import parse_moment, print_summary
    from otlp_arrow.forward.replay import replay as run_replay

    chosen = args.signal or config.forward_signals  # --signal, else the setting (all)
    signals: tuple[Signal, ...] = tuple(s for s in SIGNALS if s in chosen)
    since = parse_moment(args.since) if args.since else None
    until = parse_moment(args.until) if args.until else None
    summary = run_replay(config, signals, since=since, until=until, progress=sys.stderr)
    print_summary(summary, config.forward_endpoint)
    if summary.abandoned:
        sys.stderr.write(f"otlp-arrow: error: {summary.abandoned}\n")
    if summary.interrupted:
        return 130
    return 0 if summary.complete else 1


def tail(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Follow new spans and log records until Ctrl+C (130)."""
    config = _config(args)
    signals: tuple[Signal, ...] = (args.signal,) if args.signal else TAILED
    following = connect(config.output_dir, config.spool_dir).follow(signals)
    print(
        f"following new {' and '.join(signals)} under {display(config.output_dir)} (Ctrl+C stops)",
        file=sys.stderr,
        flush=True,
    )
    for signal, batch in following:
        for line in tail_lines(signal, batch, args.service):
            print(line, flush=True)
    return 0


def stats(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    config = _stored(args)
    print(f"telemetry under {display(config.output_dir)}")
    print(
        f"{'signal':<8} {'rows':>10} {'files':>6} {'bytes':>12}  {'first':<24} "
        f"{'last':<24} top services"
    )
    for s in connect(config.output_dir, config.spool_dir).summary():
        first = s.first.isoformat(timespec="seconds") if s.first else "-"
        last = s.last.isoformat(timespec="seconds") if s.last else "-"
        services = ", ".join(f"{name} ({count})" for name, count in s.top_services) or "-"
        print(
            f"{s.signal:<8} {s.rows:>10,} {s.files:>6} {s.bytes:>12,}  {first:<24} "
            f"{last:<24} {services}"
        )
    return 0


def compact(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Compact the sealed files once (``storage.compact``) and say what was done."""
    from otlp_arrow.storage import compact as compaction
    from otlp_arrow.storage import compact_remote
    from otlp_arrow.storage.objects import open_bucket

    grace = compaction.GRACE_S if args.grace is None else args.grace
    if grace < 0:
        raise ConfigError(f"--grace {args.grace:g}: must not be negative")
    config = _stored(args)
    settle = None if args.all else 0.0
    bucket = None if config.remote is None else open_bucket(config.remote)
    for signal in args.signal or SIGNALS:
        if (
            compact_remote.is_iceberg_table(bucket, signal)
            if bucket is not None
            else compaction.is_iceberg_table(config.local_dir / signal)
        ):
            print(f"{signal}: an Iceberg table, left to its engine (its snapshots name files)")
            continue
        if bucket is not None:
            done: compaction.CompactStats = compact_remote.compact_signal(
                bucket, signal, config.local_dir / ".compact", settle_s=settle, grace_s=grace
            )
        else:
            done = compaction.compact_signal(
                config.local_dir / signal, settle_s=settle, grace_s=grace
            )
        print(
            f"{signal}: {done.files_merged} files ({done.rows:,} rows) merged into "
            f"{done.files_written}; {done.inputs_deleted} input files deleted"
        )
    return 0


def config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print the resolved settings, or the settings table of docs/configuration.md."""
    if args.docs:
        print(render_docs(), end="")
        return 0
    for name, value in sorted(vars(_config(args)).items()):
        print(f"{name} = {value}")
    return 0
