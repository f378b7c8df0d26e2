//! Metrics table -> `ExportMetricsServiceRequest` (as `to_otlp.metrics_to_otlp` builds it):
//! consecutive rows of one scope with the same metric identity (name, description, unit,
//! type, temporality, monotonicity, metadata) share one `Metric`.

use arrow_array::{FixedSizeBinaryArray, ListArray, StructArray};

use super::attrs::Attrs;
use super::cols::{child, field, get, id, time, typed, Dict, F64s, I32s, I64s, List, Times};
use super::cols::{U32s, U64s};
use super::group::{write_request, Shared};
use super::pb::{Writer, LEN};
use crate::wire::{Error, Result};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Sum,
    Histogram,
    Exponential,
    Summary,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "gauge" => Kind::Gauge,
            "sum" => Kind::Sum,
            "histogram" => Kind::Histogram,
            "exponential_histogram" => Kind::Exponential,
            "summary" => Kind::Summary,
            _ => return None,
        })
    }

    /// The field of `Metric` that holds this kind's data.
    fn field(self) -> u32 {
        match self {
            Kind::Gauge => 5,
            Kind::Sum => 7,
            Kind::Histogram => 9,
            Kind::Exponential => 10,
            Kind::Summary => 11,
        }
    }
}

struct Exemplars<'a> {
    list: List<'a>,
    attributes: Attrs<'a>,
    time: &'a Times,
    double: &'a F64s,
    int: &'a I64s,
    span_id: &'a FixedSizeBinaryArray,
    trace_id: &'a FixedSizeBinaryArray,
}

struct Points<'a> {
    name: Dict<'a>,
    description: Dict<'a>,
    unit: Dict<'a>,
    kind: Dict<'a>,
    temporality: &'a I32s,
    monotonic: &'a arrow_array::BooleanArray,
    metadata: Attrs<'a>,
    attributes: Attrs<'a>,
    start: &'a Times,
    time: &'a Times,
    flags: &'a U32s,
    double: &'a F64s,
    int: &'a I64s,
    count: &'a U64s,
    sum: &'a F64s,
    min: &'a F64s,
    max: &'a F64s,
    bucket_counts: &'a ListArray,
    explicit_bounds: &'a ListArray,
    scale: &'a I32s,
    zero_count: &'a U64s,
    zero_threshold: &'a F64s,
    positive_offset: &'a I32s,
    positive_counts: &'a ListArray,
    negative_offset: &'a I32s,
    negative_counts: &'a ListArray,
    quantiles: List<'a>,
    quantile: &'a F64s,
    quantile_value: &'a F64s,
    exemplars: Exemplars<'a>,
}

const TIME: &str = "timestamp[ns]";

fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

/// A `list<uint64>` / `list<double>` row as a packed repeated field (64-bit items).
fn packed64(w: &mut Writer, field: u32, list: &ListArray, row: usize, bits: impl Fn(usize) -> u64) {
    let range = List { list }.range(row);
    if range.is_empty() {
        return;
    }
    w.tag(field, LEN);
    w.varint((range.len() * 8) as u64);
    for j in range {
        w.buf.extend_from_slice(&bits(j).to_le_bytes());
    }
}

impl<'a> Points<'a> {
    fn of(t: &'a StructArray) -> Result<Points<'a>> {
        let quantiles = List::field(t, "quantile_values")?;
        let q: &StructArray = quantiles.values("quantile_values", "list<struct>")?;
        let exemplars = List::field(t, "exemplars")?;
        let e: &StructArray = exemplars.values("exemplars", "list<struct>")?;
        let list = |n: &str| typed::<ListArray>(child(t, n)?, n, "list");
        Ok(Points {
            name: Dict::field(t, "metric_name")?,
            description: Dict::field(t, "metric_description")?,
            unit: Dict::field(t, "metric_unit")?,
            kind: Dict::field(t, "metric_type")?,
            temporality: field(t, "aggregation_temporality", "int32")?,
            monotonic: field(t, "is_monotonic", "bool")?,
            metadata: Attrs::field(t, "metric_metadata")?,
            attributes: Attrs::field(t, "attributes")?,
            start: field(t, "start_time", TIME)?,
            time: field(t, "time", TIME)?,
            flags: field(t, "flags", "uint32")?,
            double: field(t, "value_double", "double")?,
            int: field(t, "value_int", "int64")?,
            count: field(t, "count", "uint64")?,
            sum: field(t, "sum", "double")?,
            min: field(t, "min", "double")?,
            max: field(t, "max", "double")?,
            bucket_counts: list("bucket_counts")?,
            explicit_bounds: list("explicit_bounds")?,
            scale: field(t, "scale", "int32")?,
            zero_count: field(t, "zero_count", "uint64")?,
            zero_threshold: field(t, "zero_threshold", "double")?,
            positive_offset: field(t, "positive_offset", "int32")?,
            positive_counts: list("positive_bucket_counts")?,
            negative_offset: field(t, "negative_offset", "int32")?,
            negative_counts: list("negative_bucket_counts")?,
            quantile: field(q, "quantile", "double")?,
            quantile_value: field(q, "value", "double")?,
            quantiles,
            exemplars: Exemplars {
                attributes: Attrs::field(e, "filtered_attributes")?,
                time: field(e, "time", TIME)?,
                double: field(e, "value_double", "double")?,
                int: field(e, "value_int", "int64")?,
                span_id: field(e, "span_id", "fixed_size_binary")?,
                trace_id: field(e, "trace_id", "fixed_size_binary")?,
                list: exemplars,
            },
        })
    }

    fn kind(&self, i: usize) -> Result<Kind> {
        let name = self.kind.get(i).unwrap_or("");
        Kind::parse(name).ok_or_else(|| Error::new(format!("metric_type: unknown type {name:?}")))
    }

    /// The `Metric` fields but its data points (`Metric` and the data message opened).
    fn identity(&self, w: &mut Writer, i: usize) -> Result<()> {
        w.bytes_nz(1, self.name.str(i));
        w.bytes_nz(2, self.description.str(i));
        w.bytes_nz(3, self.unit.str(i));
        self.metadata.write(w, 12, i, "metric_metadata")?;
        Ok(())
    }

    /// The fields of the data message (`Sum`, ...) but its points.
    fn data_header(&self, w: &mut Writer, kind: Kind, i: usize) {
        if matches!(kind, Kind::Sum | Kind::Histogram | Kind::Exponential) {
            w.int32_nz(2, get(self.temporality, i).unwrap_or(0));
        }
        if kind == Kind::Sum {
            w.uint_nz(
                3,
                u64::from(super::cols::boolean(self.monotonic, i).unwrap_or(false)),
            );
        }
    }

    fn exemplars(&self, w: &mut Writer, field: u32, i: usize) -> Result<()> {
        let e = &self.exemplars;
        for j in e.list.range(i) {
            let open = w.open(field, 1);
            w.fixed64_nz(2, time(e.time, j, "exemplars.time")?);
            if let Some(v) = get(e.int, j) {
                w.fixed64(6, v as u64);
            } else if let Some(v) = get(e.double, j) {
                w.fixed64(3, v.to_bits());
            }
            w.bytes_nz(4, id(e.span_id, j));
            w.bytes_nz(5, id(e.trace_id, j));
            e.attributes
                .write(w, 7, j, "exemplars.filtered_attributes")?;
            w.close(open);
        }
        Ok(())
    }

    fn optional_double(w: &mut Writer, field: u32, a: &F64s, i: usize) {
        if let Some(v) = get(a, i) {
            w.fixed64(field, v.to_bits());
        }
    }

    fn point(&self, w: &mut Writer, kind: Kind, i: usize) -> Result<()> {
        let attrs_field = match kind {
            Kind::Exponential => 1,
            Kind::Histogram => 9,
            _ => 7,
        };
        self.attributes.write(w, attrs_field, i, "attributes")?;
        w.fixed64_nz(2, time(self.start, i, "start_time")?);
        w.fixed64_nz(3, time(self.time, i, "time")?);
        let flags = u64::from(get(self.flags, i).unwrap_or(0));
        match kind {
            Kind::Gauge | Kind::Sum => {
                if let Some(v) = get(self.int, i) {
                    w.fixed64(6, v as u64);
                } else if let Some(v) = get(self.double, i) {
                    w.fixed64(4, v.to_bits());
                }
                self.exemplars(w, 5, i)?;
                w.uint_nz(8, flags);
            }
            Kind::Summary => {
                w.fixed64_nz(4, get(self.count, i).unwrap_or(0));
                w.double_nz(5, get(self.sum, i).unwrap_or(0.0));
                for j in self.quantiles.range(i) {
                    let open = w.open(6, 1);
                    w.double_nz(1, get(self.quantile, j).unwrap_or(0.0));
                    w.double_nz(2, get(self.quantile_value, j).unwrap_or(0.0));
                    w.close(open);
                }
                w.uint_nz(8, flags);
            }
            Kind::Histogram => {
                w.fixed64_nz(4, get(self.count, i).unwrap_or(0));
                Self::optional_double(w, 5, self.sum, i);
                let counts: &U64s = List {
                    list: self.bucket_counts,
                }
                .values("bucket_counts", "list<uint64>")?;
                packed64(w, 6, self.bucket_counts, i, |j| get(counts, j).unwrap_or(0));
                let bounds: &F64s = List {
                    list: self.explicit_bounds,
                }
                .values("explicit_bounds", "list<double>")?;
                packed64(w, 7, self.explicit_bounds, i, |j| {
                    get(bounds, j).unwrap_or(0.0).to_bits()
                });
                self.exemplars(w, 8, i)?;
                w.uint_nz(10, flags);
                Self::optional_double(w, 11, self.min, i);
                Self::optional_double(w, 12, self.max, i);
            }
            Kind::Exponential => {
                w.fixed64_nz(4, get(self.count, i).unwrap_or(0));
                Self::optional_double(w, 5, self.sum, i);
                w.uint_nz(6, zigzag(get(self.scale, i).unwrap_or(0)));
                w.fixed64_nz(7, get(self.zero_count, i).unwrap_or(0));
                for (field, offset, list) in [
                    (8, self.positive_offset, self.positive_counts),
                    (9, self.negative_offset, self.negative_counts),
                ] {
                    let Some(offset) = get(offset, i) else {
                        continue;
                    };
                    let counts: &U64s = List { list }.values("bucket_counts", "list<uint64>")?;
                    let open = w.open(field, 1);
                    w.uint_nz(1, zigzag(offset));
                    let range = List { list }.range(i);
                    if !range.is_empty() {
                        let packed = w.open(2, 1);
                        for j in range {
                            w.varint(get(counts, j).unwrap_or(0));
                        }
                        w.close(packed);
                    }
                    w.close(open);
                }
                w.uint_nz(10, flags);
                self.exemplars(w, 11, i)?;
                Self::optional_double(w, 12, self.min, i);
                Self::optional_double(w, 13, self.max, i);
                w.double_nz(14, get(self.zero_threshold, i).unwrap_or(0.0));
            }
        }
        Ok(())
    }

    /// Do rows `a` and `b` have the same metric identity?
    fn same_metric(&self, a: usize, b: usize) -> bool {
        self.kind.same(a, b)
            && self.name.same(a, b)
            && self.description.same(a, b)
            && self.unit.same(a, b)
            && get(self.temporality, a) == get(self.temporality, b)
            && super::cols::boolean(self.monotonic, a) == super::cols::boolean(self.monotonic, b)
            && self.metadata.same(a, b)
    }

    /// The metrics of one scope's rows: a new `Metric` where the identity changes.
    fn metrics(&self, w: &mut Writer, rows: &[u32]) -> Result<()> {
        let (mut key, mut prev) = (Writer::default(), Vec::new());
        let mut open: Option<(super::pb::Open, super::pb::Open)> = None;
        let mut last: Option<(usize, Kind)> = None;
        for &row in rows {
            let i = row as usize;
            let at = |e: Error| e.at(format_args!("row {row}"));
            if let Some((p, kind)) = last {
                if open.is_some() && self.same_metric(p, i) {
                    let point = w.open(1, 2);
                    self.point(w, kind, i).map_err(at)?;
                    w.close(point);
                    last = Some((i, kind));
                    continue;
                }
            }
            let kind = self.kind(i).map_err(at)?;
            last = Some((i, kind));
            key.buf.clear();
            self.identity(&mut key, i).map_err(at)?;
            let data = w_data(&mut key, kind, self, i);
            if open.is_none() || key.buf != prev {
                if let Some((metric, data)) = open.take() {
                    w.close(data);
                    w.close(metric);
                }
                let metric = w.open(2, 2);
                w.buf.extend_from_slice(&key.buf[..data]);
                let body = w.open(kind.field(), 3);
                w.buf.extend_from_slice(&key.buf[data + 1..]);
                open = Some((metric, body));
                std::mem::swap(&mut prev, &mut key.buf);
            }
            let point = w.open(1, 2);
            self.point(w, kind, i).map_err(at)?;
            w.close(point);
        }
        if let Some((metric, data)) = open {
            w.close(data);
            w.close(metric);
        }
        Ok(())
    }
}

/// Append the data message's header (kind tag and fields) to the identity key; returns where
/// it starts (the identity is `key[..start]`, the data header `key[start + 1..]`).
fn w_data(key: &mut Writer, kind: Kind, points: &Points<'_>, i: usize) -> usize {
    let start = key.buf.len();
    key.buf.push(kind.field() as u8);
    points.data_header(key, kind, i);
    start
}

/// Encode rows `rows` of a metrics table.
pub fn encode(table: &StructArray, rows: std::ops::Range<usize>, w: &mut Writer) -> Result<()> {
    let shared = Shared::of(table)?;
    let points = Points::of(table)?;
    write_request(&shared, rows, w, |w, rows| points.metrics(w, rows))
}
