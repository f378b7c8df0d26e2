from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's OTLP_ARROW_* / OTEL_* settings."""
    for name in list(os.environ):
        if name.startswith(("OTLP_ARROW_", "OTEL_")):
            monkeypatch.delenv(name)
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Never let a run that collected no tests pass."""
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 1
