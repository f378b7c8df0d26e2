"""Apache Spark on the Iceberg tables: the session settings that name our catalog.

Spark reads the same catalog pyiceberg writes: a SQL catalog through Iceberg's ``JdbcCatalog``
(the two share its table layout), a REST catalog through ``RESTCatalog``. The jars come from
Maven Central (``scripts/fetch-jars.sh``): Iceberg's Spark runtime, for SQLite its JDBC
driver, and for a warehouse in a bucket (``s3://``) Iceberg's AWS bundle, whose ``S3FileIO``
reads the metadata and data files with the same endpoint, region and credentials the ``AWS_*``
variables give the rest of otlp-arrow. No Spark import here: pyspark is the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from otlp_arrow.errors import ConfigError
from otlp_arrow.lake import catalog as cat

#: Where scripts/fetch-jars.sh puts the jars (the project's own checkout).
JARS_DIR = Path(__file__).resolve().parents[3] / "jars"


def jars(directory: Path = JARS_DIR) -> list[Path]:
    """The jars Spark needs for our tables, as fetched into ``directory``."""
    return sorted(directory.glob("*.jar"))


#: Iceberg's S3 file IO (in iceberg-aws-bundle), for a warehouse in a bucket.
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
#: Iceberg's Hadoop file IO (in the Spark runtime), for a local warehouse.
HADOOP_FILE_IO = "org.apache.iceberg.hadoop.HadoopFileIO"

#: pyiceberg's property names (``catalog.io_properties``) -> Iceberg Java's.
_JAVA_S3 = {
    "s3.endpoint": "s3.endpoint",
    "s3.region": "client.region",
    "s3.access-key-id": "s3.access-key-id",
    "s3.secret-access-key": "s3.secret-access-key",
    "s3.session-token": "s3.session-token",
}


def s3_properties(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Iceberg catalog properties for ``S3FileIO`` from the ``AWS_*`` variables: the endpoint
    (with path-style requests, what S3-compatible servers such as MinIO or moto need, when an
    endpoint is set), the region and the credentials. Given explicitly rather than left to
    the AWS SDK's own look-up, because the JVM of a running pyspark keeps the environment it
    was started with. Without keys, the SDK's default chain (profiles, instance roles) is
    used."""
    env = os.environ if env is None else env
    props = {"io-impl": S3_FILE_IO}
    for key, value in cat.io_properties(env).items():
        props[_JAVA_S3[key]] = value
    if "s3.endpoint" in props:
        props["s3.path-style-access"] = "true"
    return props


def spark_conf(
    catalog_uri: str,
    warehouse: str,
    name: str = cat.CATALOG_NAME,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Spark settings that make ``name`` an Iceberg catalog over ``catalog_uri``: then
    ``SELECT ... FROM <name>.otel.traces`` works in Spark SQL. An ``s3://`` warehouse is
    read with ``S3FileIO`` (``s3_properties``; the AWS bundle jar must be on Spark's class
    path, ``jars()`` has it once fetched). The credentials are in the returned settings:
    do not log them (Spark's own UI and logs redact ``secret`` / ``token`` keys).

    For a SQL catalog ``name`` must be the writers' (``otlp_arrow``): Iceberg's
    ``JdbcCatalog`` keys the catalog's rows by the name Spark gives it, so under another
    name it would find no table."""
    sql = not catalog_uri.startswith(("http://", "https://"))
    if sql and name != cat.CATALOG_NAME:
        raise ConfigError(
            f"a SQL catalog is read in Spark under the name the writers use, "
            f"{cat.CATALOG_NAME!r}, not {name!r} (JdbcCatalog keys its tables by it)"
        )
    prefix = f"spark.sql.catalog.{name}"
    conf = {
        "spark.sql.extensions": (
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
        ),
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.warehouse": cat.warehouse_uri(warehouse),
    }
    if not sql:
        conf[f"{prefix}.type"] = "rest"
        conf[f"{prefix}.uri"] = catalog_uri
    else:  # SQLAlchemy URI -> JDBC URL: sqlite:///p -> jdbc:sqlite:/p (pyiceberg's tables)
        scheme, _, rest = catalog_uri.partition("://")
        path = rest[1:] if scheme.startswith("sqlite") else f"//{rest}"
        conf[f"{prefix}.type"] = "jdbc"
        conf[f"{prefix}.uri"] = f"jdbc:{scheme.split('+')[0]}:{path}"
        conf[f"{prefix}.jdbc.schema-version"] = "V1"
    if cat.warehouse_uri(warehouse).startswith("s3://"):
        for key, value in s3_properties(env).items():
            conf[f"{prefix}.{key}"] = value
    elif sql:  # JdbcCatalog's default, said explicitly: a pyspark JVM keeps the settings of
        # its first session as defaults for the later ones (an earlier S3FileIO, say)
        conf[f"{prefix}.io-impl"] = HADOOP_FILE_IO
    return conf
