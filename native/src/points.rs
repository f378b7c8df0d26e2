//! The data point columns of the metrics schema (`otlp_arrow.convert._metrics`): one row per
//! point; the columns a point kind does not have are null.

use arrow_buffer::{ArrowNativeType, NullBufferBuilder};
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::attrs::Attributes;
use crate::columns::{list_of, offset, struct_of, FixedIds, Primitive, Timestamps};
use crate::wire::{check_depth, repeated_fixed64, Reader, Result, I64, LEN};

/// A nullable `list<T>` column.
pub struct Lists<T: ArrowNativeType> {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pub values: Vec<T>,
}

impl<T: ArrowNativeType> Default for Lists<T> {
    fn default() -> Self {
        Lists {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            values: Vec::new(),
        }
    }
}

impl<T: ArrowNativeType> Lists<T> {
    /// Room for `rows` more rows (their offsets; the items grow as they come).
    pub fn reserve(&mut self, rows: usize) {
        self.offsets.reserve(rows);
    }

    /// End a row whose items were appended to `values`.
    pub fn end_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.values.len())?);
        self.nulls.append_non_null();
        Ok(())
    }

    pub fn push(&mut self, items: &[T]) -> Result<()> {
        self.values.extend_from_slice(items);
        self.end_row()
    }

    pub fn push_null(&mut self) -> Result<()> {
        self.offsets.push(offset(self.values.len())?);
        self.nulls.append_null();
        Ok(())
    }

    pub fn finish(mut self, data_type: DataType) -> Result<ArrayData> {
        let nulls = self.nulls.finish();
        let values = Primitive {
            values: self.values,
            nulls: NullBufferBuilder::new(0),
        }
        .finish(data_type)?;
        list_of(self.offsets, values, nulls)
    }
}

/// The `exemplars` column.
pub struct Exemplars<'a> {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pub attrs: Attributes<'a>,
    time: Timestamps,
    value_double: Primitive<f64>,
    value_int: Primitive<i64>,
    span_id: FixedIds,
    trace_id: FixedIds,
}

impl Default for Exemplars<'_> {
    fn default() -> Self {
        Exemplars {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            attrs: Attributes::default(),
            time: Timestamps::default(),
            value_double: Primitive::default(),
            value_int: Primitive::default(),
            span_id: FixedIds::new(8),
            trace_id: FixedIds::new(16),
        }
    }
}

/// The first problem of each kind among one point's exemplars.
#[derive(Default)]
pub struct ExemplarProblems {
    pub time: Option<u64>,
    pub span_id: Option<String>,
    pub trace_id: Option<String>,
}

impl<'a> Exemplars<'a> {
    /// Room for `rows` more rows (their offsets).
    pub fn reserve(&mut self, rows: usize) {
        self.offsets.reserve(rows);
    }

    /// Parse one serialized `Exemplar` (at `depth`) into the current row.
    pub fn push_wire(
        &mut self,
        buf: &'a [u8],
        depth: u32,
        problems: &mut ExemplarProblems,
    ) -> Result<()> {
        check_depth(depth)?;
        let (mut time, mut value, mut span_id, mut trace_id) = (0u64, None, &[][..], &[][..]);
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (7, LEN) => self
                    .attrs
                    .push_wire(r.bytes()?, depth + 1)
                    .map_err(|e| e.at("filtered_attributes"))?,
                (2, I64) => time = r.fixed64()?,
                (3, I64) => value = Some(Number::Double(f64::from_bits(r.fixed64()?))),
                (6, I64) => value = Some(Number::Int(r.fixed64()? as i64)),
                (4, LEN) => span_id = r.bytes()?,
                (5, LEN) => trace_id = r.bytes()?,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        self.attrs.end_row()?;
        if !self.time.push_time(time) && problems.time.is_none() {
            problems.time = Some(time);
        }
        push_number(&mut self.value_double, &mut self.value_int, value);
        if let Some(e) = self.span_id.push(span_id, true) {
            problems.span_id.get_or_insert(e);
        }
        if let Some(e) = self.trace_id.push(trace_id, true) {
            problems.trace_id.get_or_insert(e);
        }
        Ok(())
    }

    pub fn end_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.value_int.len())?);
        self.nulls.append_non_null();
        Ok(())
    }

    pub fn push_null(&mut self) -> Result<()> {
        self.offsets.push(offset(self.value_int.len())?);
        self.nulls.append_null();
        Ok(())
    }

    pub fn finish(mut self) -> Result<ArrayData> {
        let values = struct_of(
            vec![
                self.attrs.finish()?,
                self.time.finish(DataType::Int64)?,
                self.value_double.finish(DataType::Float64)?,
                self.value_int.finish(DataType::Int64)?,
                self.span_id.finish()?,
                self.trace_id.finish()?,
            ],
            None,
        )?;
        list_of(self.offsets, values, self.nulls.finish())
    }
}

/// The `value` oneof of a `NumberDataPoint` / `Exemplar`.
#[derive(Clone, Copy)]
pub enum Number {
    Double(f64),
    Int(i64),
}

pub fn push_number(double: &mut Primitive<f64>, int: &mut Primitive<i64>, value: Option<Number>) {
    match value {
        Some(Number::Double(d)) => {
            double.push(d);
            int.push_null();
        }
        Some(Number::Int(i)) => {
            double.push_null();
            int.push(i);
        }
        None => {
            double.push_null();
            int.push_null();
        }
    }
}

/// The `quantile_values` column (`list<struct<quantile, value>>`).
#[derive(Default)]
pub struct Quantiles {
    pub lists: Lists<f64>,
    pub values: Vec<f64>,
}

impl Quantiles {
    /// Parse one `ValueAtQuantile` into the current row.
    pub fn push_wire(&mut self, buf: &[u8], depth: u32) -> Result<()> {
        check_depth(depth)?;
        let (mut quantile, mut value) = (0f64, 0f64);
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, I64) => quantile = f64::from_bits(r.fixed64()?),
                (2, I64) => value = f64::from_bits(r.fixed64()?),
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        self.lists.values.push(quantile);
        self.values.push(value);
        Ok(())
    }

    pub fn finish(self) -> Result<ArrayData> {
        let Lists {
            offsets,
            mut nulls,
            values,
        } = self.lists;
        let quantile = Primitive {
            values,
            nulls: NullBufferBuilder::new(0),
        };
        let value = Primitive {
            values: self.values,
            nulls: NullBufferBuilder::new(0),
        };
        let items = struct_of(
            vec![
                quantile.finish(DataType::Float64)?,
                value.finish(DataType::Float64)?,
            ],
            None,
        )?;
        list_of(offsets, items, nulls.finish())
    }
}

/// Merge one serialized exponential histogram `Buckets` (at `depth`): the offset (last
/// wins) into `offset`, the counts appended to `counts`.
pub fn merge_buckets(
    offset: &mut i32,
    counts: &mut Vec<u64>,
    buf: &[u8],
    depth: u32,
) -> Result<()> {
    check_depth(depth)?;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        let known = match field {
            1 if wire_type == crate::wire::VARINT => {
                *offset = crate::wire::zigzag32(r.varint()?);
                true
            }
            2 => crate::wire::repeated_varint(&mut r, wire_type, counts)?,
            _ => false,
        };
        if !known {
            r.skip(field, wire_type, depth)?;
        }
    }
    Ok(())
}

/// Repeated `fixed64` (`bucket_counts`) or `double` (`explicit_bounds`) into `out`; false
/// when the wire type is not one of these (the caller skips the field).
pub fn fixed64s(r: &mut Reader<'_>, wire_type: u8, out: &mut Vec<u64>) -> Result<bool> {
    repeated_fixed64(r, wire_type, out)
}
