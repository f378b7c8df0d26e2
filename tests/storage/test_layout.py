from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from otlp_arrow.storage.layout import RotationPolicy, file_name, partition_dir

OPENED = datetime(2026, 11, 25, 18, 59, 30, tzinfo=UTC)


def test_partition_dir_is_hive_style_by_utc_date_and_hour() -> None:
    local = OPENED.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert partition_dir(Path("out"), "logs", local) == Path(
        "out", "logs", "date=2026-11-25", "hour=18"
    )


def test_file_names_sort_by_time_and_hold_no_colon() -> None:
    first = file_name("traces", OPENED, 42, 1, "abcd")
    later = file_name("traces", OPENED + timedelta(seconds=1), 7, 1, "0000")
    assert first == "traces-20261125T185930Z-42-000001-abcd.arrows"
    assert ":" not in first and first < later


def test_rotation_by_size_age_and_hour() -> None:
    policy = RotationPolicy(max_bytes=1000, max_age_s=60)
    assert not policy.should_rotate(OPENED, OPENED + timedelta(seconds=10), 999)
    assert policy.should_rotate(OPENED, OPENED, 1000)
    assert policy.should_rotate(OPENED, OPENED + timedelta(seconds=60), 0)
    hour_policy = RotationPolicy(max_bytes=10**9, max_age_s=3600)
    assert hour_policy.should_rotate(OPENED, OPENED + timedelta(seconds=31), 0)  # 19:00
