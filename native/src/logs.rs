//! `ExportLogsServiceRequest` -> the logs columns (`otlp_arrow.convert._logs`).

use arrow_schema::DataType;

use crate::anyvalue::{merge_any, Any};
use crate::attrs::{AnyValues, Attributes};
use crate::columns::{DictStrings, FixedIds, Primitive, Timestamps};
use crate::resource::{Items, Location, Names, ResourceScope};
use crate::traces::beyond;
use crate::wire::{check_depth, Reader, Result, I32, I64, LEN, VARINT};
use crate::{Decoded, RowErrors};

const NAMES: Names = Names {
    resources: "resource_logs",
    scopes: "scope_logs",
    items: "log_records",
};

struct Logs<'a> {
    time: Timestamps,
    observed: Timestamps,
    severity_number: Primitive<i32>,
    severity_text: DictStrings<'a>,
    body: AnyValues,
    attrs: Attributes<'a>,
    dropped: Primitive<u32>,
    flags: Primitive<u32>,
    trace_id: FixedIds,
    span_id: FixedIds,
    event_name: DictStrings<'a>,
    errors: RowErrors,
}

impl<'a> Items<'a> for Logs<'a> {
    fn item(&mut self, buf: &'a [u8], at: Location, depth: u32) -> Result<usize> {
        check_depth(depth)?;
        let (mut time, mut observed, mut severity, mut dropped, mut flags) = (0, 0, 0i32, 0, 0);
        let (mut severity_text, mut event_name) = ("", "");
        let (mut trace_id, mut span_id): (&[u8], &[u8]) = (b"", b"");
        let mut body: Option<Any<'a>> = None;
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, I64) => time = r.fixed64()?,
                (11, I64) => observed = r.fixed64()?,
                (2, VARINT) => severity = r.varint()? as i32,
                (3, LEN) => severity_text = r.string().map_err(|e| e.at("severity_text"))?,
                (5, LEN) => {
                    let bytes = r.bytes()?;
                    let value = body.get_or_insert(Any::Empty);
                    merge_any(value, bytes, depth + 1).map_err(|e| e.at("body"))?;
                }
                (6, LEN) => self
                    .attrs
                    .push_wire(r.bytes()?, depth + 1)
                    .map_err(|e| e.at("attributes"))?,
                (7, VARINT) => dropped = r.varint()? as u32,
                (8, I32) => flags = r.fixed32()?,
                (9, LEN) => trace_id = r.bytes()?,
                (10, LEN) => span_id = r.bytes()?,
                (12, LEN) => event_name = r.string().map_err(|e| e.at("event_name"))?,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        // the row's problems, in the order `LogColumns.finish` finds them
        let time_ok = self.time.push_time(time);
        let observed_ok = self.observed.push_time(observed);
        let trace_problem = self.trace_id.push(trace_id, true);
        let span_problem = self.span_id.push(span_id, true);
        let problem = if !time_ok {
            Some(beyond("time_unix_nano", time))
        } else if !observed_ok {
            Some(beyond("observed_time_unix_nano", observed))
        } else {
            trace_problem
                .map(|e| format!("trace_id: {e}"))
                .or_else(|| span_problem.map(|e| format!("span_id: {e}")))
        };
        if let Some(problem) = problem {
            self.errors.add(self.flags.len(), || {
                format!(
                    "{}[{}].{}[{}].{}[{}].{problem}",
                    NAMES.resources, at.resource, NAMES.scopes, at.scope, NAMES.items, at.item
                )
            });
        }
        self.severity_number.push(severity);
        self.severity_text.push(severity_text)?;
        self.body.push(body.as_ref())?;
        self.attrs.end_row()?;
        self.dropped.push(dropped);
        self.flags.push(flags);
        self.event_name.push(event_name)?;
        Ok(1)
    }
}

/// Decode a serialized `ExportLogsServiceRequest`.
pub fn decode(buf: &[u8]) -> Result<Decoded> {
    let mut logs = Logs {
        time: Timestamps::default(),
        observed: Timestamps::default(),
        severity_number: Primitive::default(),
        severity_text: DictStrings::default(),
        body: AnyValues::default(),
        attrs: Attributes::default(),
        dropped: Primitive::default(),
        flags: Primitive::default(),
        trace_id: FixedIds::new(16),
        span_id: FixedIds::new(8),
        event_name: DictStrings::default(),
        errors: RowErrors::default(),
    };
    let mut resource_scope = ResourceScope::default();
    resource_scope.walk(buf, &NAMES, &mut logs)?;
    crate::check_strindex(
        logs.attrs.key_strindex || resource_scope.key_strindex(),
        logs.attrs.strindex() || logs.body.strindex || resource_scope.strindex(),
    )?;
    let rows = logs.flags.len();
    let mut columns = vec![
        logs.time.finish(DataType::Int64)?,
        logs.observed.finish(DataType::Int64)?,
        logs.severity_number.finish(DataType::Int32)?,
        logs.severity_text.finish()?,
        logs.body.finish()?,
        logs.attrs.finish()?,
        logs.dropped.finish(DataType::UInt32)?,
        logs.flags.finish(DataType::UInt32)?,
        logs.trace_id.finish()?,
        logs.span_id.finish()?,
        logs.event_name.finish()?,
    ];
    columns.extend(resource_scope.columns()?);
    Ok(Decoded {
        columns,
        rows,
        bad_rows: logs.errors.rows,
        first_error: logs.errors.first,
    })
}
