"""The command line's arguments: one subparser per command, each naming its handler."""

from __future__ import annotations

import argparse

from otlp_arrow.cli import handlers
from otlp_arrow.cli.handlers import TAILED, version_text
from otlp_arrow.cli.output import FORMATS
from otlp_arrow.schema import SIGNALS
from otlp_arrow.viewer import DEFAULT_PORT as VIEWER_PORT


def build_parser() -> argparse.ArgumentParser:
    """The arguments of every subcommand; ``args.func`` is its handler (None: no command)."""
    parser = argparse.ArgumentParser(
        prog="otlp-arrow",
        description="Keep OpenTelemetry traces, metrics and logs as Apache Arrow files.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.set_defaults(func=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the service with its web viewer and a simulated shop sending it "
        "telemetry over OTLP; Ctrl+C stops",
    )
    _common(demo)
    demo.set_defaults(func=handlers.demo)
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
    serve.set_defaults(func=handlers.serve)
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
    serve.add_argument(
        "--workers",
        metavar="N",
        help="processes sharing the ports, one per core (default 1; needs SO_REUSEPORT)",
    )

    view = commands.add_parser(
        "view", help="browse the stored traces, metrics and logs in a web page; Ctrl+C stops"
    )
    _common(view)
    view.set_defaults(func=handlers.view)
    view.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    view.add_argument(
        "--port", type=int, default=VIEWER_PORT, help=f"port (default {VIEWER_PORT}; 0: any free)"
    )

    query = commands.add_parser(
        "query", help="run SQL over the views traces, metrics and logs (DuckDB)"
    )
    query.add_argument("sql", help='for example "SELECT name, count(*) FROM traces GROUP BY 1"')
    _common(query)
    query.set_defaults(func=handlers.query)
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
    replay.set_defaults(func=handlers.replay)
    replay.add_argument("--to", required=True, metavar="URL", help="the endpoint's base URL")
    replay.add_argument(
        "--protocol",
        choices=("grpc", "http/protobuf", "http/json"),
        help="how to send (default http/protobuf, or forward_protocol)",
    )
    replay.add_argument(
        "--signal",
        action="append",
        choices=SIGNALS,
        help="only this signal (repeatable; default the forward_signals setting: all)",
    )
    replay.add_argument("--since", metavar="TIME", help="from this time: ISO 8601, or ago (2h)")
    replay.add_argument("--until", metavar="TIME", help="before this time: ISO 8601, or ago")

    tail = commands.add_parser("tail", help="follow new spans and log records; Ctrl+C stops")
    _common(tail)
    tail.set_defaults(func=handlers.tail)
    tail.add_argument("--signal", choices=TAILED, help="only this signal")
    tail.add_argument("--service", help="only this service")

    stats = commands.add_parser("stats", help="rows, files, bytes, time range, top services")
    _common(stats)
    stats.set_defaults(func=handlers.stats)

    compact = commands.add_parser(
        "compact",
        help="merge small sealed Parquet files into sorted files sized for scans",
        description="Merge the small sealed files of each partition into sorted ones sized "
        "for scans (what serve does every few minutes). Safe while other processes write and "
        "read the directory: readers see every row once at every moment.",
    )
    _common(compact)
    compact.set_defaults(func=handlers.compact)
    compact.add_argument(
        "--signal", action="append", choices=SIGNALS, help="only this signal (repeatable)"
    )
    compact.add_argument(
        "--all", action="store_true", help="also the current hour (default: hours that ended)"
    )
    compact.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="keep merged inputs this long for readers that listed them (default 60)",
    )
    lake = commands.add_parser("iceberg", help="Iceberg tables: commit what was not, retention")
    _common(lake)
    lake.add_argument("action", choices=("repair", "retention"))
    lake.set_defaults(func=_iceberg)

    config = commands.add_parser("config", help="show the resolved configuration")
    _common(config)
    config.set_defaults(func=handlers.config)
    config.add_argument(
        "--docs", action="store_true", help="print the settings table of docs/configuration.md"
    )
    return parser


def _iceberg(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from otlp_arrow.cli.lake import iceberg  # pyiceberg loads only for this command

    return iceberg(args, parser)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML configuration file")
    parser.add_argument(
        "--output-dir",
        metavar="DIR",
        help="where the files go: a directory (default ./otlp-arrow-data) or s3://bucket/prefix",
    )
