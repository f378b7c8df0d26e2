"""OTLP protocol facts: the gRPC services and their messages (``services``), and the OTLP/JSON
wire encoding (``json_wire``). No conversion to Arrow here; that is ``convert``."""
