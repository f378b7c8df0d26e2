//! A measurement probe for issue #11, point 4: what reading the OpenTelemetry SDK's span
//! objects from Rust costs, before anything is built from them.
//!
//! `sdk_span_walk(spans)` reads every field the span exporter's Python collector reads
//! (`convert/from_sdk.py`: context, parent, name, kind, times, status, attributes with their
//! value types, events, links, dropped counts, resource and scope) through the same Python
//! attribute lookups, and builds nothing. `benches/bench_exporters.py` times it against the
//! exporter's `export()`: the floor of a native SDK reader. It returns what it saw (counts,
//! and a sum over ids, times and lengths) so a test can check it read everything.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};

/// What the walk saw: spans, attributes (spans' and events'), events, links, and a sum of
/// ids, times and string lengths (wrapping), so nothing is skipped as unused.
#[derive(Default)]
struct Seen {
    spans: u64,
    attributes: u64,
    events: u64,
    links: u64,
    sum: u64,
}

impl Seen {
    fn add(&mut self, value: u64) {
        self.sum = self.sum.wrapping_add(value);
    }

    fn text(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if !value.is_none() {
            let text = value.cast::<PyString>()?.to_str()?;
            self.add(text.len() as u64);
        }
        Ok(())
    }

    /// SDK attributes: a `BoundedAttributes` keeps a plain dict in `_dict` (read as the
    /// Python collector reads it, `convert/_values.py::_items`), any other mapping by `items()`.
    fn attributes(&mut self, attributes: &Bound<'_, PyAny>) -> PyResult<()> {
        if attributes.is_none() {
            return Ok(());
        }
        if let Ok(inner) = attributes.getattr("_dict") {
            if let Ok(dict) = inner.cast::<PyDict>() {
                for (key, value) in dict.iter() {
                    self.item(&key, &value)?;
                }
                return Ok(());
            }
        }
        for item in attributes.call_method0("items")?.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            self.item(&key, &value)?;
        }
        Ok(())
    }

    fn item(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.attributes += 1;
        self.text(key)?;
        self.value(value)
    }

    /// One attribute value: a scalar, or a tuple of scalars (what the SDK stores; deeper
    /// nesting is not read, so no input can recurse without bound).
    fn value(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(items) = value.cast::<PyTuple>() {
            for item in items.iter() {
                self.scalar(&item)?;
            }
            return Ok(());
        }
        self.scalar(value)
    }

    /// A scalar attribute value, typed as `convert/_values.py` types it (bool before int).
    fn scalar(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if value.is_instance_of::<PyBool>() {
            self.add(u64::from(value.extract::<bool>()?));
        } else if value.is_instance_of::<PyInt>() {
            self.add(value.extract::<i64>()? as u64);
        } else if value.is_instance_of::<PyFloat>() {
            self.add(value.extract::<f64>()?.to_bits());
        } else if value.is_instance_of::<PyString>() {
            self.text(value)?;
        }
        Ok(())
    }

    fn context(&mut self, context: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add(context.getattr("trace_id")?.extract::<u128>()? as u64);
        self.add(context.getattr("span_id")?.extract::<u64>()?);
        self.add(u64::from(context.getattr("is_remote")?.extract::<bool>()?));
        self.add(context.getattr("trace_state")?.len()? as u64);
        Ok(())
    }

    fn span(&mut self, span: &Bound<'_, PyAny>) -> PyResult<()> {
        self.spans += 1;
        self.add(span.getattr("resource")?.as_ptr() as u64); // grouped by identity
        self.add(span.getattr("instrumentation_scope")?.as_ptr() as u64);
        self.context(&span.getattr("context")?)?;
        let parent = span.getattr("parent")?;
        if !parent.is_none() {
            self.add(parent.getattr("span_id")?.extract::<u64>()?);
            self.add(u64::from(parent.getattr("is_remote")?.extract::<bool>()?));
        }
        self.text(&span.getattr("name")?)?;
        self.add(span.getattr("kind")?.getattr("value")?.extract::<u64>()?);
        self.add(span.getattr("start_time")?.extract::<u64>()?);
        self.add(span.getattr("end_time")?.extract::<u64>()?);
        let status = span.getattr("status")?;
        self.add(
            status
                .getattr("status_code")?
                .getattr("value")?
                .extract::<u64>()?,
        );
        self.text(&status.getattr("description")?)?;
        self.attributes(&span.getattr("_attributes")?)?;
        self.add(span.getattr("dropped_attributes")?.extract::<u64>()?);
        for event in span.getattr("events")?.try_iter()? {
            let event = event?;
            self.events += 1;
            self.text(&event.getattr("name")?)?;
            self.add(event.getattr("timestamp")?.extract::<u64>()?);
            self.attributes(&event.getattr("attributes")?)?;
        }
        for link in span.getattr("links")?.try_iter()? {
            let link = link?;
            self.links += 1;
            self.context(&link.getattr("context")?)?;
            self.attributes(&link.getattr("attributes")?)?;
        }
        self.add(span.getattr("dropped_events")?.extract::<u64>()?);
        self.add(span.getattr("dropped_links")?.extract::<u64>()?);
        Ok(())
    }
}

/// Walk `spans` (SDK `ReadableSpan`s); `(spans, attributes, events, links, sum)`.
#[pyfunction]
pub fn sdk_span_walk(spans: &Bound<'_, PyAny>) -> PyResult<(u64, u64, u64, u64, u64)> {
    let mut seen = Seen::default();
    for span in spans.try_iter()? {
        seen.span(&span?)?;
    }
    Ok((
        seen.spans,
        seen.attributes,
        seen.events,
        seen.links,
        seen.sum,
    ))
}
