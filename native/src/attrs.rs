//! `ANY_VALUE` struct columns and `ATTRIBUTES` map columns (`map<dictionary<string>,
//! ANY_VALUE>`), as `otlp_arrow.convert._values.AnyValues` / `Attributes` build them.

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, NullBufferBuilder};
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::anyvalue::{parse_kv, Any, Kv};
use crate::columns::{build, map_of, offset, struct_of_len, DictStrings};
use crate::wire::Result;

const MISSING: i8 = -2; // the message field is absent: a null struct
const EMPTY: i8 = -1; // an AnyValue with no member set
const STRING: i8 = 0;
const BOOL: i8 = 1;
const INT: i8 = 2;
const DOUBLE: i8 = 3;
const BYTES: i8 = 4;
const ARRAY: i8 = 5;
const KVLIST: i8 = 6;
const STRINDEX: i8 = 7;

/// The values of one variable-width child, only where that child is set.
#[derive(Default)]
struct Var {
    ends: Vec<i32>,
    data: Vec<u8>,
}

impl Var {
    #[inline]
    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.data.extend_from_slice(bytes);
        self.ends.push(offset(self.data.len())?);
        Ok(())
    }
}

/// An `ANY_VALUE` column: one slot per value, sparse children scattered at the end.
#[derive(Default)]
pub struct AnyValues {
    kinds: Vec<i8>,
    strings: Var,
    bools: Vec<bool>,
    ints: Vec<i64>,
    doubles: Vec<f64>,
    bytes: Var,
    arrays: Var,
    kvlists: Var,
    /// A `string_value_strindex` was set somewhere (refused for the whole request).
    pub strindex: bool,
}

impl AnyValues {
    /// Add one slot: an `AnyValue`, or `None` where the message field is absent.
    #[inline]
    pub fn push(&mut self, value: Option<&Any<'_>>) -> Result<()> {
        let kind = match value {
            None => MISSING,
            Some(Any::Empty) => EMPTY,
            Some(Any::Str(s)) => {
                self.strings.push(s.as_bytes())?;
                STRING
            }
            Some(Any::Bool(b)) => {
                self.bools.push(*b);
                BOOL
            }
            Some(Any::Int(i)) => {
                self.ints.push(*i);
                INT
            }
            Some(Any::Double(d)) => {
                self.doubles.push(*d);
                DOUBLE
            }
            Some(Any::Bytes(b)) => {
                self.bytes.push(b)?;
                BYTES
            }
            Some(Any::Array(items)) => {
                push_text(&mut self.arrays, items)?;
                ARRAY
            }
            Some(Any::Kvlist(items)) => {
                push_text(&mut self.kvlists, items)?;
                KVLIST
            }
            Some(Any::Strindex(_)) => {
                self.strindex = true;
                STRINDEX
            }
        };
        self.kinds.push(kind);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn finish(self) -> Result<ArrayData> {
        let n = self.kinds.len();
        let kinds = &self.kinds;
        let children = vec![
            var_child(kinds, STRING, self.strings, DataType::Utf8)?,
            fixed_child(kinds, BOOL, self.bools)?,
            fixed_child(kinds, INT, self.ints)?,
            fixed_child(kinds, DOUBLE, self.doubles)?,
            var_child(kinds, BYTES, self.bytes, DataType::Binary)?,
            var_child(kinds, ARRAY, self.arrays, DataType::Utf8)?,
            var_child(kinds, KVLIST, self.kvlists, DataType::Utf8)?,
        ];
        let nulls = if kinds.contains(&MISSING) {
            Some(NullBuffer::from_iter(kinds.iter().map(|&k| k != MISSING)))
        } else {
            None
        };
        struct_of_len(children, nulls, n)
    }
}

/// `{"values":[items]}` (or `{}`) written straight into the column (`push_values`).
fn push_text(var: &mut Var, items: &str) -> Result<()> {
    if items.is_empty() {
        return var.push(b"{}");
    }
    var.data.extend_from_slice(b"{\"values\":[");
    var.data.extend_from_slice(items.as_bytes());
    var.push(b"]}")
}

/// The validity of one child: set where the slot's kind is `code` (eight slots a byte).
fn validity(kinds: &[i8], code: i8) -> Option<NullBuffer> {
    let mut bits = Vec::with_capacity(kinds.len().div_ceil(8));
    for chunk in kinds.chunks(8) {
        let mut byte = 0u8;
        for (i, &k) in chunk.iter().enumerate() {
            byte |= u8::from(k == code) << i;
        }
        bits.push(byte);
    }
    let bits = BooleanBuffer::new(Buffer::from_vec(bits), 0, kinds.len());
    Some(NullBuffer::new(bits))
}

fn var_child(kinds: &[i8], code: i8, var: Var, data_type: DataType) -> Result<ArrayData> {
    let n = kinds.len();
    if var.ends.is_empty() {
        return Ok(ArrayData::new_null(&data_type, n));
    }
    let (offsets, nulls) = if var.ends.len() == n {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        offsets.extend_from_slice(&var.ends);
        (offsets, None)
    } else {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut last = 0;
        let mut next = var.ends.iter();
        for &k in kinds {
            if k == code {
                last = *next.next().unwrap_or(&last);
            }
            offsets.push(last);
        }
        (offsets, validity(kinds, code))
    };
    build(
        ArrayData::builder(data_type)
            .len(n)
            .add_buffer(Buffer::from_vec(offsets))
            .add_buffer(Buffer::from_vec(var.data))
            .nulls(nulls),
    )
}

trait Child: Copy + Default {
    fn data(values: Vec<Self>) -> (DataType, Buffer);
}

impl Child for bool {
    fn data(values: Vec<bool>) -> (DataType, Buffer) {
        (DataType::Boolean, Buffer::from_iter(values))
    }
}

impl Child for i64 {
    fn data(values: Vec<i64>) -> (DataType, Buffer) {
        (DataType::Int64, Buffer::from_vec(values))
    }
}

impl Child for f64 {
    fn data(values: Vec<f64>) -> (DataType, Buffer) {
        (DataType::Float64, Buffer::from_vec(values))
    }
}

fn fixed_child<T: Child>(kinds: &[i8], code: i8, values: Vec<T>) -> Result<ArrayData> {
    let n = kinds.len();
    let (values, nulls) = if values.len() == n {
        (values, None)
    } else if values.is_empty() {
        (vec![T::default(); n], Some(NullBuffer::new_null(n)))
    } else {
        let mut dense = Vec::with_capacity(n);
        let mut next = values.iter();
        for &k in kinds {
            dense.push(if k == code {
                next.next().copied().unwrap_or_default()
            } else {
                T::default()
            });
        }
        (dense, validity(kinds, code))
    };
    let (data_type, buffer) = T::data(values);
    build(
        ArrayData::builder(data_type)
            .len(n)
            .add_buffer(buffer)
            .nulls(nulls),
    )
}

/// An `ATTRIBUTES` column, row by row.
pub struct Attributes<'a> {
    keys: DictStrings<'a>,
    values: AnyValues,
    offsets: Vec<i32>,
    nulls: Option<NullBufferBuilder>,
    /// The key index at each position of the latest row (rows tend to repeat their keys).
    guesses: Vec<i32>,
    /// A `KeyValue` with an empty key and `key_strindex` set (refused for the whole request).
    pub key_strindex: bool,
}

impl Default for Attributes<'_> {
    fn default() -> Self {
        Attributes {
            keys: DictStrings::default(),
            values: AnyValues::default(),
            offsets: vec![0],
            nulls: None,
            guesses: Vec::new(),
            key_strindex: false,
        }
    }
}

impl<'a> Attributes<'a> {
    /// Room for about `entries` attributes in `rows` rows (saves regrowing the vectors).
    pub fn reserve(&mut self, rows: usize, entries: usize) {
        self.offsets.reserve(rows);
        self.keys.indices.reserve(entries);
        self.values.kinds.reserve(entries);
        self.values.strings.ends.reserve(entries);
        self.values.strings.data.reserve(entries * 8);
        self.values.ints.reserve(entries / 2);
    }

    /// Parse one serialized `KeyValue` (at `depth`) into the current row.
    #[inline]
    pub fn push_wire(&mut self, buf: &'a [u8], depth: u32) -> Result<()> {
        let kv = parse_kv(buf, depth)?;
        self.push_kv(&kv)
    }

    #[inline]
    pub fn push_kv(&mut self, kv: &Kv<'a>) -> Result<()> {
        if kv.key.is_empty() && kv.key_strindex != 0 {
            self.key_strindex = true;
        }
        let position = self.keys.len() - self.offsets[self.offsets.len() - 1] as usize;
        let index = self
            .keys
            .push_guess(kv.key, self.guesses.get(position).copied())?;
        match self.guesses.get_mut(position) {
            Some(slot) => *slot = index,
            None => self.guesses.push(index),
        }
        self.values.push(kv.value.as_ref())
    }

    /// Add `key` to the key dictionary without an entry (to order the dictionary); its index.
    pub fn intern_key(&mut self, key: &'a str) -> Result<i32> {
        self.keys.intern(key)
    }

    /// Like `push_kv`, with the key's dictionary index known (`intern_key`).
    #[inline]
    pub fn push_kv_indexed(&mut self, key: i32, kv: &Kv<'a>) -> Result<()> {
        if kv.key.is_empty() && kv.key_strindex != 0 {
            self.key_strindex = true;
        }
        self.keys.push_index(key);
        self.values.push(kv.value.as_ref())
    }

    /// End the current row.
    #[inline]
    pub fn end_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.keys.len())?);
        if let Some(nulls) = &mut self.nulls {
            nulls.append_non_null();
        }
        Ok(())
    }

    /// A null row (the message holding the attributes is absent).
    pub fn null_row(&mut self) -> Result<()> {
        let rows = self.offsets.len() - 1;
        let nulls = self.nulls.get_or_insert_with(|| {
            let mut n = NullBufferBuilder::new(rows);
            n.append_n_non_nulls(rows);
            n
        });
        nulls.append_null();
        self.offsets.push(offset(self.keys.len())?);
        Ok(())
    }

    pub fn strindex(&self) -> bool {
        self.values.strindex
    }

    pub fn finish(self) -> Result<ArrayData> {
        let nulls = self.nulls.and_then(|mut n| n.finish());
        let keys = self.keys.finish()?;
        let values = self.values.finish()?;
        map_of(self.offsets, keys, values, nulls)
    }
}
