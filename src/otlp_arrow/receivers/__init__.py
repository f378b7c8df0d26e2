"""Network entry points: OTLP receivers that convert requests at the edge and hand the
record batches to the library's pipeline."""
