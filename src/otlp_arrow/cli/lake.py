"""``otlp-arrow iceberg repair|retention``: the Iceberg tables' maintenance by hand (what
``serve`` does at start and every ``retention_interval``)."""

from __future__ import annotations

import argparse
import time

from otlp_arrow.cli.handlers import _config
from otlp_arrow.schema import SIGNALS


def iceberg(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    config = _config(args)
    if not config.iceberg_catalog:
        parser.error("iceberg needs the setting iceberg_catalog (OTLP_ARROW_ICEBERG_CATALOG)")
    from otlp_arrow.lake import retention
    from otlp_arrow.lake.iceberg import Committer

    committer = Committer(config.iceberg_catalog, str(config.output_dir), config.iceberg_namespace)
    policies = {s: config.retention(s) for s in SIGNALS}
    if args.action == "repair":
        for signal, count in committer.repair(policies).items():
            print(f"{signal}: {count} sealed file(s) committed")
    else:
        now = time.time()
        for signal in SIGNALS:
            rows = retention.apply(committer, signal, now, policies[signal])
            print(f"{signal}: {rows} row(s) removed")
    return 0
