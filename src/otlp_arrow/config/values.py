"""Parsers of setting values (sizes, durations, ports, URLs, secrets, ...) and their display.

Every parser takes what a user wrote (an argument, an environment variable's text or a YAML
value) and returns the typed value, or raises ``ValueError`` saying what is expected; the
caller (:func:`otlp_arrow.config.fields._parse`) turns that into a ``ConfigError`` that
names the setting and where the value came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from otlp_arrow.schema import SIGNALS, Signal

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_DURATION_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_SIGNAL_BY_NAME: Final[Mapping[str, Signal]] = {signal: signal for signal in SIGNALS}


def parse_size(value: Any) -> int:
    """Bytes from an int or a string such as ``"64MiB"``, ``"1.5GB"``, ``"4096"``."""
    return int(_with_unit(value, _SIZE_UNITS, "a size such as 4096, 64MiB or 1GB"))


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"500ms"``, ``"15m"``, ``"7d"``."""
    return _with_unit(value, _DURATION_UNITS, "a duration such as 1.5, 500ms, 15m, 2h or 7d")


def _with_unit(value: Any, units: Mapping[str, float], expected: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = _NUMBER_UNIT.match(str(value))
        if not match or match.group(2).lower() not in units:
            raise ValueError(f"expected {expected}")
        number = float(match.group(1)) * units[match.group(2).lower()]
    if not math.isfinite(number):
        raise ValueError(f"expected {expected} (a finite number)")
    return number


def _show_size(value: float) -> str:
    """``value`` bytes in the largest binary unit that divides it: ``64MiB``, ``1000``."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        if value >= _SIZE_UNITS[unit.lower()] and value % _SIZE_UNITS[unit.lower()] == 0:
            return f"{int(value // _SIZE_UNITS[unit.lower()])}{unit}"
    return f"{int(value)}"


def _show_duration(value: float) -> str:
    """``value`` seconds in the largest unit that divides it: ``7d``, ``90s``, ``500ms``."""
    for unit in ("d", "h", "m", "s"):
        if value >= _DURATION_UNITS[unit] and value % _DURATION_UNITS[unit] == 0:
            return f"{int(value // _DURATION_UNITS[unit])}{unit}"
    return f"{value * 1000:g}ms"


def _parse_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected a whole number")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("expected a whole number") from None


#: YAML 1.1 (PyYAML) reads a bare ``off`` or ``no`` as false: where "off" is a value (and
#: no setting is a bool), false is taken for it.
_YAML_OFF = False


def _parse_port(value: Any) -> int | None:
    if value is _YAML_OFF or (
        isinstance(value, str) and value.strip().lower() in ("off", "none", "disabled")
    ):
        return None
    return _parse_int(value)


class Secret:
    """A credential: shown as ``***`` by ``str``, ``repr``, config dumps and errors; the value
    only through :meth:`reveal`, where it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _parse_secret(value: Any) -> Secret | None:
    """A secret given as is, or as ``file:PATH`` (read from the file, trailing newline
    dropped: how Docker and Kubernetes mount secrets)."""
    text = str(value)
    if text.startswith("file:"):
        path = Path(text[5:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read the secret file {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return None
    if any(c in text for c in "\r\n"):
        raise ValueError("a secret cannot contain line breaks")
    return Secret(text)


def _parse_tokens(value: Any) -> tuple[Secret, ...]:
    """Tokens separated by commas (or a YAML list); ``file:PATH`` items read one token per
    line from a file (empty lines and ``#`` comments skipped). Kept as secrets."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    tokens: list[str] = []
    for item in (str(i).strip() for i in items):
        if item.startswith("file:"):
            path = Path(item[5:]).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ValueError(f"cannot read the token file {path}: {exc.strerror}") from None
            tokens += [line.strip() for line in lines if line.strip()[:1] not in ("", "#")]
        elif item:
            tokens.append(item)
    for token in tokens:
        if len(token) < 16 or any(c.isspace() for c in token):
            raise ValueError("each token needs 16 characters or more, without spaces")
    return tuple(Secret(token) for token in dict.fromkeys(tokens))


def _parse_names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(str(i).strip().lower() for i in items if str(i).strip())
    for name in names:
        if not re.fullmatch(r"[a-z0-9.-]+", name):
            raise ValueError(f"{name!r} is not a host name")
    return names


def _parse_headers(value: Any) -> tuple[tuple[str, Secret], ...]:
    """``name=value,name2=value2`` (or a YAML mapping); values are kept as secrets."""
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for item in str(value).split(","):
            if not item.strip():
                continue
            name, sep, header_value = item.partition("=")
            if not sep:
                raise ValueError(f"expected name=value pairs separated by commas, got {name!r}")
            pairs.append((name, header_value))
    out = []
    for name, header_value in pairs:
        secret = _parse_secret(header_value.strip())
        out.append((_parse_header_name(name), secret or Secret("")))
    return tuple(out)


_USER_INFO = re.compile(r"(//)[^/?#@]*@")
_QUERY = re.compile(r"(://[^\s'\"?#]*\?)[^\s'\"#]*")


def redact_url(text: str) -> str:
    """``text`` with the user-info of any URL in it (``//user:password@``) as ``//***@``, and
    its query (``?token=…``, ``?password=…``) as ``?***``."""
    return _QUERY.sub(r"\1***", _USER_INFO.sub(r"\1***@", text))


def _parse_endpoint(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not text:
        return ""
    if _USER_INFO.search(text):  # refused, not redacted: a URL is logged and shown in many places
        raise ValueError(
            "credentials in the URL are not allowed (they would be logged and shown); "
            "give them as forward_basic_auth (user:password) or forward_bearer_token"
        )
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError("expected a URL such as http://collector:4318 or https://otlp.example.com")
    return text


def _parse_signals(value: Any) -> tuple[Signal, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(str(i).strip().lower() for i in items if str(i).strip())
    bad = [name for name in names if name not in _SIGNAL_BY_NAME]
    if bad:
        raise ValueError(f"expected some of {', '.join(SIGNALS)}; got {', '.join(bad)}")
    return tuple(dict.fromkeys(_SIGNAL_BY_NAME[name] for name in names))


def _parse_optional_path(value: Any) -> Path | None:
    text = str(value).strip()
    return Path(text).expanduser() if text else None


def _parse_header_name(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", text):
        raise ValueError(f"{text!r} is not a valid header name")
    return text.lower()


def _parse_host(value: Any) -> str:
    text = str(value).strip()
    if not text or any(c.isspace() for c in text):
        raise ValueError("expected a host name or IP address such as 127.0.0.1 or 0.0.0.0")
    return text


def _parse_origins(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    origins = tuple(str(item).strip() for item in items if str(item).strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(
                f"expected origins such as https://app.example.com or *, got {origin!r}"
            )
    return origins


class _Choice:
    """The parser of a setting with a fixed set of values; :attr:`allowed` is the text the
    docs and the error message show."""

    __slots__ = ("choices",)

    def __init__(self, *choices: str) -> None:
        self.choices = choices

    @property
    def allowed(self) -> str:
        return ", ".join(self.choices)

    def __call__(self, value: Any) -> str:
        if value is _YAML_OFF and "off" in self.choices:
            return "off"
        text = str(value).strip().lower()
        if text not in self.choices:
            raise ValueError(f"expected one of {self.allowed}")
        return text


def _choice(*choices: str) -> _Choice:
    return _Choice(*choices)
