"""Forwarding what is stored to a remote OTLP endpoint: the forwarder's queue and thread
(``forwarder``), one request delivered with retries and the breaker (``delivery``), the
OTLP/HTTP and OTLP/gRPC senders, the pure breaker and back-off, and ``otlp-arrow replay``."""
