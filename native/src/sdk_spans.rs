//! The OpenTelemetry Python SDK's finished spans (`ReadableSpan`) read in Rust and written as
//! a serialized `ExportTraceServiceRequest`, which the protobuf decoder then turns into the
//! traces columns, with the GIL released (issue #11, point 4: reading the SDK objects from
//! Rust measured 2.2x faster than the Python collector, `benches/bench_exporters.py`).
//!
//! The request is the one the official OTLP encoder would send for the same spans, as the
//! Python collector (`convert/from_sdk.py`, the specification) converts them: the same fields,
//! the same defaults (`None` times as 0, the is-remote flags, no link trace state), attribute
//! values typed the same way. Consecutive spans of one resource and scope share one
//! `ResourceSpans`/`ScopeSpans`, so the rows keep the input order.
//!
//! What is read, and what is left to the Python collector, is said in `crate::sdk`; here
//! besides, an unknown span kind is left to it.

use pyo3::intern;
use pyo3::prelude::*;

use crate::encode::pb::Writer;
use crate::sdk::{attributes, count, fixed32, optional_text, text, time, Runs, Unhandled, Walk};

const HAS_IS_REMOTE: u32 = 0x100; // SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
const IS_REMOTE: u32 = 0x200; // SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK

/// The request for `spans` (an iterable of SDK `ReadableSpan`s), or [`Unhandled`].
pub fn encode_spans(spans: &Bound<'_, PyAny>) -> Walk<Vec<u8>> {
    let py = spans.py();
    let mut w = Writer::default();
    let mut runs = Runs::default();
    for span in spans.try_iter()? {
        let span = span?;
        let resource = span.getattr(intern!(py, "resource"))?;
        let scope = span.getattr(intern!(py, "instrumentation_scope"))?;
        runs.enter(&mut w, &resource, &scope)?;
        let open = w.open(2, 2);
        write_span(&mut w, &span)?;
        w.close(open);
    }
    runs.finish(&mut w);
    Ok(w.buf)
}

/// One `Span` (its fields in order, the message opened by the caller).
fn write_span(w: &mut Writer, span: &Bound<'_, PyAny>) -> Walk {
    let py = span.py();
    let context = span.getattr(intern!(py, "context"))?;
    ids(w, &context)?;
    let state = trace_state(&context.getattr(intern!(py, "trace_state"))?)?;
    w.bytes_nz(3, state.as_bytes());
    let parent = span.getattr(intern!(py, "parent"))?;
    let mut flags = HAS_IS_REMOTE;
    if !parent.is_none() {
        let parent_id: u64 = parent.getattr(intern!(py, "span_id"))?.extract()?;
        w.bytes(4, &parent_id.to_be_bytes());
        if parent.getattr(intern!(py, "is_remote"))?.is_truthy()? {
            flags |= IS_REMOTE;
        }
    }
    w.bytes_nz(5, text(&span.getattr(intern!(py, "name"))?)?.as_bytes());
    let kind: i64 = span
        .getattr(intern!(py, "kind"))?
        .getattr(intern!(py, "value"))?
        .extract()?;
    if !(0..=4).contains(&kind) {
        return Err(Unhandled); // SpanKind INTERNAL..CONSUMER are 0..4, OTLP's 1..5
    }
    w.int32_nz(6, kind as i32 + 1);
    w.fixed64_nz(7, time(&span.getattr(intern!(py, "start_time"))?)?);
    w.fixed64_nz(8, time(&span.getattr(intern!(py, "end_time"))?)?);
    let own = match span.getattr(intern!(py, "_attributes")) {
        Ok(raw) => raw, // what `attributes` wraps in a read-only proxy (same content)
        Err(_) => span.getattr(intern!(py, "attributes"))?,
    };
    attributes(w, 9, &own)?;
    w.uint_nz(
        10,
        count(&span.getattr(intern!(py, "dropped_attributes"))?)?,
    );
    for event in span.getattr(intern!(py, "events"))?.try_iter()? {
        let event = event?;
        let open = w.open(11, 2);
        w.fixed64_nz(1, time(&event.getattr(intern!(py, "timestamp"))?)?);
        w.bytes_nz(2, text(&event.getattr(intern!(py, "name"))?)?.as_bytes());
        attributes(w, 3, &event.getattr(intern!(py, "attributes"))?)?;
        w.uint_nz(
            4,
            count(&event.getattr(intern!(py, "dropped_attributes"))?)?,
        );
        w.close(open);
    }
    w.uint_nz(12, count(&span.getattr(intern!(py, "dropped_events"))?)?);
    for link in span.getattr(intern!(py, "links"))?.try_iter()? {
        let link = link?;
        let open = w.open(13, 2);
        let linked = link.getattr(intern!(py, "context"))?;
        ids(w, &linked)?;
        attributes(w, 4, &link.getattr(intern!(py, "attributes"))?)?;
        w.uint_nz(5, count(&link.getattr(intern!(py, "dropped_attributes"))?)?);
        let remote = linked.getattr(intern!(py, "is_remote"))?.is_truthy()?;
        fixed32(w, 6, HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 });
        w.close(open);
    }
    w.uint_nz(14, count(&span.getattr(intern!(py, "dropped_links"))?)?);
    let status = span.getattr(intern!(py, "status"))?;
    let open = w.open(15, 1);
    let message = optional_text(&status.getattr(intern!(py, "description"))?)?;
    w.bytes_nz(2, message.as_bytes());
    let code: i64 = status
        .getattr(intern!(py, "status_code"))?
        .getattr(intern!(py, "value"))?
        .extract()?;
    w.int32_nz(3, i32::try_from(code).map_err(|_| Unhandled)?);
    w.close(open);
    fixed32(w, 16, flags);
    Ok(())
}

/// A span context's trace and span ids (fields 1 and 2 of `Span` and of `Link`).
fn ids(w: &mut Writer, context: &Bound<'_, PyAny>) -> Walk {
    let py = context.py();
    let trace_id: u128 = context.getattr(intern!(py, "trace_id"))?.extract()?;
    let span_id: u64 = context.getattr(intern!(py, "span_id"))?.extract()?;
    w.bytes(1, &trace_id.to_be_bytes());
    w.bytes(2, &span_id.to_be_bytes());
    Ok(())
}

/// W3C `tracestate` text of a `TraceState` (``k=v`` joined by commas; empty when empty).
fn trace_state(state: &Bound<'_, PyAny>) -> Walk<String> {
    let mut out = String::new();
    if state.is_none() || !state.is_truthy()? {
        return Ok(out);
    }
    for item in state
        .call_method0(intern!(state.py(), "items"))?
        .try_iter()?
    {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(text(&key)?);
        out.push('=');
        out.push_str(text(&value)?);
    }
    Ok(out)
}
