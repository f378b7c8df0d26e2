"""Configuration: one declarative table of settings, resolved once.

Precedence: explicit argument > ``OTLP_ARROW_<NAME>`` environment variable > YAML file
(``config_file`` argument or ``OTLP_ARROW_CONFIG_FILE``) > default. Every value is parsed and
checked against its bounds; a bad one raises :class:`ConfigError` naming the setting, the
value, where it came from and what is allowed. ``docs/configuration.md`` is generated from this
table (``python -m otlp_arrow.config``) and a test keeps the two equal.

Modules: ``values`` (parsers of sizes, durations, secrets, ... and :class:`Secret`),
``fields`` (how a setting is declared, parsed and checked), ``settings`` (the table,
:class:`Config`), ``sources`` (argument > environment > YAML > default), ``docs``
(:func:`render_docs`).
"""

from otlp_arrow.config.docs import render_docs
from otlp_arrow.config.settings import Config
from otlp_arrow.config.sources import CONFIG_FILE_ENV, ENV_PREFIX
from otlp_arrow.config.values import Secret, parse_duration, parse_size

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "Config",
    "Secret",
    "parse_duration",
    "parse_size",
    "render_docs",
]
