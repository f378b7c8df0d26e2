"""The ``otlp-arrow`` command: arguments -> configuration -> one handler per subcommand.

``parser`` builds the arguments (each subcommand names its handler with
``set_defaults(func=...)``), ``commands`` holds the handlers, ``output`` prints results,
``signals`` waits for Ctrl+C / SIGTERM, ``demo`` and ``shop`` are ``otlp-arrow demo``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from otlp_arrow.cli.parser import build_parser
from otlp_arrow.errors import OtlpArrowError

__all__ = ["entry", "main"]


def entry() -> int:
    """The ``otlp-arrow`` script: :func:`main` in a process of its own, transparent huge pages
    turned off first, before any thread starts (``otlp_arrow.malloc``). Called in-process,
    :func:`main` leaves its host process as it is."""
    from otlp_arrow.malloc import no_huge_pages

    no_huge_pages()
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.func is None:
        parser.print_help()
        return 2
    try:
        code: int = args.func(args, parser)
        return code
    except OtlpArrowError as exc:
        print(f"otlp-arrow: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
