"""Apache Spark on the Iceberg tables: the session settings that name our catalog.

Spark reads the same catalog pyiceberg writes: a SQL catalog through Iceberg's ``JdbcCatalog``
(the two share its table layout), a REST catalog through ``RESTCatalog``. The jars come from
Maven Central (``scripts/fetch-jars.sh``): Iceberg's Spark runtime and, for SQLite, its JDBC
driver. No Spark import here: pyspark is the caller's.
"""

from __future__ import annotations

from pathlib import Path

from otlp_arrow.lake import catalog as cat

#: Where scripts/fetch-jars.sh puts the jars (the project's own checkout).
JARS_DIR = Path(__file__).resolve().parents[3] / "jars"


def jars(directory: Path = JARS_DIR) -> list[Path]:
    """The jars Spark needs for our tables, as fetched into ``directory``."""
    return sorted(directory.glob("*.jar"))


def spark_conf(catalog_uri: str, warehouse: str, name: str = cat.CATALOG_NAME) -> dict[str, str]:
    """Spark settings that make ``name`` an Iceberg catalog over ``catalog_uri``: then
    ``SELECT ... FROM <name>.otel.traces`` works in Spark SQL."""
    prefix = f"spark.sql.catalog.{name}"
    conf = {
        "spark.sql.extensions": (
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
        ),
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.warehouse": cat.warehouse_uri(warehouse),
    }
    if catalog_uri.startswith(("http://", "https://")):
        conf[f"{prefix}.type"] = "rest"
        conf[f"{prefix}.uri"] = catalog_uri
    else:  # SQLAlchemy URI -> JDBC URL: sqlite:///p -> jdbc:sqlite:/p (pyiceberg's tables)
        scheme, _, rest = catalog_uri.partition("://")
        path = rest[1:] if scheme.startswith("sqlite") else f"//{rest}"
        conf[f"{prefix}.type"] = "jdbc"
        conf[f"{prefix}.uri"] = f"jdbc:{scheme.split('+')[0]}:{path}"
        conf[f"{prefix}.jdbc.schema-version"] = "V1"
    for key, value in cat.io_properties().items():  # S3: endpoint, region, keys
        conf[f"{prefix}.{key}"] = value
    return conf
