"""The Spark settings ``lake.spark`` makes (no Spark needed): a bucket warehouse is read
through Iceberg's S3FileIO with the endpoint, region and keys of the ``AWS_*`` variables, and
the ``spark-submit`` example of docs/scale-out.md says what ``spark_conf`` gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from otlp_arrow import ConfigError
from otlp_arrow.lake import spark as lake_spark

PREFIX = "spark.sql.catalog.otlp_arrow"
MOTO = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "key-id",
    "AWS_SECRET_ACCESS_KEY": "secret",
}


def test_a_bucket_warehouse_is_read_through_s3fileio() -> None:
    conf = lake_spark.spark_conf("sqlite:////c/catalog.db", "s3://telemetry/otel", env=MOTO)
    assert conf[f"{PREFIX}.warehouse"] == "s3://telemetry/otel"
    assert conf[f"{PREFIX}.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf[f"{PREFIX}.s3.endpoint"] == "http://127.0.0.1:5000"
    assert conf[f"{PREFIX}.s3.path-style-access"] == "true"  # S3-compatible servers
    assert conf[f"{PREFIX}.client.region"] == "us-east-1"  # Iceberg Java's name for it
    assert conf[f"{PREFIX}.s3.access-key-id"] == "key-id"
    assert conf[f"{PREFIX}.s3.secret-access-key"] == "secret"
    assert f"{PREFIX}.s3.region" not in conf  # pyiceberg's name, unknown to Java
    # the S3-specific endpoint wins; on AWS itself (no endpoint): virtual-hosted requests
    specific = {**MOTO, "AWS_ENDPOINT_URL_S3": "http://s3.local:9000"}
    assert lake_spark.s3_properties(specific)["s3.endpoint"] == "http://s3.local:9000"
    aws = lake_spark.s3_properties({"AWS_DEFAULT_REGION": "eu-west-1"})
    assert aws == {"io-impl": lake_spark.S3_FILE_IO, "client.region": "eu-west-1"}


def test_a_local_warehouse_gets_no_s3_settings(tmp_path: Path) -> None:
    conf = lake_spark.spark_conf(f"sqlite:///{tmp_path / 'c.db'}", str(tmp_path), env=MOTO)
    assert not [k for k in conf if ".s3." in k or k.endswith("client.region")]
    assert conf[f"{PREFIX}.io-impl"] == lake_spark.HADOOP_FILE_IO  # said, not left to defaults
    assert conf[f"{PREFIX}.uri"] == f"jdbc:sqlite:{tmp_path / 'c.db'}"


def test_a_sql_catalog_keeps_the_writers_name() -> None:
    """Iceberg's JdbcCatalog finds pyiceberg's tables only under pyiceberg's catalog name."""
    with pytest.raises(ConfigError, match="'otlp_arrow', not 'lake'"):
        lake_spark.spark_conf("sqlite:////c/catalog.db", "/data", name="lake")
    rest = lake_spark.spark_conf("https://catalog.example/api", "s3://b/p", name="lake", env={})
    assert rest["spark.sql.catalog.lake.type"] == "rest"


def test_the_spark_submit_example_is_what_spark_conf_gives() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "scale-out.md").read_text(encoding="utf-8")
    [example] = [e for e in re.findall(r"```sh\n(.*?)```", doc, re.DOTALL) if "spark-submit" in e]
    documented = dict(re.findall(r"--conf (\S+?)=(\S+)", example))
    conf = lake_spark.spark_conf(
        "sqlite:////var/lib/otlp-arrow/catalog.db",
        "s3://telemetry/otel",
        env={"AWS_REGION": "eu-west-1"},
    )
    assert documented == conf
    jars = re.search(r"--jars (\S+)", example)
    assert jars is not None
    assert sorted(Path(j).name for j in jars.group(1).split(",")) == sorted(
        Path(line).name for line in _fetched()
    )


def _fetched() -> list[str]:
    script = (Path(__file__).parents[2] / "scripts" / "fetch-jars.sh").read_text(encoding="utf-8")
    return re.findall(r"[\w./-]+\.jar", script.split('JARS="', 1)[1].split('"', 1)[0])
