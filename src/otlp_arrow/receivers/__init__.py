"""Network entry points: OTLP receivers that convert requests at the edge and hand the
record batches to the library's pipeline.

``asgi`` runs an ASGI app on uvicorn in a thread: the OTLP/HTTP receiver, and the web viewer.
"""
