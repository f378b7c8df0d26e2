//! `ExportTraceServiceRequest` -> the traces columns (`otlp_arrow.convert._spans`).

use arrow_schema::DataType;

use crate::attrs::Attributes;
use crate::columns::{
    list_of, offset, struct_of, DictStrings, FixedIds, Primitive, Strings, Timestamps,
};
use crate::resource::{Items, Location, Names, ResourceScope};
use crate::wire::{check_depth, Reader, Result, I32, I64, LEN, VARINT};
use crate::{Decoded, RowErrors};

const NAMES: Names = Names {
    resources: "resource_spans",
    scopes: "scope_spans",
    items: "spans",
};

struct Spans<'a> {
    trace_id: FixedIds,
    span_id: FixedIds,
    parent: FixedIds,
    trace_state: DictStrings<'a>,
    flags: Primitive<u32>,
    name: DictStrings<'a>,
    kind: Primitive<i32>,
    start: Timestamps,
    end: Timestamps,
    duration: Primitive<i64>,
    status_code: Primitive<i32>,
    status_message: DictStrings<'a>,
    attrs: Attributes<'a>,
    dropped_attrs: Primitive<u32>,
    event_offsets: Vec<i32>,
    ev_time: Timestamps,
    ev_name: DictStrings<'a>,
    ev_attrs: Attributes<'a>,
    ev_dropped: Primitive<u32>,
    dropped_events: Primitive<u32>,
    link_offsets: Vec<i32>,
    link_trace: FixedIds,
    link_span: FixedIds,
    link_state: Strings,
    link_attrs: Attributes<'a>,
    link_dropped: Primitive<u32>,
    link_flags: Primitive<u32>,
    dropped_links: Primitive<u32>,
    errors: RowErrors,
}

/// The row problems of one span, first by the order the Python converter checks them in.
#[derive(Default)]
struct SpanProblems {
    event_time: Option<u64>,
    link_trace: Option<String>,
    link_span: Option<String>,
}

impl<'a> Spans<'a> {
    fn new() -> Self {
        Spans {
            trace_id: FixedIds::new(16),
            span_id: FixedIds::new(8),
            parent: FixedIds::new(8),
            trace_state: DictStrings::default(),
            flags: Primitive::default(),
            name: DictStrings::default(),
            kind: Primitive::default(),
            start: Timestamps::default(),
            end: Timestamps::default(),
            duration: Primitive::default(),
            status_code: Primitive::default(),
            status_message: DictStrings::default(),
            attrs: Attributes::default(),
            dropped_attrs: Primitive::default(),
            event_offsets: vec![0],
            ev_time: Timestamps::default(),
            ev_name: DictStrings::default(),
            ev_attrs: Attributes::default(),
            ev_dropped: Primitive::default(),
            dropped_events: Primitive::default(),
            link_offsets: vec![0],
            link_trace: FixedIds::new(16),
            link_span: FixedIds::new(8),
            link_state: Strings::default(),
            link_attrs: Attributes::default(),
            link_dropped: Primitive::default(),
            link_flags: Primitive::default(),
            dropped_links: Primitive::default(),
            errors: RowErrors::default(),
        }
    }

    fn reserve(&mut self, rows: usize, attributes: usize) {
        self.attrs.reserve(rows, attributes);
        for ids in [&mut self.trace_id, &mut self.span_id, &mut self.parent] {
            ids.reserve(rows);
        }
        for column in [
            &mut self.flags,
            &mut self.dropped_attrs,
            &mut self.dropped_events,
        ] {
            column.values.reserve(rows);
        }
        for column in [&mut self.start, &mut self.end, &mut self.duration] {
            column.values.reserve(rows);
        }
        for column in [
            &mut self.name,
            &mut self.trace_state,
            &mut self.status_message,
        ] {
            column.indices.reserve(rows);
        }
        self.kind.values.reserve(rows);
        self.status_code.values.reserve(rows);
        self.dropped_links.values.reserve(rows);
        self.event_offsets.reserve(rows);
        self.link_offsets.reserve(rows);
    }

    fn event(&mut self, buf: &'a [u8], depth: u32, problems: &mut SpanProblems) -> Result<()> {
        check_depth(depth)?;
        let (mut time, mut name, mut dropped) = (0u64, "", 0u32);
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, I64) => time = r.fixed64()?,
                (2, LEN) => name = r.string().map_err(|e| e.at("name"))?,
                (3, LEN) => self
                    .ev_attrs
                    .push_wire(r.bytes()?, depth + 1)
                    .map_err(|e| e.at("attributes"))?,
                (4, VARINT) => dropped = r.varint()? as u32,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        if !self.ev_time.push_time(time) && problems.event_time.is_none() {
            problems.event_time = Some(time);
        }
        self.ev_name.push(name)?;
        self.ev_attrs.end_row()?;
        self.ev_dropped.push(dropped);
        Ok(())
    }

    fn link(&mut self, buf: &'a [u8], depth: u32, problems: &mut SpanProblems) -> Result<()> {
        check_depth(depth)?;
        let (mut trace_id, mut span_id, mut state): (&[u8], &[u8], &str) = (b"", b"", "");
        let (mut dropped, mut flags) = (0u32, 0u32);
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => trace_id = r.bytes()?,
                (2, LEN) => span_id = r.bytes()?,
                (3, LEN) => state = r.string().map_err(|e| e.at("trace_state"))?,
                (4, LEN) => self
                    .link_attrs
                    .push_wire(r.bytes()?, depth + 1)
                    .map_err(|e| e.at("attributes"))?,
                (5, VARINT) => dropped = r.varint()? as u32,
                (6, I32) => flags = r.fixed32()?,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        if let Some(e) = self.link_trace.push(trace_id, false) {
            problems.link_trace.get_or_insert(e);
        }
        if let Some(e) = self.link_span.push(span_id, false) {
            problems.link_span.get_or_insert(e);
        }
        self.link_state.push(state.as_bytes())?;
        self.link_attrs.end_row()?;
        self.link_dropped.push(dropped);
        self.link_flags.push(flags);
        Ok(())
    }

    fn finish(self, resource_scope: &ResourceScope<'a>) -> Result<Decoded> {
        let fatal = self.attrs.key_strindex
            || self.ev_attrs.key_strindex
            || self.link_attrs.key_strindex
            || resource_scope.key_strindex();
        let strindex = self.attrs.strindex()
            || self.ev_attrs.strindex()
            || self.link_attrs.strindex()
            || resource_scope.strindex();
        crate::check_strindex(fatal, strindex)?;
        let events = struct_of(
            vec![
                self.ev_time.finish(DataType::Int64)?,
                self.ev_name.finish()?,
                self.ev_attrs.finish()?,
                self.ev_dropped.finish(DataType::UInt32)?,
            ],
            None,
        )?;
        let links = struct_of(
            vec![
                self.link_trace.finish()?,
                self.link_span.finish()?,
                self.link_state.finish(DataType::Utf8)?,
                self.link_attrs.finish()?,
                self.link_dropped.finish(DataType::UInt32)?,
                self.link_flags.finish(DataType::UInt32)?,
            ],
            None,
        )?;
        let rows = self.kind.len();
        let mut columns = vec![
            self.trace_id.finish()?,
            self.span_id.finish()?,
            self.parent.finish()?,
            self.trace_state.finish()?,
            self.flags.finish(DataType::UInt32)?,
            self.name.finish()?,
            self.kind.finish(DataType::Int32)?,
            self.start.finish(DataType::Int64)?,
            self.end.finish(DataType::Int64)?,
            self.duration.finish(DataType::Int64)?,
            self.status_code.finish(DataType::Int32)?,
            self.status_message.finish()?,
            self.attrs.finish()?,
            self.dropped_attrs.finish(DataType::UInt32)?,
            list_of(self.event_offsets, events, None)?,
            self.dropped_events.finish(DataType::UInt32)?,
            list_of(self.link_offsets, links, None)?,
            self.dropped_links.finish(DataType::UInt32)?,
        ];
        columns.extend(resource_scope.columns()?);
        Ok(Decoded {
            columns,
            rows,
            bad_rows: self.errors.rows,
            first_error: self.errors.first,
        })
    }
}

impl<'a> Items<'a> for Spans<'a> {
    fn item(&mut self, buf: &'a [u8], at: Location, depth: u32) -> Result<usize> {
        check_depth(depth)?;
        let (mut trace_id, mut span_id, mut parent): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
        let (mut trace_state, mut name) = ("", "");
        let (mut flags, mut kind, mut start, mut end) = (0u32, 0i32, 0u64, 0u64);
        let (mut dropped_attrs, mut dropped_events, mut dropped_links) = (0u32, 0u32, 0u32);
        let mut status: Option<(i32, &'a str)> = None;
        let mut problems = SpanProblems::default();
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => trace_id = r.bytes()?,
                (2, LEN) => span_id = r.bytes()?,
                (3, LEN) => trace_state = r.string().map_err(|e| e.at("trace_state"))?,
                (4, LEN) => parent = r.bytes()?,
                (5, LEN) => name = r.string().map_err(|e| e.at("name"))?,
                (6, VARINT) => kind = r.varint()? as i32,
                (7, I64) => start = r.fixed64()?,
                (8, I64) => end = r.fixed64()?,
                (9, LEN) => self
                    .attrs
                    .push_wire(r.bytes()?, depth + 1)
                    .map_err(|e| e.at("attributes"))?,
                (10, VARINT) => dropped_attrs = r.varint()? as u32,
                (11, LEN) => {
                    let i = self.ev_name.len()
                        - self.event_offsets[self.event_offsets.len() - 1] as usize;
                    self.event(r.bytes()?, depth + 1, &mut problems)
                        .map_err(|e| e.at(format!("events[{i}]")))?
                }
                (12, VARINT) => dropped_events = r.varint()? as u32,
                (13, LEN) => {
                    let i = self.link_state.offsets.len()
                        - 1
                        - self.link_offsets[self.link_offsets.len() - 1] as usize;
                    self.link(r.bytes()?, depth + 1, &mut problems)
                        .map_err(|e| e.at(format!("links[{i}]")))?
                }
                (14, VARINT) => dropped_links = r.varint()? as u32,
                (15, LEN) => {
                    let merged = status.get_or_insert((0, ""));
                    status_into(merged, r.bytes()?, depth + 1).map_err(|e| e.at("status"))?
                }
                (16, I32) => flags = r.fixed32()?,
                _ => r.skip(field, wire_type, depth)?,
            }
        }
        // the row's problems, in the order `SpanColumns.finish` finds them
        let mut first: Option<String> = None;
        let start_ok = self.start.push_time(start);
        let end_ok = self.end.push_time(end);
        if !start_ok {
            first = Some(beyond("start_time_unix_nano", start));
        } else if !end_ok {
            first = Some(beyond("end_time_unix_nano", end));
        } else if let Some(time) = problems.event_time {
            first = Some(format!(
                "events.time_unix_nano: {time} is beyond the timestamp range"
            ));
        } else if let Some(e) = problems.link_trace {
            first = Some(format!("links.trace_id: {e}"));
        } else if let Some(e) = problems.link_span {
            first = Some(format!("links.span_id: {e}"));
        }
        let trace_problem = self.trace_id.push(trace_id, false);
        let span_problem = self.span_id.push(span_id, false);
        let parent_problem = self.parent.push(parent, true);
        if first.is_none() {
            first = trace_problem
                .map(|e| format!("trace_id: {e}"))
                .or_else(|| span_problem.map(|e| format!("span_id: {e}")))
                .or_else(|| parent_problem.map(|e| format!("parent_span_id: {e}")));
        }
        if let Some(problem) = first {
            self.errors.add(self.kind.len(), || {
                format!(
                    "{}[{}].{}[{}].{}[{}].{problem}",
                    NAMES.resources, at.resource, NAMES.scopes, at.scope, NAMES.items, at.item
                )
            });
        }
        self.duration
            .push_opt(match (start_ok && start != 0, end_ok && end != 0) {
                (true, true) => Some((end as i64).wrapping_sub(start as i64)),
                _ => None,
            });
        self.trace_state.push(trace_state)?;
        self.flags.push(flags);
        self.name.push(name)?;
        self.kind.push(kind);
        match status {
            Some((code, message)) => {
                self.status_code.push(code);
                self.status_message.push(message)?;
            }
            None => {
                self.status_code.push_null();
                self.status_message.push_null();
            }
        }
        self.attrs.end_row()?;
        self.dropped_attrs.push(dropped_attrs);
        self.event_offsets.push(offset(self.ev_name.len())?);
        self.dropped_events.push(dropped_events);
        self.link_offsets
            .push(offset(self.link_state.offsets.len() - 1)?);
        self.dropped_links.push(dropped_links);
        Ok(1)
    }
}

fn status_into<'a>(status: &mut (i32, &'a str), buf: &'a [u8], depth: u32) -> Result<()> {
    check_depth(depth)?;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        match (field, wire_type) {
            (2, LEN) => status.1 = r.string().map_err(|e| e.at("message"))?,
            (3, VARINT) => status.0 = r.varint()? as i32,
            _ => r.skip(field, wire_type, depth)?,
        }
    }
    Ok(())
}

#[cold]
pub fn beyond(field: &str, value: u64) -> String {
    format!(
        "{field}: {value} is beyond the timestamp range (max {})",
        i64::MAX
    )
}

/// Decode a serialized `ExportTraceServiceRequest`.
pub fn decode(buf: &[u8]) -> Result<Decoded> {
    let mut spans = Spans::new();
    // a span is rarely under 100 bytes, an attribute under 20: reserve for that
    spans.reserve(buf.len() / 128, buf.len() / 32);
    let mut resource_scope = ResourceScope::default();
    resource_scope.walk(buf, &NAMES, &mut spans)?;
    spans.finish(&resource_scope)
}
