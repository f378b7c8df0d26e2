"""The ``otlp-arrow`` command: arguments -> configuration -> demo (more commands to come)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from otlp_arrow._version import __version__
from otlp_arrow.config import Config, render_docs
from otlp_arrow.errors import OtlpArrowError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otlp-arrow",
        description="Keep OpenTelemetry traces, metrics and logs as Apache Arrow files.",
    )
    parser.add_argument("--version", action="version", version=f"otlp-arrow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="write sample telemetry through the embedded API and show the result"
    )
    _common(demo)
    demo.add_argument("--spans", type=int, default=2000, help="spans per round (default 2000)")
    demo.add_argument("--rounds", type=int, default=5, help="rounds to export (default 5)")

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
        config = Config.load(config_file=args.config, output_dir=args.output_dir)
        if args.command == "demo":
            from otlp_arrow import _demo

            if args.spans < 1 or args.rounds < 1:
                parser.error("--spans and --rounds must be at least 1")
            return _demo.run(config, spans=args.spans, rounds=args.rounds)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
