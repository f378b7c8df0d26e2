"""docs/scale-out.md: its pyiceberg example runs as written (in a fresh interpreter, in a
directory holding otlp-arrow-data/ and catalog.db)."""

from __future__ import annotations

import re
from pathlib import Path

from otlp_arrow.lake.iceberg import Committer
from tests.helpers import python
from tests.lake.conftest import write_sealed

SCALE_OUT = (Path(__file__).parents[2] / "docs" / "scale-out.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```python\n(.*?)```", SCALE_OUT, flags=re.DOTALL)


def test_the_pyiceberg_example_runs(tmp_path: Path) -> None:
    write_sealed(tmp_path / "otlp-arrow-data", n=50)
    Committer(
        "sqlite:///" + str(tmp_path / "catalog.db"), str(tmp_path / "otlp-arrow-data")
    ).repair()
    pyiceberg_example = next(e for e in EXAMPLES if "load_catalog" in e)
    done = python(pyiceberg_example, cwd=tmp_path, timeout=120)
    assert "error spans" in done.stdout
    assert "timestamp[ns, tz=UTC]" in done.stdout
    assert "frontend" in done.stdout  # a service of the sample data, in the DuckDB answer


def test_the_spark_example_names_what_the_tests_use() -> None:
    spark_example = next(e for e in EXAMPLES if "SparkSession" in e)
    assert "lake_spark.spark_conf" in spark_example and "percentile(duration_ns" in spark_example
