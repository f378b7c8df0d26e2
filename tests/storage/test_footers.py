"""storage.footers: footers kept between queries, row groups pruned by the Bloom filters that
the seal writes (pyarrow's own filters, checked by our reading of the format)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from otlp_arrow import OtlpLibrary, connect, otlp_to_arrow
from otlp_arrow.storage import footers, parquet_format
from otlp_arrow.storage.footers import FooterCache, ParquetFile, bitset
from otlp_arrow.storage.objects import open_bucket
from otlp_arrow.viewer import Viewer
from tests import sample
from tests.helpers import T0, all_sealed, data_files, span_batch

GROUPS, ROWS = 6, 500


def _spans(rows: int, seed: int) -> pa.Table:
    """Spans with random trace ids, as real ones are (no two row groups apart by min/max)."""
    batch = span_batch(rows, seed)
    ids = pa.array([os.urandom(16) for _ in range(rows)], batch.schema.field("trace_id").type)
    return pa.Table.from_batches([batch]).set_column(
        batch.schema.get_field_index("trace_id"), "trace_id", ids
    )


def _write(path: Path, table: pa.Table, *, bloom: bool = True) -> ParquetFile:
    if bloom:
        with parquet_format.open_writer(path, table.schema, "traces", rows=ROWS) as writer:
            writer.write_table(table, row_group_size=ROWS)
    else:
        pq.write_table(table, path, row_group_size=ROWS)
    stat = path.stat()
    return ParquetFile(str(path), stat.st_size, stat.st_mtime)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[ParquetFile, pa.Table]:
    table = _spans(GROUPS * ROWS, seed=3)
    return _write(tmp_path_factory.mktemp("footers") / "spans.parquet", table), table


def _groups(fragments: list[Any]) -> list[list[int]]:
    return [[g.id for g in f.row_groups] for f in fragments]


def test_every_id_is_found_in_its_row_group_and_few_others(
    sealed: tuple[ParquetFile, pa.Table],
) -> None:
    file, table = sealed
    cache, local = FooterCache(), pafs.LocalFileSystem()
    ids = table.column("trace_id").to_pylist()
    for g in range(GROUPS):
        for trace_id in ids[g * ROWS : (g + 1) * ROWS : 25]:
            (kept,) = _groups(cache.fragments([file], local, ("trace_id", trace_id)))
            assert g in kept
            assert len(kept) <= 2  # 1 % false positives per group: rarely a second one
    absent = [cache.fragments([file], local, ("trace_id", os.urandom(16))) for _ in range(300)]
    false_positives = sum(len(g) for f in absent for g in _groups(f))
    assert false_positives < 0.05 * 300 * GROUPS  # written at 1 %; 5 % leaves room for chance
    assert sum(1 for f in absent if not f) > 250  # most lookups read no row group at all


def test_a_file_without_bloom_filters_keeps_every_row_group(tmp_path: Path) -> None:
    file = _write(tmp_path / "plain.parquet", _spans(3 * ROWS, seed=4), bloom=False)
    fragments = FooterCache().fragments([file], pafs.LocalFileSystem(), ("trace_id", b"x" * 16))
    assert len(fragments) == 1 and fragments[0].metadata.num_row_groups == 3
    assert fragments[0].row_groups is None or len(fragments[0].row_groups) == 3


def test_filters_this_code_does_not_understand_are_ignored() -> None:
    assert bitset(b"") is None
    assert bitset(b"\x16\x80\x02" + bytes(256)) is None  # not field 1 / i32
    assert bitset(b"\x15\x80\x04" + bytes(64)) is None  # claims 256 bytes, holds 64
    assert bitset(b"\x15\x3e" + bytes(31)) is None  # 31: not whole 32-byte blocks
    assert bitset(b"\x15\x40" + bytes(32)) == bytes(32)  # zigzag(0x40) = 32


class _Counting(pafs.FSSpecHandler):  # type: ignore[misc]
    """The local file system, counting the files opened for reading."""

    def __init__(self) -> None:
        super().__init__(fsspec.filesystem("file"))
        self.opened: list[str] = []

    def open_input_file(self, path: str) -> Any:
        self.opened.append(path)
        return super().open_input_file(path)


def test_footers_and_filters_are_read_once_while_the_file_is_the_same(
    sealed: tuple[ParquetFile, pa.Table], tmp_path: Path
) -> None:
    file, table = sealed
    handler = _Counting()
    counting, cache = pafs.PyFileSystem(handler), FooterCache()
    trace_id = table.column("trace_id")[0].as_py()
    cache.fragments([file], counting, ("trace_id", trace_id))
    assert handler.opened == [file.path, file.path]  # its tail, then its footer for the scan
    handler.opened.clear()
    for _ in range(3):
        (fragment,) = cache.fragments([file], counting, ("trace_id", trace_id))
        assert pc.sum(pc.equal(fragment.to_table().column("trace_id"), trace_id)).as_py() == 1
    assert handler.opened == [file.path] * 3  # only the row group read, each time
    changed = ParquetFile(file.path, file.size, file.mtime + 1)  # rewritten: read again
    handler.opened.clear()
    cache.fragments([changed], counting)
    assert handler.opened == [file.path]


def test_the_cache_stays_under_its_limit(tmp_path: Path) -> None:
    files = [_write(tmp_path / f"{i}.parquet", _spans(ROWS, seed=i)) for i in range(4)]
    one = FooterCache()
    one.fragments(files[:1], pafs.LocalFileSystem(), ("trace_id", b"y" * 16))
    cache = FooterCache(limit_bytes=one.held_bytes * 2)
    for _ in range(2):
        cache.fragments(files, pafs.LocalFileSystem(), ("trace_id", b"y" * 16))
        assert 0 < cache.held_bytes <= one.held_bytes * 2


def test_connect_finds_a_trace_by_the_filters_and_agrees_with_a_full_scan(
    tmp_path: Path,
) -> None:
    with OtlpLibrary(output_dir=tmp_path, rotate_bytes="256KiB") as library:
        for seed in range(3):
            library.export_traces(_spans(2000, seed=10 + seed))
            library.flush()
    assert len(data_files(tmp_path, "traces", ".parquet")) > 1  # shutdown sealed them all
    assert all_sealed(tmp_path, "traces")
    store = connect(tmp_path)
    everything = store.traces()
    for trace_id in everything.column("trace_id").to_pylist()[::500]:
        found = store.traces(trace_id=trace_id)
        expected = everything.filter(pc.equal(everything.column("trace_id"), trace_id))
        assert found.sort_by("span_id").equals(expected.sort_by("span_id"))
        pruned = store.dataset("traces", trace_id=trace_id)
        assert pruned.to_table().num_rows < everything.num_rows  # not every row group read
    assert store.traces(trace_id=b"\x01" * 16).num_rows == 0


def test_over_s3_connect_and_the_viewer_read_only_what_may_hold_the_trace(
    s3: Any, tmp_path: Path
) -> None:
    tables = [_spans(GROUPS * ROWS, seed=20 + i) for i in range(2)]
    bucket = open_bucket(s3.uri)
    for i, table in enumerate(tables):
        _write(tmp_path / f"{i}.parquet", table)
        bucket.upload(tmp_path / f"{i}.parquet", f"traces/date=2026-12-01/hour=10/{i}.parquet")
    store = connect(s3.uri, spool_dir=tmp_path / "spool")
    wanted = tables[1].slice(ROWS + 7, 1)
    trace_id = wanted.column("trace_id")[0].as_py()
    assert store.traces(trace_id=trace_id).to_pylist() == wanted.to_pylist()
    assert store.dataset("traces", trace_id=trace_id).to_table().num_rows <= 2 * ROWS  # of 12
    assert store.dataset("traces").count_rows() == 2 * GROUPS * ROWS
    logs = otlp_to_arrow(sample.logs(3 * ROWS, start_ns=T0, seed=5))
    ids = [trace_id] * 3 + [os.urandom(16) for _ in range(len(logs) - 3)]  # 3 of this trace
    column = logs.schema.get_field_index("trace_id")
    logs = logs.set_column(column, "trace_id", pa.array(ids, logs.schema.field(column).type))
    with parquet_format.open_writer(tmp_path / "logs.parquet", logs.schema, "logs", rows=ROWS) as w:
        w.write_table(logs, row_group_size=ROWS)
    bucket.upload(tmp_path / "logs.parquet", "logs/date=2026-12-01/hour=10/0.parquet")
    viewer = Viewer(s3.uri, port=0, spool_dir=tmp_path / "spool")
    viewer.start()
    try:
        base = viewer.url.rstrip("/")
        with urllib.request.urlopen(f"{base}/api/trace?id={trace_id.hex()}", timeout=10) as got:
            answer = json.loads(got.read())
        with urllib.request.urlopen(
            f"{base}/api/logs?trace_id={trace_id.hex()}", timeout=10
        ) as got:
            its_logs = json.loads(got.read())
    finally:
        viewer.stop()
    assert [s["span_id"] for s in answer["spans"]] == [wanted.column("span_id")[0].as_py().hex()]
    assert len(answer["logs"]) == 3 and its_logs["total"] == 3


def test_a_tail_shorter_than_the_footer_or_the_filters_is_read_further(
    sealed: tuple[ParquetFile, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    file, table = sealed
    monkeypatch.setattr(footers, "TAIL_BYTES", 4096)  # not all of the footer, no filter
    handler = _Counting()
    trace_id = table.column("trace_id")[2 * ROWS + 3].as_py()
    (kept,) = FooterCache().fragments([file], pafs.PyFileSystem(handler), ("trace_id", trace_id))
    assert 2 in [g.id for g in kept.row_groups]
    assert handler.opened == [file.path] * 3  # tail (then the footer), filters, the scan's


def test_a_file_that_is_not_parquet_is_named_by_pyarrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all" * 100)
    file = ParquetFile(str(bad), bad.stat().st_size, bad.stat().st_mtime)
    with pytest.raises(pa.ArrowInvalid, match=r"bad\.parquet"):
        FooterCache().fragments([file], pafs.LocalFileSystem(), ("trace_id", b"z" * 16))
