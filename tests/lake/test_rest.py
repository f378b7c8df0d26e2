"""What only a REST catalog has: its warehouse name and credentials come from pyiceberg's own
configuration (never from the URL), its HTTP session is closed. A real server: Iceberg's REST
catalog test server (tests/lake/rest_catalog.py); the writers are real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otlp_arrow import ConfigError
from otlp_arrow.config import Config
from otlp_arrow.lake.catalog import open_catalog
from otlp_arrow.lake.iceberg import Committer
from tests.lake import rest_catalog
from tests.lake.conftest import parquet_files, write_sealed

SECRET = "s3cr3t-4f7a"

COMMIT_AND_SAY = """
import sys
from otlp_arrow.lake.iceberg import Committer
catalog, warehouse, *files = sys.argv[1:]
committer = Committer(catalog, warehouse)
print("committed", committer.commit("traces", files))
print("warehouse", committer.catalog.properties.get("warehouse"))
print("token", committer.catalog._auth_manager._token)
"""


@pytest.fixture
def rest(warehouse: Path) -> Iterator[str]:
    rest_catalog.require()
    with rest_catalog.rest_catalog(warehouse) as url:
        yield url


def test_warehouse_name_and_credential_come_from_pyicebergs_configuration(
    warehouse: Path, rest: str
) -> None:
    """A REST ``warehouse`` names a catalog on the server (Polaris, Lakekeeper): output_dir is
    not sent as one, so pyiceberg's own setting of it reaches the server; so does an OAuth2
    credential, exchanged for a token at the server's token endpoint."""
    write_sealed(warehouse, n=10)
    files = parquet_files(warehouse, "traces")
    env = dict(os.environ)
    env["PYICEBERG_CATALOG__OTLP_ARROW__WAREHOUSE"] = "otel_lake"
    env["PYICEBERG_CATALOG__OTLP_ARROW__CREDENTIAL"] = f"writer:{SECRET}"
    env["PYICEBERG_CATALOG__OTLP_ARROW__OAUTH2_SERVER_URI"] = f"{rest}/v1/oauth/tokens"
    done = subprocess.run(
        [sys.executable, "-c", COMMIT_AND_SAY, rest, str(warehouse), *files],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert said["committed"] == "1"
    assert said["warehouse"] == "otel_lake"  # not output_dir
    assert said["token"] == "client-credentials-token:sub=writer"  # the server's answer
    assert SECRET not in done.stdout + done.stderr
    # what the writer committed is in the table, for a reader without credentials too
    reader = Committer(rest, str(warehouse))
    assert sorted(reader.referenced("traces")) == files
    assert reader.table("traces").location() == f"{warehouse}/traces"
    reader.close()


@pytest.mark.parametrize(
    "url",
    [
        f"https://{SECRET}@catalog.example:8181",
        f"https://client:{SECRET}@catalog.example/api/catalog",
        f"https://catalog.example/api/catalog?token={SECRET}",
    ],
)
def test_credentials_in_a_rest_url_are_refused_and_never_shown(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PYICEBERG_CATALOG__OTLP_ARROW__TOKEN") as setting:
        Config.load(iceberg_catalog=url)
    assert SECRET not in str(setting.value)
    with pytest.raises(ConfigError, match="credentials or a query in a REST") as opened:
        open_catalog(url, str(tmp_path))  # the Committer's way: no Config in between
    assert SECRET not in str(opened.value)


def test_close_ends_the_rest_catalogs_connections(warehouse: Path, rest: str) -> None:
    write_sealed(warehouse, n=10)
    committer = Committer(rest, str(warehouse))
    committer.commit("logs", parquet_files(warehouse, "logs"))
    pools = committer.catalog._session.get_adapter(rest).poolmanager.pools  # type: ignore[attr-defined]
    assert len(pools) == 1  # kept alive between requests
    committer.close()
    assert len(pools) == 0
