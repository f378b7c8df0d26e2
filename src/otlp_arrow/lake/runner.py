"""``Lake``: what the service runs when ``iceberg_catalog`` is set. At start it repairs (files
sealed but never committed by an earlier run), then commits every file the sealer seals, and
applies retention to the tables (instead of deleting files under them) every
``retention_interval``."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from otlp_arrow.config.values import redact_url
from otlp_arrow.errors import ConfigError, OtlpArrowError
from otlp_arrow.lake import retention
from otlp_arrow.lake.iceberg import BackgroundCommitter, Committer
from otlp_arrow.schema import SIGNALS, as_signal

if TYPE_CHECKING:
    from otlp_arrow.config import Config

log = logging.getLogger(__name__)


class Lake:
    """Commits ``writer``'s sealed files to the Iceberg tables of ``config``."""

    def __init__(self, config: Config) -> None:
        if config.seal != "parquet":
            raise ConfigError("iceberg_catalog needs seal=parquet (the tables hold Parquet files)")
        self.config = config
        self.committer = Committer(
            config.iceberg_catalog, str(config.output_dir), config.iceberg_namespace
        )
        self.policies = {s: config.retention(s) for s in SIGNALS}
        self._background = BackgroundCommitter(self.committer)
        self.committed_at_start = self.committer.repair(self.policies)
        log.info(
            "committing sealed files to Iceberg tables %s.{traces,metrics,logs} in %s",
            config.iceberg_namespace,
            redact_url(config.iceberg_catalog),
        )
        self._stop = threading.Event()
        self._retention = threading.Thread(
            target=self._retain, name="otlp-arrow-iceberg-retention", daemon=True
        )
        self._retention.start()

    def sealed(self, signal: str, uri: str | Path, local: Path | None = None) -> None:
        """The final-location hook (``storage.upload.FinalHook``): a sealed Parquet file of
        ``signal`` is now at its final place ``uri`` (a local path, or ``s3://…`` once
        uploaded); committed soon, on its own thread."""
        self._background.submit(as_signal(signal), str(uri))

    def _retain(self) -> None:
        while not self._stop.wait(self.config.retention_interval):
            self.enforce_retention()

    def enforce_retention(self, now: float | None = None) -> int:
        """Retention on every table now; the rows removed."""
        now = time.time() if now is None else now
        rows = 0
        for signal, policy in self.policies.items():
            try:
                rows += retention.apply(self.committer, signal, now, policy)
            except (OtlpArrowError, OSError) as exc:
                log.warning("retention on the Iceberg table %s failed: %s", signal, exc)
        return rows

    def close(self) -> None:
        """Commit what is sealed and stop (after the writer closed: it seals the last files)."""
        self._stop.set()
        self._retention.join()
        self._background.close()
        self.committer.close()
