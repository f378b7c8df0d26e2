#!/bin/sh
# Build the OpenTelemetry Collector that benches/bench_serve.py --collector measures in the same
# run as otlp-arrow (tools/collector: OTLP receiver, batch processor, file exporter; the module
# versions are pinned by its go.mod and go.sum). Needs Go and the Go module proxy; make test
# does not. Prints the binary's path. Safe to run again (go build is incremental).
set -eu
cd "$(dirname "$0")/../tools/collector"
command -v go >/dev/null || { echo "build-collector.sh: Go is not installed" >&2; exit 1; }
go build -trimpath -o otelcol-bench .
echo "$(pwd)/otelcol-bench"
