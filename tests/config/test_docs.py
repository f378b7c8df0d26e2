from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from otlp_arrow.config import render_docs

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_docs_list_every_setting_as_generated() -> None:
    assert render_docs() in DOCS.read_text(encoding="utf-8"), (
        "docs/configuration.md is stale: regenerate with `otlp-arrow config --docs`"
    )


def test_python_m_otlp_arrow_config_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_module("otlp_arrow.config", run_name="__main__")
    assert capsys.readouterr().out == render_docs()
