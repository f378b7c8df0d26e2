// A real OpenTelemetry JS SDK sending OTLP/JSON (its default encoding) to otlp-arrow.
// Usage: node send_spans.js http://127.0.0.1:PORT/v1/traces
const { SpanStatusCode } = require('@opentelemetry/api');
const { TracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

async function main() {
  const exporter = new OTLPTraceExporter({ url: process.argv[2] });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'js-shop', 'service.version': '2.0.1' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('js-instrumentation', '0.1.0');
  const root = tracer.startSpan('GET /cart', {
    kind: 1, // SERVER
    attributes: { 'http.status_code': 500, 'cart.total': 12.5, 'cart.empty': false,
                  'tags': ['a', 'b'], 'big': 9007199254740991 },
  });
  root.addEvent('cache.miss', { 'cache.key': 'cart:42' });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  const child = tracer.startSpan('SELECT cart', { links: [{ context: root.spanContext() }] },
    require('@opentelemetry/api').trace.setSpan(require('@opentelemetry/api').context.active(), root));
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  console.log(JSON.stringify({ trace: root.spanContext().traceId, root: root.spanContext().spanId,
                               child: child.spanContext().spanId }));
}

main().catch((err) => { console.error(err); process.exit(1); });
