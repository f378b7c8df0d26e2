"""Where the raw values of the settings come from, and which one wins: explicit argument >
``OTLP_ARROW_<NAME>`` environment variable > YAML file (``config_file`` argument or
``OTLP_ARROW_CONFIG_FILE``) > default."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from otlp_arrow.config.fields import _parse
from otlp_arrow.errors import ConfigError

log = logging.getLogger(__name__)

ENV_PREFIX = "OTLP_ARROW_"
CONFIG_FILE_ENV = "OTLP_ARROW_CONFIG_FILE"


def _resolve(
    fields: Sequence[dataclasses.Field[Any]],
    config_file: str | Path | None,
    env: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """The parsed value of every setting that is not left at its default."""
    names = {f.name for f in fields}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(
            f"unknown setting(s): {', '.join(unknown)}; known settings: {', '.join(sorted(names))}"
        )
    known_env = {ENV_PREFIX + name.upper() for name in names} | {CONFIG_FILE_ENV}
    for key in sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known_env):
        log.warning("ignoring unknown environment variable %s", key)
    path = config_file if config_file is not None else env.get(CONFIG_FILE_ENV)
    from_file = _read_yaml(Path(path), names) if path else {}
    values: dict[str, Any] = {}
    for f in fields:
        env_name = ENV_PREFIX + f.name.upper()
        if overrides.get(f.name) is not None:
            raw, source = overrides[f.name], "argument"
        elif env.get(env_name, "").strip():
            raw, source = env[env_name], f"environment variable {env_name}"
        elif f.name in from_file and from_file[f.name] is not None:
            raw, source = from_file[f.name], f"{path}"
        else:
            continue
        values[f.name] = _parse(f, raw, source)
    return values


def _read_yaml(path: Path, names: set[str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of settings, got {type(data).__name__}"
        )
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known settings: {', '.join(sorted(names))}"
        )
    return data
