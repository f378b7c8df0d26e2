"""Opening the Iceberg catalog and the warehouse's file system (local directory or ``s3://``).

pyiceberg reads and writes table metadata through its pyarrow FileIO; for S3 it is given the
endpoint, region and credentials the standard ``AWS_*`` environment variables name (what every
AWS tool reads), so the catalog, the uploader and the engines all see the same bucket.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from otlp_arrow.config.lake import rest_url_problem
from otlp_arrow.config.values import redact_url
from otlp_arrow.errors import ConfigError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

#: The name the catalog is registered under in pyiceberg (and in the Spark examples).
CATALOG_NAME = "otlp_arrow"

_S3_ENV = {
    "s3.endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "s3.region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3.access-key-id": ("AWS_ACCESS_KEY_ID",),
    "s3.secret-access-key": ("AWS_SECRET_ACCESS_KEY",),
    "s3.session-token": ("AWS_SESSION_TOKEN",),
}


def warehouse_uri(output_dir: str | Path) -> str:
    """``output_dir`` as a URI: ``s3://...`` (and other schemes) as it is, a local path as an
    absolute ``file://`` URI-less path (what pyiceberg and Spark both resolve locally)."""
    text = str(output_dir)
    if "://" in text:
        return text.rstrip("/")
    return Path(text).expanduser().resolve().as_posix()


def io_properties(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """pyiceberg FileIO properties for S3 from the standard AWS environment variables."""
    env = os.environ if env is None else env
    props: dict[str, str] = {}
    for prop, names in _S3_ENV.items():
        value = next((env[n] for n in names if env.get(n)), None)
        if value is not None:
            props[prop] = value
    return props


def open_catalog(uri: str, warehouse: str, env: Mapping[str, str] | None = None) -> Catalog:
    """The catalog ``uri`` names: SQL (sqlite, postgresql) or REST (http, https).

    A REST catalog is not given ``warehouse``: in the REST protocol that property names the
    catalog to use on a server that serves several (Polaris's catalog, Lakekeeper's
    warehouse), not a location, so the data's place would be sent as a name. The tables'
    locations are given when they are created (``Committer.table``). What else a REST
    catalog needs (its warehouse name, a ``token``, an OAuth2 ``credential``, a ``scope``,
    ``oauth2-server-uri``) comes from pyiceberg's own configuration of the catalog
    ``otlp_arrow``: the ``PYICEBERG_CATALOG__OTLP_ARROW__*`` variables (``rest_properties``)
    or ``~/.pyiceberg.yaml``; never from the URL, whose credentials are refused."""
    try:
        from pyiceberg.catalog import load_catalog
    except ImportError as exc:  # pragma: no cover - pyiceberg is a dependency
        raise ConfigError(f"iceberg_catalog is set but pyiceberg is missing: {exc}") from exc
    kind = "rest" if uri.startswith(("http://", "https://")) else "sql"
    props = {"type": kind, "uri": uri, **io_properties(env)}
    if kind == "rest":
        _check_rest_url(uri)
        props = {**rest_properties(env), **props}
    else:
        props["warehouse"] = warehouse
        _check_driver(uri)
        props["init_catalog_tables"] = "true"
        if uri.startswith("sqlite:///"):  # the directory of a new catalog file
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        return load_catalog(CATALOG_NAME, **props)
    except Exception as exc:
        raise ConfigError(f"cannot open the Iceberg catalog {redact_url(uri)}: {exc}") from exc


#: pyiceberg's variables of a catalog's properties, for the catalog ``otlp_arrow``.
REST_ENV_PREFIX = f"PYICEBERG_CATALOG__{CATALOG_NAME.upper()}__"


def rest_properties(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A REST catalog's properties from ``PYICEBERG_CATALOG__OTLP_ARROW__<KEY>`` variables,
    named as pyiceberg names them (``KEY`` lower-cased, ``__`` -> ``.``, ``_`` -> ``-``:
    ``..._TOKEN`` -> ``token``, ``..._OAUTH2_SERVER_URI`` -> ``oauth2-server-uri``).
    Read here because pyiceberg itself would look them up for a catalog ``otlp-arrow`` (it
    turns the ``_`` of the name into ``-`` as well), not ``otlp_arrow``. ``uri`` and
    ``type`` are the setting's."""
    env = os.environ if env is None else env
    props: dict[str, str] = {}
    for name, value in env.items():
        if name.upper().startswith(REST_ENV_PREFIX) and len(name) > len(REST_ENV_PREFIX):
            key = name[len(REST_ENV_PREFIX) :].lower().replace("__", ".").replace("_", "-")
            props[key] = value
    return props


def _check_rest_url(uri: str) -> None:
    """ConfigError for a REST catalog URL the setting refuses too (``rest_url_problem``),
    showing the URL redacted."""
    if problem := rest_url_problem(uri):
        raise ConfigError(f"the REST catalog URL {redact_url(uri)}: {problem}")


def _check_driver(uri: str) -> None:
    """A ``postgresql://`` URI without a driver takes SQLAlchemy's default, psycopg 3:
    ConfigError saying so when it is missing (pyiceberg's own hint, its ``sql-postgres``
    extra, installs psycopg2, which only ``postgresql+psycopg2://`` uses)."""
    if not uri.startswith("postgresql://"):
        return
    try:
        import psycopg  # noqa: F401 - only whether it is there
    except ImportError:
        raise ConfigError(
            f"the Iceberg catalog {redact_url(uri)} needs PostgreSQL's driver psycopg: "
            "pip install 'psycopg[binary]' (or name another installed driver, for example "
            "postgresql+psycopg2://)"
        ) from None


def filesystem(warehouse: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system of ``warehouse`` and the path inside it."""
    if "://" not in warehouse:
        return pafs.LocalFileSystem(), warehouse
    if warehouse.startswith("s3://"):
        props = io_properties()
        s3 = pafs.S3FileSystem(
            endpoint_override=props.get("s3.endpoint"),
            region=props.get("s3.region", "us-east-1"),
            access_key=props.get("s3.access-key-id"),
            secret_key=props.get("s3.secret-access-key"),
            session_token=props.get("s3.session-token"),
        )
        return s3, warehouse.removeprefix("s3://")
    other, path = pafs.FileSystem.from_uri(warehouse)  # pragma: no cover - other schemes
    return other, str(path)  # pragma: no cover


def uri_of(warehouse: str, path: str) -> str:
    """The URI pyiceberg and the engines use for ``path`` (as ``filesystem`` names it)."""
    if warehouse.startswith("s3://"):
        return f"s3://{path}"
    return path
