//! `ExportMetricsServiceRequest` -> the metrics columns (`otlp_arrow.convert.from_otlp.
//! metrics_to_arrow`): one row per data point; a metric without data or points leaves none.

use arrow_schema::DataType;

use crate::anyvalue::parse_kv;
use crate::metric_rows::{MetricFields, Metrics, KINDS};
use crate::resource::{Items, Location, Names, ResourceScope};
use crate::wire::{check_depth, Reader, Result, LEN, VARINT};
use crate::Decoded;

const NAMES: Names = Names {
    resources: "resource_metrics",
    scopes: "scope_metrics",
    items: "metrics",
};

impl<'a> Metrics<'a> {
    /// Parse one serialized data member (`Gauge`, `Sum`, ...) of `kind` at `depth`, its
    /// points into rows; returns the points and the rows' problems.
    fn data(
        &mut self,
        kind: usize,
        buf: &'a [u8],
        depth: u32,
        m: &mut MetricFields<'a>,
        problems: &mut Vec<(usize, String)>,
        points: &mut usize,
    ) -> Result<()> {
        check_depth(depth)?;
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let problem = self
                        .point(kind, r.bytes()?, depth + 1)
                        .map_err(|e| e.at(format!("data_points[{points}]")))?;
                    if let Some(problem) = problem {
                        problems.push((*points, problem));
                    }
                    *points += 1;
                }
                (2, VARINT) if (1..=3).contains(&kind) => m.temporality = r.varint()? as i32,
                (3, VARINT) if kind == 1 => m.monotonic = r.varint()? != 0,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        Ok(())
    }
}

impl<'a> Items<'a> for Metrics<'a> {
    fn item(&mut self, buf: &'a [u8], at: Location, depth: u32) -> Result<usize> {
        check_depth(depth)?;
        let mut m = MetricFields::default();
        // the data oneof: the last member wins; the same member seen again is merged
        let mut kind: Option<usize> = None;
        let mut chunks: Vec<&'a [u8]> = Vec::new();
        let mut replaced: Vec<(usize, &'a [u8])> = Vec::new();
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            let member = KINDS.iter().position(|(f, _)| *f == field);
            match (field, wire_type, member) {
                (1, LEN, _) => m.name = r.string().map_err(|e| e.at("name"))?,
                (2, LEN, _) => m.description = r.string().map_err(|e| e.at("description"))?,
                (3, LEN, _) => m.unit = r.string().map_err(|e| e.at("unit"))?,
                (12, LEN, _) => {
                    let i = m.metadata.len();
                    let kv = parse_kv(r.bytes()?, depth + 1)
                        .map_err(|e| e.at(format!("metadata[{i}]")))?;
                    m.metadata.push(kv);
                }
                (_, LEN, Some(member)) => {
                    let bytes = r.bytes()?;
                    if kind != Some(member) {
                        if let Some(old) = kind {
                            replaced.extend(chunks.drain(..).map(|c| (old, c)));
                        }
                        kind = Some(member);
                    }
                    chunks.push(bytes);
                }
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        if !replaced.is_empty() {
            // upb parses (so validates) replaced members too; their points are not kept
            let scratch = self.discarded.get_or_insert_with(Default::default);
            let mut fields = MetricFields::default();
            let (mut problems, mut points) = (Vec::new(), 0);
            for (old, chunk) in replaced {
                scratch
                    .data(
                        old,
                        chunk,
                        depth + 1,
                        &mut fields,
                        &mut problems,
                        &mut points,
                    )
                    .map_err(|e| e.at(KINDS[old].1))?;
            }
        }
        let Some(kind) = kind else {
            return Ok(0);
        };
        let first = self.flags.len();
        let (mut problems, mut points) = (Vec::new(), 0);
        for chunk in chunks {
            self.data(kind, chunk, depth + 1, &mut m, &mut problems, &mut points)
                .map_err(|e| e.at(KINDS[kind].1))?;
        }
        for (i, problem) in problems {
            self.errors.add(first + i, || {
                format!(
                    "{}[{}].{}[{}].{}[{}].{}.data_points[{i}].{problem}",
                    NAMES.resources,
                    at.resource,
                    NAMES.scopes,
                    at.scope,
                    NAMES.items,
                    at.item,
                    KINDS[kind].1
                )
            });
        }
        self.metric_columns(&m, kind, points)?;
        Ok(points)
    }
}

/// Decode a serialized `ExportMetricsServiceRequest`.
pub fn decode(buf: &[u8]) -> Result<Decoded> {
    let mut c = Metrics::default();
    // a data point is rarely under 64 bytes (times, a value, an attribute): reserve for that
    c.reserve(buf.len() / 64);
    let mut resource_scope = ResourceScope::default();
    resource_scope.walk(buf, &NAMES, &mut c)?;
    crate::check_strindex(
        c.metadata.key_strindex
            || c.attrs.key_strindex
            || c.exemplars.attrs.key_strindex
            || resource_scope.key_strindex(),
        c.metadata.strindex()
            || c.attrs.strindex()
            || c.exemplars.attrs.strindex()
            || resource_scope.strindex(),
    )?;
    let rows = c.flags.len();
    let mut columns = vec![
        c.name.finish()?,
        c.description.finish()?,
        c.unit.finish()?,
        c.kind.finish()?,
        c.temporality.finish(DataType::Int32)?,
        c.monotonic.finish()?,
        c.metadata.finish()?,
        c.attrs.finish()?,
        c.start.finish(DataType::Int64)?,
        c.time.finish(DataType::Int64)?,
        c.flags.finish(DataType::UInt32)?,
        c.value_double.finish(DataType::Float64)?,
        c.value_int.finish(DataType::Int64)?,
        c.count.finish(DataType::UInt64)?,
        c.sum.finish(DataType::Float64)?,
        c.min.finish(DataType::Float64)?,
        c.max.finish(DataType::Float64)?,
        c.bucket_counts.finish(DataType::UInt64)?,
        c.explicit_bounds.finish(DataType::Float64)?,
        c.scale.finish(DataType::Int32)?,
        c.zero_count.finish(DataType::UInt64)?,
        c.zero_threshold.finish(DataType::Float64)?,
        c.positive_offset.finish(DataType::Int32)?,
        c.positive_counts.finish(DataType::UInt64)?,
        c.negative_offset.finish(DataType::Int32)?,
        c.negative_counts.finish(DataType::UInt64)?,
        c.quantiles.finish()?,
        c.exemplars.finish()?,
    ];
    columns.extend(resource_scope.columns()?);
    Ok(Decoded {
        columns,
        rows,
        bad_rows: c.errors.rows,
        first_error: c.errors.first,
    })
}
