//! Stored attributes (`map<dictionary<string>, ANY_VALUE>`) and AnyValue structs as protobuf
//! `KeyValue` / `AnyValue` messages, as `otlp_arrow.convert._pylists.kvs` and
//! `anyvalue_json.stored_value` build them: a null map item is a KeyValue without value, an
//! item with no field set an empty AnyValue, and otherwise the first field set is the value
//! (arrays and kvlists re-encoded from their OTLP/JSON text).

use arrow_array::{Array, ArrayRef, BinaryArray, BooleanArray, MapArray, StringArray, StructArray};

use super::cols::{typed, Dict, F64s, I64s};
use super::json;
use super::pb::{Writer, LEN, VARINT};
use crate::wire::{Error, Result};

/// The fields of an `ANY_VALUE` struct column.
#[derive(Clone, Copy)]
pub struct AnyValues<'a> {
    all: &'a StructArray,
    string: &'a StringArray,
    boolean: &'a BooleanArray,
    int: &'a I64s,
    double: &'a F64s,
    bytes: &'a BinaryArray,
    array: &'a StringArray,
    kvlist: &'a StringArray,
}

impl<'a> AnyValues<'a> {
    pub fn of(array: &'a ArrayRef, name: &str) -> Result<AnyValues<'a>> {
        let all: &StructArray = typed(array, name, "struct (ANY_VALUE)")?;
        let f = |field: &str| {
            all.column_by_name(field)
                .ok_or_else(|| Error::new(format!("{name}: missing field {field:?}")))
        };
        let at = |field: &str| format!("{name}.{field}");
        Ok(AnyValues {
            all,
            string: typed(f("string_value")?, &at("string_value"), "string")?,
            boolean: typed(f("bool_value")?, &at("bool_value"), "bool")?,
            int: typed(f("int_value")?, &at("int_value"), "int64")?,
            double: typed(f("double_value")?, &at("double_value"), "double")?,
            bytes: typed(f("bytes_value")?, &at("bytes_value"), "binary")?,
            array: typed(f("array_value")?, &at("array_value"), "string")?,
            kvlist: typed(f("kvlist_value")?, &at("kvlist_value"), "string")?,
        })
    }

    /// Is the struct itself null at `i` (a KeyValue without value, a log without body)?
    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        self.all.is_null(i)
    }

    /// Are the values at `a` and `b` the same (field by field; doubles by their bits)?
    #[inline]
    pub fn same(&self, a: usize, b: usize) -> bool {
        fn eq<T: PartialEq>(x: Option<T>, y: Option<T>) -> bool {
            x == y
        }
        let opt = |arr: &dyn Array, i: usize| arr.is_valid(i);
        self.all.is_valid(a) == self.all.is_valid(b)
            && eq(
                opt(self.string, a).then(|| self.string.value(a)),
                opt(self.string, b).then(|| self.string.value(b)),
            )
            && eq(
                opt(self.boolean, a).then(|| self.boolean.value(a)),
                opt(self.boolean, b).then(|| self.boolean.value(b)),
            )
            && eq(
                opt(self.int, a).then(|| self.int.value(a)),
                opt(self.int, b).then(|| self.int.value(b)),
            )
            && eq(
                opt(self.double, a).then(|| self.double.value(a).to_bits()),
                opt(self.double, b).then(|| self.double.value(b).to_bits()),
            )
            && eq(
                opt(self.bytes, a).then(|| self.bytes.value(a)),
                opt(self.bytes, b).then(|| self.bytes.value(b)),
            )
            && eq(
                opt(self.array, a).then(|| self.array.value(a)),
                opt(self.array, b).then(|| self.array.value(b)),
            )
            && eq(
                opt(self.kvlist, a).then(|| self.kvlist.value(a)),
                opt(self.kvlist, b).then(|| self.kvlist.value(b)),
            )
    }

    /// Write the fields of the AnyValue at `i` (the message's content, not its length).
    #[inline]
    pub fn write(&self, w: &mut Writer, i: usize) -> Result<()> {
        if self.string.is_valid(i) {
            w.bytes(1, self.string.value(i).as_bytes());
        } else if self.boolean.is_valid(i) {
            w.tag(2, VARINT);
            w.varint(u64::from(self.boolean.value(i)));
        } else if self.int.is_valid(i) {
            w.tag(3, VARINT);
            w.varint(self.int.value(i) as u64);
        } else if self.double.is_valid(i) {
            w.fixed64(4, self.double.value(i).to_bits());
        } else if self.bytes.is_valid(i) {
            w.bytes(7, self.bytes.value(i));
        } else if self.array.is_valid(i) {
            let open = w.open(5, 2);
            json::array_value(w, self.array.value(i)).map_err(|e| e.at("array_value"))?;
            w.close(open);
        } else if self.kvlist.is_valid(i) {
            let open = w.open(6, 2);
            json::kvlist_value(w, self.kvlist.value(i)).map_err(|e| e.at("kvlist_value"))?;
            w.close(open);
        }
        Ok(())
    }
}

/// An attribute map column.
#[derive(Clone, Copy)]
pub struct Attrs<'a> {
    map: &'a MapArray,
    keys: Dict<'a>,
    values: AnyValues<'a>,
}

impl<'a> Attrs<'a> {
    pub fn of(array: &'a ArrayRef, name: &str) -> Result<Attrs<'a>> {
        let map: &MapArray = typed(array, name, "map<dictionary<string>, ANY_VALUE>")?;
        Ok(Attrs {
            map,
            keys: Dict::of(map.keys(), name)?,
            values: AnyValues::of(map.values(), name)?,
        })
    }

    pub fn field(parent: &'a StructArray, name: &str) -> Result<Attrs<'a>> {
        Attrs::of(super::cols::child(parent, name)?, name)
    }

    #[inline]
    pub fn is_null(&self, row: usize) -> bool {
        self.map.is_null(row)
    }

    /// Are the attributes of rows `a` and `b` the same (keys and values, in order)?
    pub fn same(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (
            super::cols::map_range(self.map, a),
            super::cols::map_range(self.map, b),
        );
        match (ra, rb) {
            (None, None) => true,
            (Some(ra), Some(rb)) if ra.len() == rb.len() => ra
                .zip(rb)
                .all(|(x, y)| self.keys.get(x) == self.keys.get(y) && self.values.same(x, y)),
            _ => false,
        }
    }

    /// Write row `row`'s attributes as repeated KeyValue field `field` (nothing where null).
    #[inline]
    pub fn write(&self, w: &mut Writer, field: u32, row: usize, name: &str) -> Result<()> {
        let Some(range) = super::cols::map_range(self.map, row) else {
            return Ok(());
        };
        for j in range {
            let open = w.open(field, 1);
            w.bytes_nz(1, self.keys.str(j));
            if !self.values.is_null(j) {
                let value = w.open(2, 1);
                self.values
                    .write(w, j)
                    .map_err(|e| e.at(format_args!("{name}[{row}]")))?;
                w.close(value);
            }
            w.close(open);
        }
        Ok(())
    }
}

/// Write `value` (already encoded message content) as field `field`.
#[inline]
pub fn message(w: &mut Writer, field: u32, content: &[u8]) {
    w.tag(field, LEN);
    w.varint(content.len() as u64);
    w.buf.extend_from_slice(content);
}
