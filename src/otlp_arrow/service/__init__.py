"""``otlp-arrow serve``: the :class:`Service` composition root (a library plus the receivers
that feed it), and the Prometheus text of its counters."""

from otlp_arrow.service.service import Service

__all__ = ["Service"]
