"""The settings table of ``docs/configuration.md``, generated from :class:`Config`."""

from __future__ import annotations

import dataclasses
from typing import Any

from otlp_arrow.config.exposure import ExposureSettings
from otlp_arrow.config.fields import _allowed, _bounds
from otlp_arrow.config.settings import Config
from otlp_arrow.config.sources import ENV_PREFIX
from otlp_arrow.config.values import _show_duration, _show_size


def _show_default(f: dataclasses.Field[Any]) -> str:
    value: Any = f.default
    if f.metadata["default_text"]:
        return str(f.metadata["default_text"])
    if value is None:
        return "off" if f.metadata["unit"] == "port" else "(generic setting)"
    if value == ():
        return "(none)"
    if f.metadata["unit"] == "size":
        return "0 (off)" if value == 0 else _show_size(value)
    if f.metadata["unit"] == "duration":
        return "0 (off)" if value == 0 else _show_duration(value)
    if isinstance(value, int) and f.metadata["unit"] != "port":
        return f"{value:,}"
    return str(value)


def render_docs() -> str:
    """The settings table of docs/configuration.md, generated from :class:`Config`."""
    lines = [
        "| Setting (YAML key) | Environment variable | Default | Allowed | Meaning |",
        "|---|---|---|---|---|",
    ]
    inherited = {f.name for f in dataclasses.fields(ExposureSettings)}
    for f in sorted(dataclasses.fields(Config), key=lambda f: f.name in inherited):
        lines.append(
            f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | {_show_default(f)} | "
            f"{_bounds(f) if f.metadata['low'] is not None else _allowed(f)} | "
            f"{f.metadata['doc']} |"
        )
    return "\n".join(lines) + "\n"
