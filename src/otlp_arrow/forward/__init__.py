"""Forwarding what is stored to a remote OTLP endpoint: the forwarder's thread reading
the stored files (``forwarder``) from a persisted cursor and its lease (``cursor``), rows as
requests (``batches``), one request delivered with retries and the breaker (``delivery``), the
OTLP/HTTP and OTLP/gRPC senders, the pure breaker and back-off, and ``otlp-arrow replay``."""
