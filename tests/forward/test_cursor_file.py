"""The cursor's pure parts: positions and their watermark, the file format, the lease."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from otlp_arrow.errors import StorageError
from otlp_arrow.forward.cursor import (
    Cursor,
    Lease,
    Position,
    destination_name,
    load,
    name_time,
    save,
)

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def stem(minute: int, pid: int = 7) -> str:
    return f"traces-20261201T09{minute:02d}00Z-{pid}-000001-abcd0123"


def test_the_watermark_moves_over_done_files_only_never_past_a_live_one() -> None:
    position = Position()
    a, b, c = stem(1), stem(2, 8), stem(3)
    d = "traces-20261201T095930Z-9-000001-abcd0123"
    position.advance(a, 10)
    position.finish(a)
    position.advance(b, 5)  # still being written
    position.finish(c)
    assert position.compact({a, b, c}, NOW) and position.watermark == a
    assert position.sent == {b: 5} and position.done == {c}
    position.finish(b)
    position.finish(d)  # done, but named less than a minute ago: it may get neighbours
    assert position.compact({b, c, d}, NOW) and position.watermark == c
    assert position.is_done(a) and position.is_done(d) and not position.is_done(stem(4))
    assert not position.compact(set(), NOW)  # gone files count as done, but d is too new
    position.advance(a, 99)  # below the watermark: nothing to remember
    assert a not in position.sent and position.rows_sent(stem(5)) == 0


def test_names_and_times() -> None:
    name = destination_name("https://user:pw@otlp.example:4318/base", "http/protobuf")
    assert name.startswith("otlp.example-4318-base-http-protobuf-")
    assert "user" not in name and "pw" not in name and ":" not in name
    assert name != destination_name("https://otlp.example:4318/base", "grpc")
    assert name_time(stem(1)) == datetime(2026, 12, 1, 9, 1, tzinfo=UTC)
    assert name_time("odd") is None


def test_the_file_round_trips_and_a_damaged_one_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / ".forward" / "x.json"
    assert load(path) is None
    cursor = Cursor("x")
    cursor.positions["logs"] = Position("logs-1", {"logs-2": 3}, {"logs-3"})
    save(path, cursor)
    assert load(path) == cursor
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]  # no temporary file left
    path.write_text('{"version": 9}')
    with pytest.raises(StorageError, match="not valid"):
        load(path)


def test_one_lease_at_a_time(tmp_path: Path) -> None:
    one, two = Lease(tmp_path / "x.lease"), Lease(tmp_path / "x.lease")
    assert one.take() and one.take() and one.held
    assert not two.take() and not two.held
    one.release()
    assert two.take()
    two.release()
