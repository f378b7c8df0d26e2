"""The settings that make a sink you can expose (issue #13): limits on what clients may hold
(connections, time, bytes in flight), TLS, authentication, and when a replay gives up.

A base of :class:`~otlp_arrow.config.settings.Config` (its fields are Config's fields); kept
apart so the table stays readable. The docs list them after the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from otlp_arrow.config.fields import _setting
from otlp_arrow.config.values import parse_duration


@dataclass(frozen=True)
class ExposureSettings:
    """Limits, TLS and authentication of the listeners (see docs/operations.md, "Securing
    otlp-arrow")."""

    replay_resolve_timeout: float = _setting(
        60.0,
        parse_duration,
        "How long `otlp-arrow replay` retries an endpoint whose host name does not resolve "
        "before it stops with exit code 1 (`serve` keeps retrying, counted).",
        low=0.1,
        high=86400.0,
        unit="duration",
    )
