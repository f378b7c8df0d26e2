"""Compare OTLP requests up to the grouping order of resources and scopes."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric


def _bytes(message: Any) -> bytes:
    return message.SerializeToString(deterministic=True)  # type: ignore[no-any-return]


def _presence(holder: Any, name: str) -> bytes:
    return b"unset" if not holder.HasField(name) else b"set:" + _bytes(getattr(holder, name))


def flatten(request: Any) -> list[tuple[bytes, ...]]:
    """One tuple per span / data point / log record with everything that applies to it,
    as serialized bytes (so NaN compares by its bits, and presence is kept)."""
    outer = request.DESCRIPTOR.fields[0].name
    rows: list[tuple[bytes, ...]] = []
    for holder in getattr(request, outer):
        resource = (_presence(holder, "resource"), holder.schema_url.encode())
        scopes_field = holder.DESCRIPTOR.fields[1].name
        for scope_holder in getattr(holder, scopes_field):
            scope = (_presence(scope_holder, "scope"), scope_holder.schema_url.encode())
            items = getattr(scope_holder, scope_holder.DESCRIPTOR.fields[1].name)
            for item in items:
                if isinstance(item, Metric):
                    kind = item.WhichOneof("data")
                    if kind is None:
                        continue
                    identity = Metric()
                    identity.CopyFrom(item)
                    getattr(identity, kind).ClearField("data_points")
                    rows.extend(
                        (*resource, *scope, _bytes(identity), _bytes(point))
                        for point in getattr(item, kind).data_points
                    )
                else:
                    rows.append((*resource, *scope, _bytes(item)))
    return rows


def assert_same(actual: Any, expected: Any) -> None:
    assert type(actual) is type(expected)
    got, want = sorted(flatten(actual)), sorted(flatten(expected))
    if got != want:  # show the first difference readably
        for a, b in zip(got, want, strict=False):
            if a != b:
                raise AssertionError(f"first differing item:\n got {a!r}\nwant {b!r}")
        raise AssertionError(f"{len(got)} items, expected {len(want)}")
