"""Adding sealed Parquet files to an Iceberg table as they are.

pyiceberg's ``Table.add_files`` first checks the file's Arrow schema against the table's with
its own conversion, which refuses nanosecond timestamps in a v2 table (and knows nothing of
our dictionary-encoded strings); our files all have our schema (``schema.py``), whose Iceberg
form is ``lake.schema``, so we check that instead and build the data file entries from the
same pyiceberg parts ``add_files`` uses: the footer's statistics, mapped to field ids by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.schema import META_SIGNAL, META_VERSION

if TYPE_CHECKING:
    from pyiceberg.table import Table


def add_files(table: Table, uris: list[str]) -> None:
    """One commit appending the Parquet files ``uris`` (all of the table's signal)."""
    from pyiceberg.table import TableProperties

    with table.transaction() as tx:
        if tx.table_metadata.name_mapping() is None:  # how readers find columns by name
            mapping = tx.table_metadata.schema().name_mapping.model_dump_json()
            tx.set_properties({TableProperties.DEFAULT_NAME_MAPPING: mapping})
        entries = [data_file(table, tx.table_metadata, uri) for uri in uris]
        with tx.update_snapshot().fast_append() as append:
            for entry in entries:
                append.append_data_file(entry)


def data_file(table: Table, metadata: Any, uri: str) -> Any:
    """The manifest entry (``pyiceberg.manifest.DataFile``) of the Parquet file ``uri``."""
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat

    source = table.io.new_input(uri)
    try:
        with source.open() as stream:
            footer = pq.read_metadata(stream)
        size = len(source)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot read the footer of {uri}: {exc}", None) from exc
    _check_signal(footer, table.name()[-1], uri)
    schema = metadata.schema()
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=footer,
        stats_columns=compute_statistics_plan(schema, metadata.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=uri,
        file_format=FileFormat.PARQUET,
        partition=stats.partition(metadata.spec(), schema),
        file_size_in_bytes=size,
        sort_order_id=None,
        spec_id=metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **stats.to_serialized_dict(),
    )


def _check_signal(footer: Any, signal: str, uri: str) -> None:
    """Refuse a file that is not one of ours for this signal (its schema metadata says)."""
    meta = footer.schema.to_arrow_schema().metadata or {}
    got = meta.get(META_SIGNAL, b"").decode()
    if got != signal or META_VERSION not in meta:
        raise StorageError(f"{uri} is not an otlp-arrow {signal} file (schema says {got!r})")
