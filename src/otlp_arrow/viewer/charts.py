"""The viewer's chart maths, on plain values: time buckets, interval deltas of cumulative
histograms, percentiles from explicit and exponential histogram buckets.

Nothing here knows DuckDB or HTTP: :mod:`otlp_arrow.viewer.queries` asks the questions and
hands the rows over as tuples and :class:`DistributionPoint` values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Points a chart series is reduced to (time buckets), whatever the data's resolution.
CHART_BUCKETS = 240
#: The percentiles charted for histograms and exponential histograms.
PERCENTILES = (0.5, 0.9, 0.99)
#: The scales OTLP allows exponential histograms.
MIN_SCALE, MAX_SCALE = -10, 20


class ChartError(ValueError):
    """A point the chart cannot use, and why (it is left out, with a note)."""


@dataclass(frozen=True, slots=True)
class DistributionPoint:
    """One histogram, exponential histogram or summary point, as the chart needs it (the
    fields in the order :func:`otlp_arrow.viewer.queries.metric_series` selects them)."""

    series: str
    t: int
    count: int | None
    bucket_counts: list[int] | None
    explicit_bounds: list[float] | None
    scale: int | None
    zero_count: int | None
    positive_offset: int | None
    positive_bucket_counts: list[int] | None
    quantile_values: list[dict[str, Any]] | None
    stream: int
    cumulative: bool


def bucket_width(first_ns: int, last_ns: int, buckets: int = CHART_BUCKETS) -> int:
    """The width (ns, at least 1) of the time buckets that cut ``[first_ns, last_ns]`` into
    at most ``buckets``."""
    return max(1, (last_ns - first_ns) // buckets + 1)


def bucket_start(t: int, start: int, width: int) -> int:
    """The start of the time bucket of width ``width`` (counted from ``start``) holding ``t``."""
    return start + ((t - start) // width) * width


def line_series(rows: Iterable[tuple[str, int, float | None]]) -> list[dict[str, Any]]:
    """``(series, t, value)`` rows, in order, as chart series; non-finite values left out.
    The unnamed series is labelled ``all``."""
    out: dict[str, list[list[Any]]] = {}
    for series, t, v in rows:
        if v is not None and math.isfinite(v):
            out.setdefault(series, []).append([t, v])
    return [{"label": label or "all", "points": points} for label, points in out.items()]


def interval_delta(
    last: tuple[int, list[int]] | None, count: int, buckets: list[int]
) -> tuple[int, list[int]]:
    """What a cumulative histogram point adds to the stream's ``last`` ``(count, buckets)``:
    the point itself when there is no last one, the buckets changed or the count went down
    (a reset)."""
    if last is not None and len(last[1]) == len(buckets) and count >= last[0]:
        return count - last[0], [a - b for a, b in zip(buckets, last[1], strict=True)]
    return count, buckets


def distribution_series(
    kind: str, points: Iterable[DistributionPoint], start: int, width: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Percentile lines (histograms, exponential histograms) or quantile lines (summaries) per
    series, each the average per time bucket, and notes on the points that cannot be charted
    (left out). Cumulative explicit histograms are charted by what changed between a stream's
    points (:func:`interval_delta`)."""
    lines: dict[str, dict[int, list[float]]] = {}
    previous: dict[int, tuple[int, list[int]]] = {}  # stream -> its last (count, buckets)
    problems: dict[str, int] = {}
    total = 0
    for point in points:
        total += 1
        try:
            values = _point_values(kind, point, previous)
        except ChartError as exc:
            problems[str(exc)] = problems.get(str(exc), 0) + 1
            continue
        t = bucket_start(point.t, start, width)
        for line, value in values:
            if value is not None and math.isfinite(value):
                key = f"{point.series} {line}".strip()
                lines.setdefault(key, {}).setdefault(t, []).append(value)
    series = [
        {"label": label, "points": [[t, sum(v) / len(v)] for t, v in sorted(by_time.items())]}
        for label, by_time in lines.items()
    ]
    notes = [f"cannot chart {n} of {total} points: {why}" for why, n in problems.items()]
    return series, notes


def _point_values(
    kind: str, point: DistributionPoint, previous: dict[int, tuple[int, list[int]]]
) -> list[tuple[str, float | None]]:
    """The (line, value) pairs of one point; ChartError if it cannot be charted."""
    if kind == "summary":
        return [(f"q{q['quantile']:g}", q["value"]) for q in point.quantile_values or []]
    if kind == "histogram":
        count, buckets, bounds = point.count, point.bucket_counts, point.explicit_bounds
        if point.cumulative and count is not None and buckets is not None:
            last = previous.get(point.stream)  # what happened since the stream's last point
            previous[point.stream] = (count, buckets)
            count, buckets = interval_delta(last, count, buckets)
        return [
            (f"p{round(p * 100)}", explicit_percentile(p, count, buckets, bounds))
            for p in PERCENTILES
        ]
    return [
        (
            f"p{round(p * 100)}",
            exponential_percentile(
                p,
                point.scale,
                point.zero_count,
                point.positive_offset,
                point.positive_bucket_counts,
            ),
        )
        for p in PERCENTILES
    ]


def explicit_percentile(
    p: float, count: int | None, buckets: Sequence[int] | None, bounds: Sequence[float] | None
) -> float | None:
    """The ``p`` percentile of an explicit-bucket histogram point, interpolated linearly
    inside its bucket (the open-ended buckets give their finite bound). ChartError if there
    are more buckets than bounds + 1."""
    if not count or not buckets:
        return None
    bounds = bounds or []
    if len(buckets) > len(bounds) + 1:
        raise ChartError(
            f"a histogram point has {len(buckets)} bucket counts for {len(bounds)} bounds "
            f"(at most {len(bounds) + 1})"
        )
    target = p * count
    seen = 0
    for index, n in enumerate(buckets):
        if n and seen + n >= target:
            low = bounds[index - 1] if index > 0 else (bounds[0] if bounds else 0.0)
            high = bounds[index] if index < len(bounds) else low
            if index == 0:
                return high
            return low + (high - low) * (target - seen) / n
        seen += n
    return bounds[-1] if bounds else None


def exponential_upper_bound(scale: int, index: int) -> float:
    """The upper bound of bucket ``index`` of an exponential histogram of ``scale``: bucket
    ``i`` covers ``(base**i, base**(i+1)]``, ``base = 2**(2**-scale)``. ChartError for a
    scale OTLP does not allow, or a bound beyond the largest double."""
    _check_scale(scale)
    try:
        return float((2.0 ** (2.0**-scale)) ** (index + 1))
    except OverflowError:
        raise ChartError(
            f"at scale {scale}, bucket {index} ends beyond the largest double"
        ) from None


def exponential_percentile(
    p: float,
    scale: int | None,
    zero: int | None,
    offset: int | None,
    positive: Sequence[int] | None,
) -> float | None:
    """The ``p`` percentile of the positive range of an exponential histogram point, at the
    upper bound of its bucket (:func:`exponential_upper_bound`)."""
    counts = positive or []
    total = (zero or 0) + sum(counts)
    if not total or scale is None:
        return None
    _check_scale(scale)
    target = p * total
    seen = zero or 0
    if seen >= target:
        return 0.0
    for index, n in enumerate(counts):
        seen += n
        if seen >= target:
            return exponential_upper_bound(scale, (offset or 0) + index)
    return None


def _check_scale(scale: int) -> None:
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ChartError(f"scale {scale} is outside the range of OTLP ({MIN_SCALE}..{MAX_SCALE})")
