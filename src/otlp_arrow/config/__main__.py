"""``python -m otlp_arrow.config``: print the settings table of docs/configuration.md."""

from otlp_arrow.config.docs import render_docs

print(render_docs(), end="")  # noqa: T201
