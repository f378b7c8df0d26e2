//! `ANY_VALUE` struct columns, as `otlp_arrow.convert._values.AnyValues` builds them: one
//! slot per value, sparse children scattered into place at the end.

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::anyvalue::Any;
use crate::columns::{build, offset, struct_of_len};
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
pub(crate) struct Var {
    pub(crate) ends: Vec<i32>,
    pub(crate) data: Vec<u8>,
}

impl Var {
    #[inline]
    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.data.extend_from_slice(bytes);
        self.ends.push(offset(self.data.len())?);
        Ok(())
    }

    fn mark(&self) -> (usize, usize) {
        (self.ends.len(), self.data.len())
    }

    /// Append the values pushed since `mark` again, `times` times.
    fn repeat_tail(&mut self, (ends0, data0): (usize, usize), times: usize) -> Result<()> {
        let (ends1, data1) = self.mark();
        if ends0 == ends1 {
            return Ok(());
        }
        let (width, count) = (data1 - data0, ends1 - ends0);
        offset(data1 + width * times)?; // the last end fits, so every one before it does
        let target = ends1 + count * times;
        self.data.reserve(width * times);
        self.ends.reserve(count * times);
        while self.ends.len() < target {
            // copy whole repeats already there (doubling): ends shifted by the data copied
            let take = (self.ends.len() - ends0).min(target - self.ends.len());
            let repeats = take / count;
            let shift = offset(self.data.len() - data0)?;
            self.data.extend_from_within(data0..data0 + width * repeats);
            self.ends.extend_from_within(ends0..ends0 + take);
            let len = self.ends.len();
            for end in &mut self.ends[len - take..] {
                *end += shift;
            }
        }
        Ok(())
    }
}

/// Append `v[start..]` again, `times` times (doubling what is already copied).
pub fn repeat_tail<T: Copy>(v: &mut Vec<T>, start: usize, times: usize) {
    let target = v.len() + (v.len() - start) * times;
    v.reserve(target - v.len());
    while v.len() < target {
        let take = (v.len() - start).min(target - v.len());
        v.extend_from_within(start..start + take);
    }
}

/// Where each vector of an `AnyValues` ended (`AnyValues::mark`).
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    kinds: usize,
    bools: usize,
    ints: usize,
    doubles: usize,
    vars: [(usize, usize); 4],
}

/// An `ANY_VALUE` column: one slot per value, sparse children scattered at the end.
#[derive(Default)]
pub struct AnyValues {
    pub(crate) kinds: Vec<i8>,
    pub(crate) strings: Var,
    bools: Vec<bool>,
    pub(crate) ints: Vec<i64>,
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

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            kinds: self.kinds.len(),
            bools: self.bools.len(),
            ints: self.ints.len(),
            doubles: self.doubles.len(),
            vars: [&self.strings, &self.bytes, &self.arrays, &self.kvlists].map(Var::mark),
        }
    }

    /// Append the slots pushed since `mark` again, `times` times.
    pub(crate) fn repeat_tail(&mut self, mark: Mark, times: usize) -> Result<()> {
        repeat_tail(&mut self.kinds, mark.kinds, times);
        repeat_tail(&mut self.bools, mark.bools, times);
        repeat_tail(&mut self.ints, mark.ints, times);
        repeat_tail(&mut self.doubles, mark.doubles, times);
        let vars = [
            &mut self.strings,
            &mut self.bytes,
            &mut self.arrays,
            &mut self.kvlists,
        ];
        for (var, at) in vars.into_iter().zip(mark.vars) {
            var.repeat_tail(at, times)?;
        }
        Ok(())
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
        // extend (not push): a slice's mapped iterator has a known length, so no capacity
        // check per slot
        offsets.extend(kinds.iter().map(|&k| {
            if k == code {
                last = *next.next().unwrap_or(&last);
            }
            last
        }));
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
        let mut next = values.iter();
        let dense: Vec<T> = kinds
            .iter()
            .map(|&k| {
                if k == code {
                    next.next().copied().unwrap_or_default()
                } else {
                    T::default()
                }
            })
            .collect();
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
