//! `AnyValue` / `KeyValue` messages: merged as protobuf merges them, and arrays and kvlists
//! rendered as their OTLP/JSON text (what `otlp_arrow.convert._values.any_value_json` gives).

use std::fmt::Write;

use crate::json;
use crate::wire::{check_depth, Reader, Result, I64, LEN, VARINT};

/// The `value` oneof of an `AnyValue` (the last member on the wire wins; a message member
/// appearing again while set is merged: its items are appended).
#[derive(Debug, Clone, PartialEq)]
pub enum Any<'a> {
    Empty,
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
    /// The comma-separated OTLP/JSON items of the `ArrayValue` so far.
    Array(String),
    /// The comma-separated OTLP/JSON items of the `KeyValueList` so far.
    Kvlist(String),
    /// `string_value_strindex` (profiles only).
    Strindex(i32),
}

/// Merge one serialized `AnyValue` (at nesting `depth`) into `value`.
#[inline]
pub fn merge_any<'a>(value: &mut Any<'a>, buf: &'a [u8], depth: u32) -> Result<()> {
    check_depth(depth)?;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        match (field, wire_type) {
            (1, LEN) => *value = Any::Str(r.string().map_err(|e| e.at("string_value"))?),
            (2, VARINT) => *value = Any::Bool(r.varint()? != 0),
            (3, VARINT) => *value = Any::Int(r.varint()? as i64),
            (4, I64) => *value = Any::Double(f64::from_bits(r.fixed64()?)),
            (5, LEN) => {
                let bytes = r.bytes()?;
                if !matches!(value, Any::Array(_)) {
                    *value = Any::Array(String::with_capacity(bytes.len() * 2));
                }
                if let Any::Array(items) = value {
                    array_items(items, bytes, depth + 1).map_err(|e| e.at("array_value"))?;
                }
            }
            (6, LEN) => {
                let bytes = r.bytes()?;
                if !matches!(value, Any::Kvlist(_)) {
                    *value = Any::Kvlist(String::with_capacity(bytes.len() * 2));
                }
                if let Any::Kvlist(items) = value {
                    kvlist_items(items, bytes, depth + 1).map_err(|e| e.at("kvlist_value"))?;
                }
            }
            (7, LEN) => *value = Any::Bytes(r.bytes()?),
            (8, VARINT) => *value = Any::Strindex(r.varint()? as i32),
            _ => r.skip(field, wire_type, depth)?,
        }
    }
    Ok(())
}

#[inline]
fn comma(items: &mut String) {
    if !items.is_empty() {
        items.push(',');
    }
}

/// Append the items of one serialized `ArrayValue` (at `depth`).
fn array_items(items: &mut String, buf: &[u8], depth: u32) -> Result<()> {
    check_depth(depth)?;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        if (field, wire_type) == (1, LEN) {
            let bytes = r.bytes()?;
            let mut element = Any::Empty;
            merge_any(&mut element, bytes, depth + 1).map_err(|e| e.at("values"))?;
            comma(items);
            push_any_json(items, &element);
        } else {
            r.skip(field, wire_type, depth)?;
        }
    }
    Ok(())
}

/// Append the items of one serialized `KeyValueList` (at `depth`).
fn kvlist_items(items: &mut String, buf: &[u8], depth: u32) -> Result<()> {
    check_depth(depth)?;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        if (field, wire_type) == (1, LEN) {
            let bytes = r.bytes()?;
            let kv = parse_kv(bytes, depth + 1).map_err(|e| e.at("values"))?;
            comma(items);
            items.push('{');
            let mut first = true;
            let mut sep = |items: &mut String| {
                if !first {
                    items.push(',');
                }
                first = false;
            };
            if !kv.key.is_empty() {
                sep(items);
                items.push_str("\"key\":");
                json::push_str(items, kv.key);
            }
            if let Some(value) = &kv.value {
                sep(items);
                items.push_str("\"value\":");
                push_any_json(items, value);
            }
            if kv.key_strindex != 0 {
                sep(items);
                let _ = write!(items, "\"keyStrindex\":{}", kv.key_strindex);
            }
            items.push('}');
        } else {
            r.skip(field, wire_type, depth)?;
        }
    }
    Ok(())
}

/// A parsed `KeyValue`: the last key wins; the value (if present at all) merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Kv<'a> {
    pub key: &'a str,
    pub value: Option<Any<'a>>,
    pub key_strindex: i32,
}

/// Parse one serialized `KeyValue` at `depth`.
#[inline]
pub fn parse_kv(buf: &[u8], depth: u32) -> Result<Kv<'_>> {
    check_depth(depth)?;
    let mut kv = Kv {
        key: "",
        value: None,
        key_strindex: 0,
    };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        match (field, wire_type) {
            (1, LEN) => kv.key = r.string().map_err(|e| e.at("key"))?,
            (2, LEN) => {
                let bytes = r.bytes()?;
                let value = kv.value.get_or_insert(Any::Empty);
                merge_any(value, bytes, depth + 1).map_err(|e| e.at("value"))?;
            }
            (3, VARINT) => kv.key_strindex = r.varint()? as i32,
            _ => r.skip(field, wire_type, depth)?,
        }
    }
    Ok(kv)
}

/// Append the OTLP/JSON object of an `AnyValue` (`_any_obj` in `_values.py`).
pub fn push_any_json(out: &mut String, value: &Any<'_>) {
    match value {
        Any::Empty => out.push_str("{}"),
        Any::Str(s) => {
            out.push_str("{\"stringValue\":");
            json::push_str(out, s);
            out.push('}');
        }
        Any::Bool(b) => out.push_str(if *b {
            "{\"boolValue\":true}"
        } else {
            "{\"boolValue\":false}"
        }),
        Any::Int(i) => {
            let _ = write!(out, "{{\"intValue\":\"{i}\"}}");
        }
        Any::Double(d) => {
            out.push_str("{\"doubleValue\":");
            if d.is_nan() {
                out.push_str("\"NaN\"");
            } else if d.is_infinite() {
                out.push_str(if *d > 0.0 {
                    "\"Infinity\""
                } else {
                    "\"-Infinity\""
                });
            } else {
                json::push_f64(out, *d);
            }
            out.push('}');
        }
        Any::Bytes(b) => {
            out.push_str("{\"bytesValue\":\"");
            json::push_base64(out, b);
            out.push_str("\"}");
        }
        Any::Array(items) => {
            out.push_str("{\"arrayValue\":");
            push_values(out, items);
            out.push('}');
        }
        Any::Kvlist(items) => {
            out.push_str("{\"kvlistValue\":");
            push_values(out, items);
            out.push('}');
        }
        Any::Strindex(i) => {
            let _ = write!(out, "{{\"stringValueStrindex\":{i}}}");
        }
    }
}

/// `{"values":[items]}`, or `{}` without items (`_values_obj`).
pub fn push_values(out: &mut String, items: &str) {
    if items.is_empty() {
        out.push_str("{}");
    } else {
        out.push_str("{\"values\":[");
        out.push_str(items);
        out.push_str("]}");
    }
}

/// The OTLP/JSON text stored for an array or kvlist value.
pub fn values_text(items: &str) -> String {
    let mut out = String::with_capacity(items.len() + 13);
    push_values(&mut out, items);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(buf: &[u8]) -> Any<'_> {
        let mut value = Any::Empty;
        merge_any(&mut value, buf, 0).unwrap();
        value
    }

    #[test]
    fn oneof_last_wins_and_arrays_merge() {
        // string_value "a", then int_value 5
        assert_eq!(any(&[0x0a, 0x01, b'a', 0x18, 0x05]), Any::Int(5));
        // array_value [int 1], array_value [bool true]: merged
        let buf = [
            0x2a, 0x04, 0x0a, 0x02, 0x18, 0x01, 0x2a, 0x04, 0x0a, 0x02, 0x10, 0x01,
        ];
        let mut out = String::new();
        push_any_json(&mut out, &any(&buf));
        assert_eq!(
            out,
            "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"boolValue\":true}]}}"
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let mut value = Any::Empty;
        assert!(merge_any(&mut value, &[0x0a, 0x01, 0xff], 0).is_err());
    }
}
