"""The lakehouse side: sealed Parquet files committed to Apache Iceberg tables (pyiceberg).

Optional: imported only when the setting ``iceberg_catalog`` is set (or by ``otlp-arrow
iceberg``); pyiceberg is then needed. See docs/storage.md (Iceberg) and docs/scale-out.md.
"""
