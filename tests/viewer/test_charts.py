"""The viewer's chart maths on plain values: no DuckDB, no server."""

from __future__ import annotations

import pytest

from otlp_arrow.viewer.charts import (
    ChartError,
    DistributionPoint,
    bucket_start,
    bucket_width,
    distribution_series,
    explicit_percentile,
    exponential_percentile,
    exponential_upper_bound,
    interval_delta,
    line_series,
)


def histogram(
    t: int, counts: list[int], bounds: list[float], *, stream: int = 1, cumulative: bool = False
) -> DistributionPoint:
    return DistributionPoint(
        "", t, sum(counts), counts, bounds, None, None, None, None, None, stream, cumulative
    )


def test_percentiles_of_histogram_points() -> None:
    # 10 values <= 1, 80 in (1, 5], 10 in (5, 10]
    assert explicit_percentile(0.5, 100, [10, 80, 10, 0], [1.0, 5.0, 10.0]) == pytest.approx(
        1.0 + 4.0 * 40 / 80
    )
    assert explicit_percentile(0.99, 100, [10, 80, 10, 0], [1.0, 5.0, 10.0]) == pytest.approx(
        5.0 + 5.0 * 9 / 10
    )
    assert explicit_percentile(0.5, 0, [], []) is None
    # scale 0: bucket i covers (2**i, 2**(i+1)]; offset 2 -> (4, 8], (8, 16]
    assert exponential_percentile(0.5, 0, 0, 2, [3, 1]) == 8.0
    assert exponential_percentile(0.9, 0, 0, 2, [3, 1]) == 16.0
    assert exponential_percentile(0.1, 0, 5, 2, [3, 1]) == 0.0


def test_explicit_percentile_edges() -> None:
    # all in the first bucket: its bound; all in the open last bucket: the last bound
    assert explicit_percentile(0.5, 4, [4, 0, 0], [1.0, 2.0]) == 1.0
    assert explicit_percentile(0.5, 4, [0, 0, 4], [1.0, 2.0]) == 2.0
    # no bounds at all: one bucket, nothing to say but 0
    assert explicit_percentile(0.5, 3, [3], []) == 0.0
    assert explicit_percentile(0.5, 3, None, None) is None


def test_exponential_bucket_bounds() -> None:
    assert exponential_upper_bound(0, 0) == 2.0
    assert exponential_upper_bound(0, 2) == 8.0
    assert exponential_upper_bound(1, 1) == pytest.approx(2.0)  # base sqrt(2)
    assert exponential_upper_bound(-1, 0) == 4.0  # base 4
    assert exponential_upper_bound(0, -2) == 0.5  # negative offsets: below 1
    assert exponential_percentile(0.5, None, 0, 0, [1]) is None
    assert exponential_percentile(0.5, 0, 0, 0, []) is None


def test_time_buckets() -> None:
    assert bucket_width(0, 0) == 1
    assert bucket_width(0, 239) == 1
    assert bucket_width(0, 240) == 2
    assert bucket_width(0, 239, buckets=10) == 24
    assert [bucket_start(t, 100, 10) for t in (100, 109, 110, 125)] == [100, 100, 110, 120]


def test_interval_deltas_of_cumulative_points() -> None:
    assert interval_delta(None, 10, [10, 0]) == (10, [10, 0])
    assert interval_delta((10, [10, 0]), 15, [12, 3]) == (5, [2, 3])
    assert interval_delta((10, [10, 0]), 4, [4, 0]) == (4, [4, 0])  # a reset: the point itself
    assert interval_delta((10, [10, 0]), 15, [5, 5, 5]) == (15, [5, 5, 5])  # other buckets


def test_line_series_leave_out_what_cannot_be_drawn() -> None:
    rows = [("", 1, 1.0), ("", 2, None), ("", 3, float("nan")), ("", 4, float("inf"))]
    assert line_series(rows) == [{"label": "all", "points": [[1, 1.0]]}]
    split = line_series([("a", 1, 1.0), ("b", 1, 2.0), ("a", 2, 3.0)])
    assert split == [
        {"label": "a", "points": [[1, 1.0], [2, 3.0]]},
        {"label": "b", "points": [[1, 2.0]]},
    ]


def test_cumulative_histograms_charted_by_interval_and_averaged_per_bucket() -> None:
    points = [
        histogram(0, [10, 0, 0, 0], [1.0, 5.0, 10.0], cumulative=True),
        histogram(60, [10, 0, 90, 0], [1.0, 5.0, 10.0], cumulative=True),
    ]
    p50 = distribution_series("histogram", points, 0, 60)[0][0]
    assert p50["label"] == "p50"
    assert [round(v, 2) for _, v in p50["points"]] == [1.0, 7.5]
    # two streams in one time bucket: their percentiles are averaged
    both = [
        histogram(0, [0, 4, 0, 0], [1.0, 5.0, 10.0], stream=1),
        histogram(5, [0, 0, 4, 0], [1.0, 5.0, 10.0], stream=2),
    ]
    p50 = distribution_series("histogram", both, 0, 60)[0][0]
    assert p50["points"] == [[0, pytest.approx((3.0 + 7.5) / 2)]]


def test_summaries_and_exponential_histograms() -> None:
    summary = DistributionPoint(
        "web",
        0,
        10,
        None,
        None,
        None,
        None,
        None,
        None,
        [{"quantile": 0.5, "value": 2.0}, {"quantile": 0.99, "value": 9.0}],
        1,
        False,
    )
    labels = [s["label"] for s in distribution_series("summary", [summary], 0, 1)[0]]
    assert labels == ["web q0.5", "web q0.99"]
    exponential = DistributionPoint("", 0, 4, None, None, 0, 0, 2, [3, 1], None, 1, False)
    series, notes = distribution_series("exponential_histogram", [exponential], 0, 1)
    assert notes == []
    assert [(s["label"], s["points"]) for s in series] == [
        ("p50", [[0, 8.0]]),
        ("p90", [[0, 16.0]]),
        ("p99", [[0, 16.0]]),
    ]


def test_points_that_cannot_be_charted_are_left_out_with_a_note() -> None:
    with pytest.raises(ChartError, match="4 bucket counts for 2 bounds"):
        explicit_percentile(0.5, 5, [0, 0, 0, 5], [1.0, 5.0])
    with pytest.raises(ChartError, match="scale -20 is outside"):
        exponential_upper_bound(-20, 0)
    with pytest.raises(ChartError, match="scale 21 is outside"):
        exponential_percentile(0.5, 21, 0, 0, [1])
    with pytest.raises(ChartError, match="at scale -9, bucket 1 ends beyond the largest double"):
        exponential_upper_bound(-9, 1)
    assert exponential_upper_bound(-9, 0) == 2.0**512
    bad = histogram(0, [0, 0, 0, 5], [1.0, 5.0])
    series, notes = distribution_series("histogram", [histogram(0, [1, 1], [1.0]), bad], 0, 1)
    assert [s["label"] for s in series] == ["p50", "p90", "p99"]
    assert notes == [
        "cannot chart 1 of 2 points: a histogram point has 4 bucket counts for 2 bounds (at most 3)"
    ]
