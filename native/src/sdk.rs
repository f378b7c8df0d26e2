//! Reading the OpenTelemetry Python SDK's objects in Rust into OTLP protobuf (what
//! `sdk_spans` and `sdk_metrics` share): resources, scopes, attributes, and the rules of what
//! is read here at all.
//!
//! Only what is certain is read: exact `str`/`bool`/`int` (int64)/`float` values and flat
//! tuples or lists of them. Anything else (`None` or other value types, an int out of range,
//! a string that is not valid UTF-8, an attribute lookup that raises) makes the whole batch
//! [`Unhandled`]: the Python collector (`convert/from_sdk.py`, the specification) converts it
//! and decides, as it always has (it leaves such attributes out with a warning, or raises).
//! So both routes give the same table by construction; differential tests on generated SDK
//! objects hold them together (`tests/convert/test_sdk_native.py`).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::encode::pb::{Open, Writer, I32, VARINT};

/// This batch is for the Python collector to convert (see the module docs).
pub struct Unhandled;

impl From<PyErr> for Unhandled {
    fn from(_: PyErr) -> Self {
        Unhandled
    }
}

pub type Walk<T = ()> = Result<T, Unhandled>;

/// Items (spans, log records) in their input order under `ResourceX`/`ScopeX` messages: one
/// per run of consecutive items of the same resource and scope (by identity, as the Python
/// collector groups them), so the decoded rows keep the input order. The field numbers are
/// the same for spans and logs (request: 1; resource: 1, scopes: 2, schema URL: 3; scope: 1,
/// items: 2, schema URL: 3).
#[derive(Default)]
pub struct Runs {
    /// The open run's resource and scope, held: while they are, no other object can take
    /// their addresses, so `is` compares identities soundly even for temporaries.
    group: Option<(Py<PyAny>, Py<PyAny>)>,
    resource: Option<(Open, String)>,
    scope: Option<(Open, String)>,
}

impl Runs {
    /// Open the messages of the next item's `resource` and `scope` if they are not the open ones.
    pub fn enter(
        &mut self,
        w: &mut Writer,
        resource: &Bound<'_, PyAny>,
        scope: &Bound<'_, PyAny>,
    ) -> Walk {
        let same = |held: &Py<PyAny>, now: &Bound<'_, PyAny>| now.is(held.bind(now.py()));
        let (same_resource, same_scope) = match &self.group {
            Some((r, s)) => (same(r, resource), same(s, scope)),
            None => (false, false),
        };
        if !same_resource {
            self.close_scope(w);
            if let Some((open, schema)) = self.resource.take() {
                w.bytes_nz(3, schema.as_bytes());
                w.close(open);
            }
            let open = w.open(1, 3);
            self.resource = Some((open, self::resource(w, resource)?));
        }
        if !(same_resource && same_scope) {
            self.close_scope(w);
            let open = w.open(2, 3);
            self.scope = Some((open, self::scope(w, scope)?));
            self.group = Some((resource.clone().unbind(), scope.clone().unbind()));
        }
        Ok(())
    }

    fn close_scope(&mut self, w: &mut Writer) {
        if let Some((open, schema)) = self.scope.take() {
            w.bytes_nz(3, schema.as_bytes());
            w.close(open);
        }
    }

    /// Close what is open (after the last item).
    pub fn finish(mut self, w: &mut Writer) {
        self.close_scope(w);
        if let Some((open, schema)) = self.resource.take() {
            w.bytes_nz(3, schema.as_bytes());
            w.close(open);
        }
    }
}

/// `Resource` (field 1 of `ResourceSpans`/`ResourceMetrics`): its attributes; returns its
/// schema URL.
pub fn resource(w: &mut Writer, resource: &Bound<'_, PyAny>) -> Walk<String> {
    let py = resource.py();
    let open = w.open(1, 2);
    attributes(w, 1, &resource.getattr(intern!(py, "attributes"))?)?;
    w.close(open);
    optional_text(&resource.getattr(intern!(py, "schema_url"))?)
}

/// `InstrumentationScope` (field 1 of `ScopeSpans`/`ScopeMetrics`), written also when the SDK has none (an
/// empty one, as the encoder sends); returns its schema URL.
pub fn scope(w: &mut Writer, scope: &Bound<'_, PyAny>) -> Walk<String> {
    let py = scope.py();
    let open = w.open(1, 2);
    if scope.is_none() {
        w.close(open);
        return Ok(String::new());
    }
    w.bytes_nz(1, text(&scope.getattr(intern!(py, "name"))?)?.as_bytes());
    w.bytes_nz(
        2,
        optional_text(&scope.getattr(intern!(py, "version"))?)?.as_bytes(),
    );
    attributes(w, 3, &scope.getattr(intern!(py, "attributes"))?)?;
    w.close(open);
    optional_text(&scope.getattr(intern!(py, "schema_url"))?)
}

/// SDK attributes as `KeyValue`s in field `field`: a `BoundedAttributes` keeps a plain dict
/// in `_dict` (read as the Python collector reads it), any other mapping by `items()`.
pub fn attributes(w: &mut Writer, field: u32, attributes: &Bound<'_, PyAny>) -> Walk {
    if attributes.is_none() {
        return Ok(());
    }
    if let Ok(inner) = attributes.getattr(intern!(attributes.py(), "_dict")) {
        if let Ok(dict) = inner.cast::<PyDict>() {
            for (key, value) in dict.iter() {
                key_value(w, field, &key, &value)?;
            }
            return Ok(());
        }
    }
    for item in attributes
        .call_method0(intern!(attributes.py(), "items"))?
        .try_iter()?
    {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        key_value(w, field, &key, &value)?;
    }
    Ok(())
}

fn key_value(w: &mut Writer, field: u32, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> Walk {
    let open = w.open(field, 2);
    w.bytes_nz(1, text(key)?.as_bytes());
    let inner = w.open(2, 1);
    if value.is_exact_instance_of::<PyTuple>() || value.is_exact_instance_of::<PyList>() {
        array(w, value)?;
    } else {
        scalar(w, value)?;
    }
    w.close(inner);
    w.close(open);
    Ok(())
}

/// A flat `tuple`/`list` as the `array_value` member of an `AnyValue` (nested sequences:
/// Unhandled; the SDK stores flat ones).
pub fn array(w: &mut Writer, items: &Bound<'_, PyAny>) -> Walk {
    let open = w.open(5, 2);
    for item in items.try_iter()? {
        let slot = w.open(1, 1);
        scalar(w, &item?)?;
        w.close(slot);
    }
    w.close(open);
    Ok(())
}

/// One scalar `AnyValue` member, always written (a oneof: `false`, `0` and `""` are values).
pub fn scalar(w: &mut Writer, value: &Bound<'_, PyAny>) -> Walk {
    if value.is_exact_instance_of::<PyString>() {
        w.bytes(1, text(value)?.as_bytes());
    } else if value.is_exact_instance_of::<PyBool>() {
        w.tag(2, VARINT);
        w.varint(u64::from(value.is_truthy()?));
    } else if value.is_exact_instance_of::<PyInt>() {
        let v: i64 = value.extract()?; // beyond int64: Unhandled (the collector decides)
        w.tag(3, VARINT);
        w.varint(v as u64);
    } else if value.is_exact_instance_of::<PyFloat>() {
        w.fixed64(4, value.extract::<f64>()?.to_bits());
    } else {
        return Err(Unhandled);
    }
    Ok(())
}

pub fn fixed32(w: &mut Writer, field: u32, value: u32) {
    w.tag(field, I32);
    w.buf.extend_from_slice(&value.to_le_bytes());
}

/// An exact `str` as UTF-8 (lone surrogates: Unhandled).
pub fn text<'a>(value: &'a Bound<'_, PyAny>) -> Walk<&'a str> {
    if !value.is_exact_instance_of::<PyString>() {
        return Err(Unhandled);
    }
    Ok(value.cast::<PyString>().map_err(|_| Unhandled)?.to_str()?)
}

/// `None` as empty, else an exact `str` (owned: the object may be a temporary).
pub fn optional_text(value: &Bound<'_, PyAny>) -> Walk<String> {
    if value.is_none() {
        return Ok(String::new());
    }
    Ok(text(value)?.to_owned())
}

/// A time in ns since the epoch: `None` as 0 (as the collector has it).
pub fn time(value: &Bound<'_, PyAny>) -> Walk<u64> {
    if value.is_none() {
        return Ok(0);
    }
    Ok(value.extract()?)
}

/// A dropped count: `uint32` in OTLP.
pub fn count(value: &Bound<'_, PyAny>) -> Walk<u64> {
    let v: u32 = value.extract()?;
    Ok(u64::from(v))
}
