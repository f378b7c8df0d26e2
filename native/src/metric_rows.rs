//! The metrics columns and the rows of one data point (`otlp_arrow.convert._metrics`).

use crate::anyvalue::Kv;
use crate::attrs::Attributes;
use crate::columns::{Bools, DictStrings, Primitive, Timestamps};
use crate::points::{
    fixed64s, merge_buckets, push_number, ExemplarProblems, Exemplars, Lists, Number, Quantiles,
};
use crate::traces::beyond;
use crate::wire::{check_depth, Reader, Result, I64, LEN, VARINT};
use crate::RowErrors;

/// The `Metric.data` oneof members, by field number.
pub(crate) const KINDS: [(u32, &str); 5] = [
    (5, "gauge"),
    (7, "sum"),
    (9, "histogram"),
    (10, "exponential_histogram"),
    (11, "summary"),
];

#[derive(Default)]
pub(crate) struct Metrics<'a> {
    pub(crate) name: DictStrings<'a>,
    pub(crate) description: DictStrings<'a>,
    pub(crate) unit: DictStrings<'a>,
    pub(crate) kind: DictStrings<'a>,
    pub(crate) temporality: Primitive<i32>,
    pub(crate) monotonic: Bools,
    pub(crate) metadata: Attributes<'a>,
    pub(crate) attrs: Attributes<'a>,
    pub(crate) start: Timestamps,
    pub(crate) time: Timestamps,
    pub(crate) flags: Primitive<u32>,
    pub(crate) value_double: Primitive<f64>,
    pub(crate) value_int: Primitive<i64>,
    pub(crate) count: Primitive<u64>,
    pub(crate) sum: Primitive<f64>,
    pub(crate) min: Primitive<f64>,
    pub(crate) max: Primitive<f64>,
    pub(crate) bucket_counts: Lists<u64>,
    pub(crate) explicit_bounds: Lists<u64>, // f64 bits
    pub(crate) scale: Primitive<i32>,
    pub(crate) zero_count: Primitive<u64>,
    pub(crate) zero_threshold: Primitive<f64>,
    pub(crate) positive_offset: Primitive<i32>,
    pub(crate) positive_counts: Lists<u64>,
    pub(crate) negative_offset: Primitive<i32>,
    pub(crate) negative_counts: Lists<u64>,
    pub(crate) quantiles: Quantiles,
    pub(crate) exemplars: Exemplars<'a>,
    pub(crate) errors: RowErrors,
    /// Scratch columns where points of a data member later replaced by another are read
    /// (upb parses, so validates, them too).
    pub(crate) discarded: Option<Box<Metrics<'a>>>,
}

/// What the point kinds have; the columns they lack are null.
#[derive(Default)]
struct Point {
    start: u64,
    time: u64,
    flags: u32,
    number: Option<Number>,
    count: u64,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    scale: i32,
    zero_count: u64,
    zero_threshold: f64,
    /// The offset of the positive / negative buckets, when present.
    positive: Option<i32>,
    negative: Option<i32>,
}

impl<'a> Metrics<'a> {
    /// Room for `rows` points in every per-point column (saves regrowing them).
    pub(crate) fn reserve(&mut self, rows: usize) {
        for dict in [
            &mut self.name,
            &mut self.description,
            &mut self.unit,
            &mut self.kind,
        ] {
            dict.indices.reserve(rows);
        }
        for column in [&mut self.start, &mut self.time, &mut self.value_int] {
            column.values.reserve(rows);
        }
        for column in [
            &mut self.value_double,
            &mut self.sum,
            &mut self.min,
            &mut self.max,
            &mut self.zero_threshold,
        ] {
            column.values.reserve(rows);
        }
        for column in [&mut self.count, &mut self.zero_count] {
            column.values.reserve(rows);
        }
        for column in [
            &mut self.temporality,
            &mut self.scale,
            &mut self.positive_offset,
            &mut self.negative_offset,
        ] {
            column.values.reserve(rows);
        }
        self.flags.values.reserve(rows);
        self.monotonic.values.reserve(rows);
        for lists in [
            &mut self.bucket_counts,
            &mut self.explicit_bounds,
            &mut self.positive_counts,
            &mut self.negative_counts,
        ] {
            lists.reserve(rows);
        }
        self.quantiles.lists.reserve(rows);
        self.exemplars.reserve(rows);
        self.attrs.reserve(rows, rows);
        self.metadata.reserve(rows, 0);
    }

    /// Parse one data point of `kind` (a message at `depth`); returns the row's problem.
    pub(crate) fn point(
        &mut self,
        kind: usize,
        buf: &'a [u8],
        depth: u32,
    ) -> Result<Option<String>> {
        check_depth(depth)?;
        let mut p = Point::default();
        let mut problems = ExemplarProblems::default();
        let (attrs_field, exemplars_field) = match kind {
            0 | 1 => (7, 5),
            2 => (9, 8),
            3 => (1, 11),
            _ => (7, 0),
        };
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            let known = match (field, wire_type) {
                (f, LEN) if f == attrs_field => {
                    self.attrs
                        .push_wire(r.bytes()?, depth + 1)
                        .map_err(|e| e.at("attributes"))?;
                    true
                }
                (f, LEN) if f == exemplars_field => {
                    self.exemplars
                        .push_wire(r.bytes()?, depth + 1, &mut problems)
                        .map_err(|e| e.at("exemplars"))?;
                    true
                }
                (2, I64) => set(&mut p.start, r.fixed64()?),
                (3, I64) => set(&mut p.time, r.fixed64()?),
                _ => self.point_field(kind, &mut p, &mut r, field, wire_type, depth)?,
            };
            if !known {
                r.skip(field, wire_type, depth)?;
            }
        }
        let start_ok = self.start.push_time(p.start);
        let time_ok = self.time.push_time(p.time);
        let problem = if !start_ok {
            Some(beyond("start_time_unix_nano", p.start))
        } else if !time_ok {
            Some(beyond("time_unix_nano", p.time))
        } else if let Some(time) = problems.time {
            Some(format!(
                "exemplars.time_unix_nano: {time} is beyond the timestamp range"
            ))
        } else if let Some(e) = problems.span_id {
            Some(format!("exemplars.span_id: {e}"))
        } else {
            problems
                .trace_id
                .map(|e| format!("exemplars.trace_id: {e}"))
        };
        self.flags.push(p.flags);
        self.attrs.end_row()?;
        if kind == 4 {
            self.exemplars.push_null()?;
        } else {
            self.exemplars.end_row()?;
        }
        self.point_columns(kind, p)?;
        Ok(problem)
    }

    /// The kind-specific fields of a point; false for a field to skip.
    fn point_field(
        &mut self,
        kind: usize,
        p: &mut Point,
        r: &mut Reader<'a>,
        field: u32,
        wire_type: u8,
        depth: u32,
    ) -> Result<bool> {
        let flags_field = [8, 8, 10, 10, 8][kind];
        if (field, wire_type) == (flags_field, VARINT) {
            p.flags = r.varint()? as u32;
            return Ok(true);
        }
        let double = |r: &mut Reader<'a>| r.fixed64().map(f64::from_bits);
        match (kind, field, wire_type) {
            (0 | 1, 4, I64) => p.number = Some(Number::Double(double(r)?)),
            (0 | 1, 6, I64) => p.number = Some(Number::Int(r.fixed64()? as i64)),
            (2..=4, 4, I64) => p.count = r.fixed64()?,
            (2..=4, 5, I64) => p.sum = Some(double(r)?),
            (2, 11, I64) | (3, 12, I64) => p.min = Some(double(r)?),
            (2, 12, I64) | (3, 13, I64) => p.max = Some(double(r)?),
            (2, 6, _) => return fixed64s(r, wire_type, &mut self.bucket_counts.values),
            (2, 7, _) => return fixed64s(r, wire_type, &mut self.explicit_bounds.values),
            (3, 6, VARINT) => p.scale = crate::wire::zigzag32(r.varint()?),
            (3, 7, I64) => p.zero_count = r.fixed64()?,
            (3, 14, I64) => p.zero_threshold = double(r)?,
            // the bucket counts go straight into their column (merged if the field repeats)
            (3, 8, LEN) => merge_buckets(
                p.positive.get_or_insert(0),
                &mut self.positive_counts.values,
                r.bytes()?,
                depth + 1,
            )
            .map_err(|e| e.at("positive"))?,
            (3, 9, LEN) => merge_buckets(
                p.negative.get_or_insert(0),
                &mut self.negative_counts.values,
                r.bytes()?,
                depth + 1,
            )
            .map_err(|e| e.at("negative"))?,
            (4, 6, LEN) => self
                .quantiles
                .push_wire(r.bytes()?, depth + 1)
                .map_err(|e| e.at("quantile_values"))?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Push one row of every kind-specific column (null where the kind lacks it).
    fn point_columns(&mut self, kind: usize, p: Point) -> Result<()> {
        let number = kind <= 1;
        let histograms = kind == 2 || kind == 3;
        if number {
            push_number(&mut self.value_double, &mut self.value_int, p.number);
        } else {
            push_number(&mut self.value_double, &mut self.value_int, None);
        }
        self.count.push_opt((!number).then_some(p.count));
        self.sum.push_opt(if kind == 4 {
            Some(p.sum.unwrap_or(0.0))
        } else {
            p.sum
        });
        self.min.push_opt(p.min.filter(|_| histograms));
        self.max.push_opt(p.max.filter(|_| histograms));
        if kind == 2 {
            self.bucket_counts.end_row()?;
            self.explicit_bounds.end_row()?;
        } else {
            self.bucket_counts.push_null()?;
            self.explicit_bounds.push_null()?;
        }
        let exp = kind == 3;
        self.scale.push_opt(exp.then_some(p.scale));
        self.zero_count.push_opt(exp.then_some(p.zero_count));
        self.zero_threshold
            .push_opt(exp.then_some(p.zero_threshold));
        for (buckets, offset, counts) in [
            (
                p.positive,
                &mut self.positive_offset,
                &mut self.positive_counts,
            ),
            (
                p.negative,
                &mut self.negative_offset,
                &mut self.negative_counts,
            ),
        ] {
            match buckets {
                Some(b) => {
                    offset.push(b);
                    counts.end_row()?;
                }
                None => {
                    offset.push_null();
                    counts.push_null()?;
                }
            }
        }
        if kind == 4 {
            self.quantiles.lists.end_row()
        } else {
            self.quantiles.lists.push_null()
        }
    }

    /// The metric-level columns, repeated on each of the metric's `points`.
    pub(crate) fn metric_columns(
        &mut self,
        m: &MetricFields<'a>,
        kind: usize,
        points: usize,
    ) -> Result<()> {
        if points == 0 {
            return Ok(());
        }
        self.name.push_n(m.name, points)?;
        self.description.push_n(m.description, points)?;
        self.unit.push_n(m.unit, points)?;
        self.kind.push_n(KINDS[kind].1, points)?;
        let temporality = (kind != 0 && kind != 4).then_some(m.temporality);
        let nulls = self
            .monotonic
            .nulls
            .get_or_insert_with(|| arrow_buffer::NullBufferBuilder::new(0));
        if kind == 1 {
            nulls.append_n_non_nulls(points);
        } else {
            nulls.append_n_nulls(points);
        }
        self.monotonic
            .values
            .extend(std::iter::repeat_n(m.monotonic, points));
        for _ in 0..points {
            self.temporality.push_opt(temporality);
        }
        let keys: Result<Vec<i32>> = m
            .metadata
            .iter()
            .map(|kv| self.metadata.intern_key(kv.key))
            .collect();
        self.metadata.push_rows(&m.metadata, &keys?, points)
    }
}

fn set<T>(slot: &mut T, value: T) -> bool {
    *slot = value;
    true
}

#[derive(Default)]
pub(crate) struct MetricFields<'a> {
    pub(crate) name: &'a str,
    pub(crate) description: &'a str,
    pub(crate) unit: &'a str,
    pub(crate) metadata: Vec<Kv<'a>>,
    pub(crate) temporality: i32,
    pub(crate) monotonic: bool,
}
