//! Typed views of the imported columns: each column is looked up by name and checked against
//! the layout of `otlp_arrow.schema` once per request, so that a table of the wrong shape is an
//! error naming the column, and the per-row code only indexes.

use arrow_array::types::{
    Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, DictionaryArray, FixedSizeBinaryArray, ListArray,
    MapArray, PrimitiveArray, StringArray, StructArray,
};

use crate::wire::{Error, Result};

pub type Times = PrimitiveArray<TimestampNanosecondType>;
pub type U32s = PrimitiveArray<UInt32Type>;
pub type U64s = PrimitiveArray<UInt64Type>;
pub type I32s = PrimitiveArray<Int32Type>;
pub type I64s = PrimitiveArray<Int64Type>;
pub type F64s = PrimitiveArray<Float64Type>;

#[cold]
fn wrong(name: &str, want: &str, array: &dyn Array) -> Error {
    Error::new(format!(
        "column {name:?} is {}, expected {want}",
        array.data_type()
    ))
}

/// The named child of a struct (a table's columns, or a struct column's fields).
pub fn child<'a>(parent: &'a StructArray, name: &str) -> Result<&'a ArrayRef> {
    parent
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("missing column {name:?}")))
}

/// `array` as the concrete array type `T` (`want` names it in the error).
pub fn typed<'a, T: 'static>(array: &'a ArrayRef, name: &str, want: &str) -> Result<&'a T> {
    array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| wrong(name, want, array.as_ref()))
}

pub fn field<'a, T: 'static>(parent: &'a StructArray, name: &str, want: &str) -> Result<&'a T> {
    typed(child(parent, name)?, name, want)
}

/// `value(i)` of a primitive column, None where null.
#[inline]
pub fn get<T: arrow_array::ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    i: usize,
) -> Option<T::Native> {
    if a.is_null(i) {
        None
    } else {
        Some(a.value(i))
    }
}

/// A time column's value as OTLP's `fixed64` nanoseconds (null: 0; negative: refused).
#[inline]
pub fn time(a: &Times, i: usize, name: &str) -> Result<u64> {
    match get(a, i) {
        None => Ok(0),
        Some(v) => u64::try_from(v).map_err(|_| Error::new(format!("{name}: negative time {v}"))),
    }
}

/// A dictionary-encoded string column (`dictionary<int32, string>`).
#[derive(Clone, Copy)]
pub struct Dict<'a> {
    keys: &'a I32s,
    values: &'a StringArray,
}

impl<'a> Dict<'a> {
    pub fn of(array: &'a ArrayRef, name: &str) -> Result<Dict<'a>> {
        let dict: &DictionaryArray<Int32Type> = typed(array, name, "dictionary<int32, string>")?;
        let values = typed(dict.values(), name, "dictionary<int32, string>")?;
        Ok(Dict {
            keys: dict.keys(),
            values,
        })
    }

    pub fn field(parent: &'a StructArray, name: &str) -> Result<Dict<'a>> {
        Dict::of(child(parent, name)?, name)
    }

    /// The string of row `i`, None where null.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        if self.keys.is_null(i) {
            return None;
        }
        let k = self.keys.value(i) as usize;
        if self.values.is_null(k) {
            None
        } else {
            Some(self.values.value(k))
        }
    }

    /// Do rows `a` and `b` hold the same string (or both null)?
    #[inline]
    pub fn same(&self, a: usize, b: usize) -> bool {
        if self.keys.is_valid(a)
            && self.keys.is_valid(b)
            && self.keys.value(a) == self.keys.value(b)
        {
            return true;
        }
        self.get(a) == self.get(b)
    }

    /// The string of row `i`, "" where null (what an unset proto3 string reads as).
    #[inline]
    pub fn str(&self, i: usize) -> &'a [u8] {
        self.get(i).unwrap_or("").as_bytes()
    }
}

/// A plain string column's value, "" where null.
#[inline]
pub fn string(a: &StringArray, i: usize) -> &[u8] {
    if a.is_null(i) {
        b""
    } else {
        a.value(i).as_bytes()
    }
}

/// A fixed-size binary (id) column's value, empty where null.
#[inline]
pub fn id(a: &FixedSizeBinaryArray, i: usize) -> &[u8] {
    if a.is_null(i) {
        b""
    } else {
        a.value(i)
    }
}

#[inline]
pub fn binary(a: &BinaryArray, i: usize) -> &[u8] {
    if a.is_null(i) {
        b""
    } else {
        a.value(i)
    }
}

#[inline]
pub fn boolean(a: &BooleanArray, i: usize) -> Option<bool> {
    if a.is_null(i) {
        None
    } else {
        Some(a.value(i))
    }
}

/// A list column: the child index range of row `i` (empty where null).
#[derive(Clone, Copy)]
pub struct List<'a> {
    pub list: &'a ListArray,
}

impl<'a> List<'a> {
    pub fn of(array: &'a ArrayRef, name: &str) -> Result<List<'a>> {
        Ok(List {
            list: typed(array, name, "list")?,
        })
    }

    pub fn field(parent: &'a StructArray, name: &str) -> Result<List<'a>> {
        List::of(child(parent, name)?, name)
    }

    /// The child rows of row `i`; an empty range where null.
    #[inline]
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        if self.list.is_null(i) {
            return 0..0;
        }
        let offsets = self.list.value_offsets();
        offsets[i] as usize..offsets[i + 1] as usize
    }

    pub fn is_null(&self, i: usize) -> bool {
        self.list.is_null(i)
    }

    pub fn values<T: 'static>(&self, name: &str, want: &str) -> Result<&'a T> {
        typed(self.list.values(), name, want)
    }
}

/// A map column's entries: child index range of row `i`, None where null.
#[inline]
pub fn map_range(map: &MapArray, i: usize) -> Option<std::ops::Range<usize>> {
    if map.is_null(i) {
        return None;
    }
    let offsets = map.value_offsets();
    Some(offsets[i] as usize..offsets[i + 1] as usize)
}
