//! The OpenTelemetry Python SDK's `MetricsData` read in Rust and written as a serialized
//! `ExportMetricsServiceRequest`, which the protobuf decoder then turns into the metrics
//! columns, with the GIL released: the request the official OTLP encoder would send, as the
//! Python collector (`convert/from_sdk.py::metrics_to_arrow`) converts it — gauges without a
//! start time, histograms without flags, exponential histograms' buckets only when they have
//! counts and no zero threshold, exemplar ids only when both are set. Metrics without points
//! give no rows (the collector skips them).
//!
//! What is read, and what is left to the Python collector, is said in `crate::sdk`; here
//! besides, a metric data type other than the SDK's `Gauge`, `Sum`, `Histogram` and
//! `ExponentialHistogram` (the collector warns and leaves it out), a value that is not an
//! exact `int`, `bool` or `float`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};

use crate::encode::pb::Writer;
use crate::sdk::{self, attributes, optional_text, text, time, Unhandled, Walk};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Gauge,
    Sum,
    Histogram,
    Exponential,
}

/// The request for `data` (an SDK `MetricsData`), or [`Unhandled`].
pub fn encode_metrics(data: &Bound<'_, PyAny>) -> Walk<Vec<u8>> {
    let py = data.py();
    let mut w = Writer::default();
    for resource_metrics in data.getattr(intern!(py, "resource_metrics"))?.try_iter()? {
        let resource_metrics = resource_metrics?;
        let open = w.open(1, 3);
        let resource = resource_metrics.getattr(intern!(py, "resource"))?;
        let resource_schema = sdk::resource(&mut w, &resource)?;
        for scope_metrics in resource_metrics
            .getattr(intern!(py, "scope_metrics"))?
            .try_iter()?
        {
            let scope_metrics = scope_metrics?;
            let scope_open = w.open(2, 3);
            let scope = scope_metrics.getattr(intern!(py, "scope"))?;
            let scope_schema = sdk::scope(&mut w, &scope)?;
            for metric in scope_metrics.getattr(intern!(py, "metrics"))?.try_iter()? {
                self::metric(&mut w, &metric?)?;
            }
            w.bytes_nz(3, scope_schema.as_bytes());
            w.close(scope_open);
        }
        w.bytes_nz(3, resource_schema.as_bytes());
        w.close(open);
    }
    Ok(w.buf)
}

fn kind_of(data: &Bound<'_, PyAny>) -> Walk<Kind> {
    let kind = data.get_type();
    let module = kind.module()?;
    if !module.to_str()?.starts_with("opentelemetry.sdk.metrics") {
        return Err(Unhandled);
    }
    Ok(match kind.name()?.to_str()? {
        "Gauge" => Kind::Gauge,
        "Sum" => Kind::Sum,
        "Histogram" => Kind::Histogram,
        "ExponentialHistogram" => Kind::Exponential,
        _ => return Err(Unhandled),
    })
}

fn metric(w: &mut Writer, metric: &Bound<'_, PyAny>) -> Walk {
    let py = metric.py();
    let data = metric.getattr(intern!(py, "data"))?;
    let kind = kind_of(&data)?;
    let points = data.getattr(intern!(py, "data_points"))?;
    if !points.is_truthy()? {
        return Ok(()); // no rows: the collector skips such a metric
    }
    let open = w.open(2, 3);
    w.bytes_nz(1, text(&metric.getattr(intern!(py, "name"))?)?.as_bytes());
    let description = optional_text(&metric.getattr(intern!(py, "description"))?)?;
    w.bytes_nz(2, description.as_bytes());
    w.bytes_nz(
        3,
        optional_text(&metric.getattr(intern!(py, "unit"))?)?.as_bytes(),
    );
    let field = match kind {
        Kind::Gauge => 5,
        Kind::Sum => 7,
        Kind::Histogram => 9,
        Kind::Exponential => 10,
    };
    let data_open = w.open(field, 3);
    for point in points.try_iter()? {
        let point = point?;
        let point_open = w.open(1, 2);
        match kind {
            Kind::Gauge | Kind::Sum => number(w, &point, kind)?,
            Kind::Histogram => histogram(w, &point)?,
            Kind::Exponential => exponential(w, &point)?,
        }
        w.close(point_open);
    }
    if kind != Kind::Gauge {
        let temporality: i32 = data
            .getattr(intern!(py, "aggregation_temporality"))?
            .getattr(intern!(py, "value"))?
            .extract()?;
        w.int32_nz(2, temporality);
    }
    if kind == Kind::Sum {
        let monotonic = data.getattr(intern!(py, "is_monotonic"))?.is_truthy()?;
        w.uint_nz(3, u64::from(monotonic));
    }
    w.close(data_open);
    w.close(open);
    Ok(())
}

/// `NumberDataPoint`: a gauge's (no start time) or a sum's.
fn number(w: &mut Writer, point: &Bound<'_, PyAny>, kind: Kind) -> Walk {
    let py = point.py();
    if kind == Kind::Sum {
        w.fixed64_nz(
            2,
            time(&point.getattr(intern!(py, "start_time_unix_nano"))?)?,
        );
    }
    w.fixed64_nz(3, time(&point.getattr(intern!(py, "time_unix_nano"))?)?);
    number_value(w, &point.getattr(intern!(py, "value"))?, 4, 6)?;
    exemplars(w, 5, &point.getattr(intern!(py, "exemplars"))?)?;
    attributes(w, 7, &point.getattr(intern!(py, "attributes"))?)
}

/// An `int` (a `bool` is one) as `sfixed64` field `int_field`, a `float` as `double` field
/// `double_field`, always written (a oneof).
fn number_value(
    w: &mut Writer,
    value: &Bound<'_, PyAny>,
    double_field: u32,
    int_field: u32,
) -> Walk {
    if value.is_exact_instance_of::<PyFloat>() {
        w.fixed64(double_field, value.extract::<f64>()?.to_bits());
    } else if value.is_exact_instance_of::<PyInt>() || value.is_exact_instance_of::<PyBool>() {
        let v: i64 = value.extract()?;
        w.fixed64(int_field, v as u64);
    } else {
        return Err(Unhandled);
    }
    Ok(())
}

fn histogram(w: &mut Writer, point: &Bound<'_, PyAny>) -> Walk {
    let py = point.py();
    w.fixed64_nz(
        2,
        time(&point.getattr(intern!(py, "start_time_unix_nano"))?)?,
    );
    w.fixed64_nz(3, time(&point.getattr(intern!(py, "time_unix_nano"))?)?);
    w.fixed64_nz(4, point.getattr(intern!(py, "count"))?.extract()?);
    double(w, 5, &point.getattr(intern!(py, "sum"))?)?;
    let counts = point.getattr(intern!(py, "bucket_counts"))?;
    packed(w, 6, &counts, |w, v| {
        w.buf.extend_from_slice(&v.extract::<u64>()?.to_le_bytes());
        Ok(())
    })?;
    let bounds = point.getattr(intern!(py, "explicit_bounds"))?;
    packed(w, 7, &bounds, |w, v| {
        w.buf.extend_from_slice(&v.extract::<f64>()?.to_le_bytes());
        Ok(())
    })?;
    exemplars(w, 8, &point.getattr(intern!(py, "exemplars"))?)?;
    attributes(w, 9, &point.getattr(intern!(py, "attributes"))?)?;
    double(w, 11, &point.getattr(intern!(py, "min"))?)?;
    double(w, 12, &point.getattr(intern!(py, "max"))?)
}

fn exponential(w: &mut Writer, point: &Bound<'_, PyAny>) -> Walk {
    let py = point.py();
    attributes(w, 1, &point.getattr(intern!(py, "attributes"))?)?;
    w.fixed64_nz(
        2,
        time(&point.getattr(intern!(py, "start_time_unix_nano"))?)?,
    );
    w.fixed64_nz(3, time(&point.getattr(intern!(py, "time_unix_nano"))?)?);
    w.fixed64_nz(4, point.getattr(intern!(py, "count"))?.extract()?);
    double(w, 5, &point.getattr(intern!(py, "sum"))?)?;
    let scale: i32 = point.getattr(intern!(py, "scale"))?.extract()?;
    w.uint_nz(6, zigzag(scale));
    w.fixed64_nz(7, point.getattr(intern!(py, "zero_count"))?.extract()?);
    for (field, side) in [(8, intern!(py, "positive")), (9, intern!(py, "negative"))] {
        let buckets = point.getattr(side)?;
        let counts = buckets.getattr(intern!(py, "bucket_counts"))?;
        if counts.is_truthy()? {
            let open = w.open(field, 2);
            let offset: i32 = buckets.getattr(intern!(py, "offset"))?.extract()?;
            w.uint_nz(1, zigzag(offset));
            packed(w, 2, &counts, |w, v| {
                w.varint(v.extract::<u64>()?);
                Ok(())
            })?;
            w.close(open);
        }
    }
    let flags: u32 = point.getattr(intern!(py, "flags"))?.extract()?;
    w.uint_nz(10, u64::from(flags));
    exemplars(w, 11, &point.getattr(intern!(py, "exemplars"))?)?;
    double(w, 12, &point.getattr(intern!(py, "min"))?)?;
    double(w, 13, &point.getattr(intern!(py, "max"))?)
}

/// SDK exemplars: ids only when both are set, the value by its type.
fn exemplars(w: &mut Writer, field: u32, exemplars: &Bound<'_, PyAny>) -> Walk {
    let py = exemplars.py();
    for exemplar in exemplars.try_iter()? {
        let exemplar = exemplar?;
        let open = w.open(field, 2);
        w.fixed64_nz(2, time(&exemplar.getattr(intern!(py, "time_unix_nano"))?)?);
        number_value(w, &exemplar.getattr(intern!(py, "value"))?, 3, 6)?;
        let span_id = exemplar.getattr(intern!(py, "span_id"))?;
        let trace_id = exemplar.getattr(intern!(py, "trace_id"))?;
        if !span_id.is_none() && !trace_id.is_none() {
            w.bytes(4, &span_id.extract::<u64>()?.to_be_bytes());
            w.bytes(5, &trace_id.extract::<u128>()?.to_be_bytes());
        }
        attributes(w, 7, &exemplar.getattr(intern!(py, "filtered_attributes"))?)?;
        w.close(open);
    }
    Ok(())
}

/// An `optional double` field (always written: presence), from what `float()` takes.
fn double(w: &mut Writer, field: u32, value: &Bound<'_, PyAny>) -> Walk {
    if !(value.is_exact_instance_of::<PyFloat>() || value.is_exact_instance_of::<PyInt>()) {
        return Err(Unhandled);
    }
    w.fixed64(field, value.extract::<f64>()?.to_bits());
    Ok(())
}

/// A packed repeated field of `values`, each written by `one` (nothing when empty).
fn packed(
    w: &mut Writer,
    field: u32,
    values: &Bound<'_, PyAny>,
    mut one: impl FnMut(&mut Writer, &Bound<'_, PyAny>) -> Walk,
) -> Walk {
    if !values.is_truthy()? {
        return Ok(());
    }
    let open = w.open(field, 2);
    for value in values.try_iter()? {
        one(w, &value?)?;
    }
    w.close(open);
    Ok(())
}

fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}
