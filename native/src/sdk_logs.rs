//! The OpenTelemetry Python SDK's `ReadableLogRecord`s read in Rust and written as a serialized
//! `ExportLogsServiceRequest`, which the protobuf decoder then turns into the logs columns,
//! with the GIL released: the request the official OTLP encoder would send, as the Python
//! collector (`convert/from_sdk.py::logs_to_arrow`) converts it — `None` times as 0, no
//! severity as 0, ids only when set. Consecutive records of one resource and scope share one
//! `ResourceLogs`/`ScopeLogs` ([`Runs`]), so the rows keep the input order.
//!
//! What is read, and what is left to the Python collector, is said in `crate::sdk`; here
//! besides, a body that is not `None`, a scalar or a flat sequence of scalars (bytes, a
//! mapping: the collector encodes those).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::encode::pb::Writer;
use crate::sdk::{self, attributes, count, optional_text, time, Runs, Walk};

/// The request for `records` (an iterable of SDK `ReadableLogRecord`s), or [`Unhandled`].
pub fn encode_logs(records: &Bound<'_, PyAny>) -> Walk<Vec<u8>> {
    let py = records.py();
    let mut w = Writer::default();
    let mut runs = Runs::default();
    for readable in records.try_iter()? {
        let readable = readable?;
        let resource = readable.getattr(intern!(py, "resource"))?;
        let scope = readable.getattr(intern!(py, "instrumentation_scope"))?;
        runs.enter(&mut w, &resource, &scope)?;
        let open = w.open(2, 2);
        record(&mut w, &readable)?;
        w.close(open);
    }
    runs.finish(&mut w);
    Ok(w.buf)
}

/// One `LogRecord` (the message opened by the caller).
fn record(w: &mut Writer, readable: &Bound<'_, PyAny>) -> Walk {
    let py = readable.py();
    let record = readable.getattr(intern!(py, "log_record"))?;
    w.fixed64_nz(1, time(&record.getattr(intern!(py, "timestamp"))?)?);
    let severity = record.getattr(intern!(py, "severity_number"))?;
    if !severity.is_none() {
        let number: i32 = severity.getattr(intern!(py, "value"))?.extract()?;
        w.int32_nz(2, number);
    }
    let text = optional_text(&record.getattr(intern!(py, "severity_text"))?)?;
    w.bytes_nz(3, text.as_bytes());
    body(w, &record.getattr(intern!(py, "body"))?)?;
    attributes(w, 6, &record.getattr(intern!(py, "attributes"))?)?;
    w.uint_nz(
        7,
        count(&readable.getattr(intern!(py, "dropped_attributes"))?)?,
    );
    let flags = record.getattr(intern!(py, "trace_flags"))?;
    if !flags.is_none() {
        let flags: u32 = flags.extract()?;
        if flags != 0 {
            sdk::fixed32(w, 8, flags);
        }
    }
    let trace_id = record.getattr(intern!(py, "trace_id"))?;
    if !trace_id.is_none() && trace_id.is_truthy()? {
        w.bytes(9, &trace_id.extract::<u128>()?.to_be_bytes());
    }
    let span_id = record.getattr(intern!(py, "span_id"))?;
    if !span_id.is_none() && span_id.is_truthy()? {
        w.bytes(10, &span_id.extract::<u64>()?.to_be_bytes());
    }
    w.fixed64_nz(
        11,
        time(&record.getattr(intern!(py, "observed_timestamp"))?)?,
    );
    let event = optional_text(&record.getattr(intern!(py, "event_name"))?)?;
    w.bytes_nz(12, event.as_bytes());
    Ok(())
}

/// The body (field 5): `None` (an empty `AnyValue`), a scalar or a flat sequence of scalars;
/// anything else is Unhandled.
fn body(w: &mut Writer, body: &Bound<'_, PyAny>) -> Walk {
    let open = w.open(5, 2);
    if body.is_none() {
        // an empty AnyValue, as the collector stores `None` (not an absent body)
    } else if body.is_exact_instance_of::<PyTuple>() || body.is_exact_instance_of::<PyList>() {
        sdk::array(w, body)?;
    } else {
        sdk::scalar(w, body)?;
    }
    w.close(open);
    Ok(())
}
