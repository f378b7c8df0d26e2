"""``python -m otlp_arrow.cli``: the ``otlp-arrow`` command."""

import sys

from otlp_arrow.cli import entry

sys.exit(entry())
