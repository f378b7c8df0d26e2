"""The ``otlp-arrow`` command: arguments -> configuration -> demo, serve, view, query, tail,
stats, config."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from otlp_arrow._output import FORMATS, tail_lines, write
from otlp_arrow._signals import wait_until_stopped
from otlp_arrow._version import __version__
from otlp_arrow.config import Config, render_docs
from otlp_arrow.convert.native import native_status
from otlp_arrow.errors import ConfigError, OtlpArrowError
from otlp_arrow.query import connect
from otlp_arrow.viewer import DEFAULT_PORT as VIEWER_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otlp-arrow",
        description="Keep OpenTelemetry traces, metrics and logs as Apache Arrow files.",
    )
    parser.add_argument(
        "--version", action="version", version=f"otlp-arrow {__version__} ({native_status()})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the service with its web viewer and a simulated shop sending it "
        "telemetry over OTLP; Ctrl+C stops",
    )
    _common(demo)
    demo.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop after this long (default: Ctrl+C)"
    )
    demo.add_argument(
        "--rate", type=float, default=20.0, help="shop requests per second (default 20)"
    )

    serve = commands.add_parser(
        "serve",
        help="run the OTLP receivers (gRPC, HTTP) and write what they receive; Ctrl+C stops",
    )
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--grpc-port", help="OTLP/gRPC port (default 4317; 0 picks a free one)")
    serve.add_argument("--http-port", help="OTLP/HTTP port (default 4318; 0 picks a free one)")
    serve.add_argument(
        "--viewer",
        nargs="?",
        const=str(VIEWER_PORT),
        metavar="PORT",
        help=f"also run the web viewer (default port {VIEWER_PORT}; 0 picks a free one)",
    )

    view = commands.add_parser(
        "view", help="browse the stored traces, metrics and logs in a web page; Ctrl+C stops"
    )
    _common(view)
    view.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    view.add_argument(
        "--port", type=int, default=VIEWER_PORT, help=f"port (default {VIEWER_PORT}; 0: any free)"
    )

    query = commands.add_parser(
        "query", help="run SQL over the views traces, metrics and logs (DuckDB)"
    )
    query.add_argument("sql", help='for example "SELECT name, count(*) FROM traces GROUP BY 1"')
    _common(query)
    query.add_argument(
        "--format",
        choices=FORMATS,
        help="table (default in a terminal), csv (default in a pipe), json "
        "lines, or an Arrow IPC stream",
    )

    replay = commands.add_parser(
        "replay",
        help="send stored data to an OTLP endpoint (backfill a backend, move data)",
        description="Send stored data to an OTLP endpoint, with retries and back-off. "
        "Authentication comes from the forward_* settings (environment or --config), never "
        "from the command line: OTLP_ARROW_FORWARD_BEARER_TOKEN, OTLP_ARROW_FORWARD_API_KEY, "
        "OTLP_ARROW_FORWARD_BASIC_AUTH, OTLP_ARROW_FORWARD_HEADERS (file:PATH reads a file).",
    )
    _common(replay)
    replay.add_argument("--to", required=True, metavar="URL", help="the endpoint's base URL")
    replay.add_argument(
        "--protocol",
        choices=("grpc", "http/protobuf", "http/json"),
        help="how to send (default http/protobuf, or forward_protocol)",
    )
    replay.add_argument(
        "--signal",
        action="append",
        choices=("traces", "metrics", "logs"),
        help="only this signal (repeatable; default all)",
    )
    replay.add_argument("--since", metavar="TIME", help="from this time: ISO 8601, or ago (2h)")
    replay.add_argument("--until", metavar="TIME", help="before this time: ISO 8601, or ago")

    tail = commands.add_parser("tail", help="follow new spans and log records; Ctrl+C stops")
    _common(tail)
    tail.add_argument("--signal", choices=("traces", "logs"), help="only this signal")
    tail.add_argument("--service", help="only this service")

    stats = commands.add_parser("stats", help="rows, files, bytes, time range, top services")
    _common(stats)

    config = commands.add_parser("config", help="show the resolved configuration")
    _common(config)
    config.add_argument(
        "--docs", action="store_true", help="print the settings table of docs/configuration.md"
    )
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML configuration file")
    parser.add_argument(
        "--output-dir", metavar="DIR", help="where the Arrow files go (default ./otlp-arrow-data)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        overrides = {"output_dir": args.output_dir}
        if args.command == "serve":
            overrides.update(host=args.host, grpc_port=args.grpc_port, http_port=args.http_port)
            overrides.update(viewer_port=args.viewer)
        if args.command == "view":
            overrides.update(host=args.host)
        if args.command == "replay":
            overrides.update(forward_endpoint=args.to, forward_protocol=args.protocol)
        config = Config.load(config_file=args.config, **overrides)
        if args.command == "serve":
            return _serve(config)
        if args.command == "view":
            return _view(config, args.port)
        if args.command == "replay":
            return _replay(config, args)
        if args.command == "query":
            fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
            result = connect(config.output_dir).sql(args.sql)
            sys.stdout.flush()
            write(result, fmt, sys.stdout, sys.stdout.buffer)
            return 0
        if args.command == "tail":
            signals = (args.signal,) if args.signal else ("traces", "logs")
            for signal, batch in connect(config.output_dir).follow(signals):
                for line in tail_lines(signal, batch, args.service):
                    print(line, flush=True)
        if args.command == "stats":
            _print_stats(config)
            return 0
        if args.command == "demo":
            from otlp_arrow import _demo

            if (args.duration is not None and args.duration <= 0) or not 0 < args.rate <= 1000:
                parser.error("--duration must be positive, --rate between 0 and 1000")
            return _demo.run(config, duration=args.duration, rate=args.rate)
        if args.docs:
            print(render_docs(), end="")
            return 0
        for name, value in sorted(vars(config).items()):
            print(f"{name} = {value}")
        return 0
    except OtlpArrowError as exc:
        print(f"otlp-arrow: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _print_stats(config: Config) -> None:
    print(f"telemetry under {config.output_dir.resolve()}")
    print(
        f"{'signal':<8} {'rows':>10} {'files':>6} {'bytes':>12}  {'first':<24} "
        f"{'last':<24} top services"
    )
    for s in connect(config.output_dir).summary():
        first = s.first.isoformat(timespec="seconds") if s.first else "-"
        last = s.last.isoformat(timespec="seconds") if s.last else "-"
        services = ", ".join(f"{name} ({count})" for name, count in s.top_services) or "-"
        print(
            f"{s.signal:<8} {s.rows:>10,} {s.files:>6} {s.bytes:>12,}  {first:<24} "
            f"{last:<24} {services}"
        )


def _serve(config: Config) -> int:
    """Run the service until SIGINT/SIGTERM."""
    from otlp_arrow.service import Service

    service = Service(config).start()
    wait_until_stopped()
    service.stop()
    return 0


def _view(config: Config, port: int) -> int:
    """Run the web viewer until SIGINT/SIGTERM."""
    from otlp_arrow.viewer import Viewer

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: expected a port 0..65535")
    viewer = Viewer(config.output_dir, config.host, port)
    viewer.start()
    log = logging.getLogger("otlp_arrow")
    log.info("viewer of %s on %s (Ctrl+C stops)", config.output_dir.resolve(), viewer.url)
    if not config.output_dir.is_dir():
        log.warning(
            "%s does not exist (yet): the viewer shows data as soon as something writes there",
            config.output_dir.resolve(),
        )
    wait_until_stopped()
    viewer.stop()
    return 0


def _replay(config: Config, args: argparse.Namespace) -> int:
    from otlp_arrow.forward.replay import parse_moment, print_summary, replay

    signals = tuple(dict.fromkeys(args.signal or ("traces", "metrics", "logs")))
    since = parse_moment(args.since) if args.since else None
    until = parse_moment(args.until) if args.until else None
    summary = replay(config, signals, since=since, until=until, progress=sys.stderr)
    print_summary(summary, config.forward_endpoint)
    if summary.interrupted:
        return 130
    return 0 if summary.complete else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
