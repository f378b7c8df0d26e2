"""The settings of the lakehouse side (issue #14): the Apache Iceberg catalog sealed files are
committed to. A base of :class:`~otlp_arrow.config.settings.Config`, kept apart like
``exposure``; see docs/storage.md (Iceberg)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otlp_arrow.config.fields import _setting

_CATALOG = re.compile(r"(sqlite|postgresql)(\+\w+)?://.*|https?://\S+")


def rest_url_problem(uri: str) -> str | None:
    """Why the REST catalog URL ``uri`` is refused, or None: user-info (``https://token@h``)
    or a query (``?token=…``) would be logged and shown, and pyiceberg takes no credentials
    from it (it appends its paths to the URL)."""
    if re.match(r"https?://([^/?#\s]*@|[^?#\s]*[?#])", uri):
        return (
            "credentials or a query in a REST catalog URL are not allowed (they would be logged "
            "and shown); pyiceberg takes a token or an OAuth2 credential from "
            "PYICEBERG_CATALOG__OTLP_ARROW__TOKEN or PYICEBERG_CATALOG__OTLP_ARROW__CREDENTIAL "
            "(docs/scale-out.md)"
        )
    return None


def _parse_catalog(value: Any) -> str:
    text = str(value).strip()
    if problem := rest_url_problem(text):
        raise ValueError(problem)
    if re.match(r"[a-z+]+://[^/@\s]*:[^/@\s]*@", text):  # shown in logs and `config`: refused
        raise ValueError(
            "credentials in the URI are not allowed (they would be logged and shown); "
            "PostgreSQL takes them from PGPASSWORD or ~/.pgpass"
        )
    if re.match(r"mysql(\+\w+)?://", text):
        raise ValueError(
            "MySQL catalogs are not supported (not tested; pyiceberg's errors for them blame "
            "SQLAlchemy): use sqlite:///path/catalog.db, postgresql://host/db or a REST catalog"
        )
    if text and not _CATALOG.fullmatch(text):
        raise ValueError(
            "expected a SQL catalog URI (sqlite:///path/catalog.db, postgresql://host/db) "
            "or a REST catalog URL (http(s)://...)"
        )
    return _absolute_sqlite(text)


def _absolute_sqlite(uri: str) -> str:
    """``sqlite:///relative/path`` (SQLAlchemy's three slashes: relative to the current
    directory) with the path made absolute, so that every process, the log and Spark's JDBC
    URL name the same file; other URIs as they are."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri == prefix or uri[len(prefix) :].startswith(":memory:"):
        return uri
    path = Path(uri[len(prefix) :])
    return uri if path.is_absolute() else f"{prefix}{Path.cwd() / path}"


def _parse_namespace(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", text):
        raise ValueError("expected a name such as otel (letters, digits, _; dots nest)")
    return text


@dataclass(frozen=True)
class LakeSettings:
    """Where sealed files are committed as Apache Iceberg tables."""

    iceberg_catalog: str = _setting(
        "",
        _parse_catalog,
        "Commit every sealed Parquet file to an Apache Iceberg table (one per signal: "
        "`traces`, `metrics`, `logs`; the warehouse is `output_dir`) in this catalog: a SQL "
        "catalog URI (`sqlite:///path/catalog.db`, `postgresql://...`) or a REST catalog URL "
        "(without credentials or a query: a token or credential goes in "
        "`PYICEBERG_CATALOG__OTLP_ARROW__TOKEN` / `__CREDENTIAL`, see docs/scale-out.md). "
        "Empty: no tables. Retention then works on the tables (see docs/storage.md).",
        allowed="a catalog URI, or empty",
    )
    iceberg_namespace: str = _setting(
        "otel",
        _parse_namespace,
        "Namespace (database) of the Iceberg tables.",
        allowed="a name such as otel",
    )
