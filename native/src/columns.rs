//! Column builders: plain vectors filled while the wire is read, turned into Arrow
//! `ArrayData` at the end without copying (a `Vec` becomes a `Buffer` as it is).
//!
//! The Arrow types here only describe the memory layout; the field names, timestamp units and
//! metadata come from the Python schema the batch is imported with (`otlp_arrow.schema`).

use std::sync::Arc;

use arrow_buffer::{ArrowNativeType, Buffer, NullBufferBuilder};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field, Fields};

pub use crate::dict::{dict_type, DictStrings, FxMap};
use crate::wire::{Error, Result};

/// Offsets are `int32` (Arrow `string`, `list`, `map`): refuse what does not fit.
#[inline]
pub fn offset(len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| Error::new("a column would exceed 2 GiB (int32 offsets)"))
}

/// Finish an array. Debug builds (tests, fuzzing) validate it fully; release builds trust the
/// builders here, which only make valid layouts (measured: validation was about a tenth of
/// the decode time, mostly UTF-8 checks of strings already checked when read).
pub fn build(builder: arrow_data::ArrayDataBuilder) -> Result<ArrayData> {
    #[cfg(debug_assertions)]
    {
        let data = builder
            .build()
            .map_err(|e| Error::new(format!("internal error building a column: {e}")))?;
        data.validate_full()
            .map_err(|e| Error::new(format!("internal error building a column: {e}")))?;
        Ok(data)
    }
    #[cfg(not(debug_assertions))]
    {
        // SAFETY: every builder in this crate makes its buffers of the declared layout: offsets
        // start at 0, never decrease and end at the data length (`Strings`, `Var`, list and
        // map offsets, all pushed as data is appended); string data is only ever appended
        // from `&str` (UTF-8 checked when read, or JSON text made from `&str`); dictionary
        // keys are indices returned by `DictStrings::intern`; child arrays have the parent's
        // length; validity bitmaps have one bit per slot. The fuzz targets and the debug
        // builds check all of this with `validate_full`.
        Ok(unsafe { builder.build_unchecked() })
    }
}

/// A primitive column with an optional validity bitmap.
pub struct Primitive<T: ArrowNativeType> {
    pub values: Vec<T>,
    pub nulls: NullBufferBuilder,
}

impl<T: ArrowNativeType> Default for Primitive<T> {
    fn default() -> Self {
        Primitive {
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl<T: ArrowNativeType> Primitive<T> {
    #[inline]
    pub fn push(&mut self, value: T) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.values.push(T::default());
        self.nulls.append_null();
    }

    #[inline]
    pub fn push_opt(&mut self, value: Option<T>) {
        match value {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn finish(mut self, data_type: DataType) -> Result<ArrayData> {
        let len = self.values.len();
        build(
            ArrayData::builder(data_type)
                .len(len)
                .add_buffer(Buffer::from_vec(self.values))
                .nulls(self.nulls.finish()),
        )
    }
}

/// Timestamps (`fixed64` nanoseconds): 0 (unset) is null; beyond int64 is reported by the
/// caller and stored as null.
pub type Timestamps = Primitive<i64>;

impl Timestamps {
    /// Push OTLP nanoseconds; returns false when the value is beyond the int64 range.
    #[inline]
    pub fn push_time(&mut self, nanos: u64) -> bool {
        match i64::try_from(nanos) {
            Ok(0) => self.push_null(),
            Ok(v) => self.push(v),
            Err(_) => {
                self.push_null();
                return false;
            }
        }
        true
    }
}

/// A `bool` column (bit-packed).
#[derive(Default)]
pub struct Bools {
    pub values: Vec<bool>,
    pub nulls: Option<NullBufferBuilder>,
}

impl Bools {
    pub fn finish(self) -> Result<ArrayData> {
        let len = self.values.len();
        let buffer = Buffer::from_iter(self.values.iter().copied());
        let nulls = self.nulls.and_then(|mut n| n.finish());
        build(
            ArrayData::builder(DataType::Boolean)
                .len(len)
                .add_buffer(buffer)
                .nulls(nulls),
        )
    }
}

/// A `string` or `binary` column.
pub struct Strings {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
    pub nulls: NullBufferBuilder,
}

impl Default for Strings {
    fn default() -> Self {
        Strings {
            offsets: vec![0],
            data: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl Strings {
    #[inline]
    pub fn push(&mut self, value: &[u8]) -> Result<()> {
        self.data.extend_from_slice(value);
        self.offsets.push(offset(self.data.len())?);
        self.nulls.append_non_null();
        Ok(())
    }

    #[inline]
    pub fn push_null(&mut self) {
        let last = self.offsets[self.offsets.len() - 1];
        self.offsets.push(last);
        self.nulls.append_null();
    }

    pub fn finish(mut self, data_type: DataType) -> Result<ArrayData> {
        let len = self.offsets.len() - 1;
        build(
            ArrayData::builder(data_type)
                .len(len)
                .add_buffer(Buffer::from_vec(self.offsets))
                .add_buffer(Buffer::from_vec(self.data))
                .nulls(self.nulls.finish()),
        )
    }
}

/// Fixed-width ids (`fixed_size_binary(width)`).
pub struct FixedIds {
    width: usize,
    data: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl FixedIds {
    pub fn new(width: usize) -> Self {
        FixedIds {
            width,
            data: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// Push an id; `optional`: an empty id is null. Returns the error text for an id of the
    /// wrong length (stored as null), as `otlp_arrow.convert._columns.fixed_ids` words it.
    #[inline]
    pub fn push(&mut self, id: &[u8], optional: bool) -> Option<String> {
        if id.len() == self.width {
            self.data.extend_from_slice(id);
            self.nulls.append_non_null();
            return None;
        }
        self.data.resize(self.data.len() + self.width, 0);
        self.nulls.append_null();
        if optional && id.is_empty() {
            return None;
        }
        Some(id_error(self.width, id.len()))
    }

    pub fn reserve(&mut self, ids: usize) {
        self.data.reserve(ids * self.width);
    }

    pub fn finish(mut self) -> Result<ArrayData> {
        let len = self.data.len() / self.width;
        build(
            ArrayData::builder(DataType::FixedSizeBinary(self.width as i32))
                .len(len)
                .add_buffer(Buffer::from_vec(self.data))
                .nulls(self.nulls.finish()),
        )
    }
}

#[cold]
pub fn id_error(width: usize, got: usize) -> String {
    if got == 0 {
        format!("expected {width} bytes, got empty")
    } else {
        format!("expected {width} bytes, got {got} bytes")
    }
}

/// A struct of `children` (the field names do not matter: the Python schema names them).
pub fn struct_of(
    children: Vec<ArrayData>,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> Result<ArrayData> {
    let len = children.first().map_or(0, ArrayData::len);
    struct_of_len(children, nulls, len)
}

pub fn struct_of_len(
    children: Vec<ArrayData>,
    nulls: Option<arrow_buffer::NullBuffer>,
    len: usize,
) -> Result<ArrayData> {
    let fields: Fields = children
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("f{i}"), c.data_type().clone(), true))
        .collect();
    build(
        ArrayData::builder(DataType::Struct(fields))
            .len(len)
            .nulls(nulls)
            .child_data(children),
    )
}

/// A `list<child>` from offsets (one more than the rows).
pub fn list_of(
    offsets: Vec<i32>,
    child: ArrayData,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> Result<ArrayData> {
    let len = offsets.len() - 1;
    let field = Arc::new(Field::new("item", child.data_type().clone(), true));
    build(
        ArrayData::builder(DataType::List(field))
            .len(len)
            .add_buffer(Buffer::from_vec(offsets))
            .nulls(nulls)
            .child_data(vec![child]),
    )
}

/// A `map<keys, values>` from offsets.
pub fn map_of(
    offsets: Vec<i32>,
    keys: ArrayData,
    values: ArrayData,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> Result<ArrayData> {
    let len = offsets.len() - 1;
    let entries_fields = Fields::from(vec![
        Field::new("key", keys.data_type().clone(), false),
        Field::new("value", values.data_type().clone(), true),
    ]);
    let entries_len = keys.len();
    let entries = build(
        ArrayData::builder(DataType::Struct(entries_fields.clone()))
            .len(entries_len)
            .child_data(vec![keys, values]),
    )?;
    let field = Arc::new(Field::new(
        "entries",
        DataType::Struct(entries_fields),
        false,
    ));
    build(
        ArrayData::builder(DataType::Map(field, false))
            .len(len)
            .add_buffer(Buffer::from_vec(offsets))
            .nulls(nulls)
            .child_data(vec![entries]),
    )
}

/// All rows null, of a fixed-width or string layout `data_type`.
pub fn nulls(data_type: DataType, len: usize) -> ArrayData {
    ArrayData::new_null(&data_type, len)
}
