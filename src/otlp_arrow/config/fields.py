"""One setting: how it is declared (a dataclass field whose metadata carries its parser, bounds
and documentation), how a raw value is parsed and checked, and how its bounds are described."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from otlp_arrow.config.values import (
    _Choice,
    _parse_headers,
    _parse_secret,
    _parse_tokens,
    _show_duration,
    _show_size,
    redact_url,
)
from otlp_arrow.errors import ConfigError


def _setting(
    default: Any,
    parse: Callable[[Any], Any],
    doc: str,
    *,
    low: float | None = None,
    high: float | None = None,
    zero_ok: bool = False,
    unit: str = "",
    allowed: str = "",
    default_text: str = "",
) -> Any:
    """A field of :class:`~otlp_arrow.config.Config`. ``allowed`` describes the values of a
    setting without bounds; a :func:`~otlp_arrow.config.values._choice` parser brings its own."""
    if not allowed and isinstance(parse, _Choice):
        allowed = parse.allowed
    return dataclasses.field(
        default=default,
        metadata={
            "parse": parse,
            "doc": doc,
            "low": low,
            "high": high,
            "zero_ok": zero_ok,
            "unit": unit,
            "allowed": allowed,
            "default_text": default_text,  # shown instead of the default in the docs
        },
    )


def _parse(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    meta = f.metadata
    try:
        value = meta["parse"](raw)
    except ValueError as exc:
        shown = _shown(f, raw)
        raise ConfigError(f"{f.name}={shown} (from {source}) is not valid: {exc}") from None
    low, high = meta["low"], meta["high"]
    if value is None:
        return value
    if low is not None and not (meta["zero_ok"] and value == 0) and not low <= value <= high:
        raise ConfigError(
            f"{f.name}={raw!r} (from {source}) is out of bounds: allowed {_bounds(f)}"
        )
    return value


def _shown(f: dataclasses.Field[Any], raw: Any) -> str:
    """``raw`` for an error message; secrets as ``***`` (a ``file:`` path may be shown)."""
    if f.metadata["parse"] in (_parse_secret, _parse_headers, _parse_tokens):
        text = str(raw)
        return repr(text) if text.startswith("file:") else "'***'"
    return redact_url(repr(raw))


def _bounds(f: dataclasses.Field[Any]) -> str:
    meta = f.metadata
    if meta["low"] is None:
        return "-"
    if meta["unit"] == "port":
        return f"{meta['low']} .. {meta['high']}, or off"
    show = (
        _show_size
        if meta["unit"] == "size"
        else (_show_duration if meta["unit"] == "duration" else lambda v: f"{int(v):,}")
    )
    if not meta["zero_ok"]:
        return f"{show(meta['low'])} .. {show(meta['high'])}"
    return f"0 (off) or {show(meta['low'] or 1)} .. {show(meta['high'])}"


def _allowed(f: dataclasses.Field[Any]) -> str:
    allowed: str = f.metadata["allowed"]
    return allowed
