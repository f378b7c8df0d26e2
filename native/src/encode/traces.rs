//! Traces table -> `ExportTraceServiceRequest` (as `to_otlp.traces_to_otlp` builds it).

use arrow_array::{FixedSizeBinaryArray, StringArray, StructArray};

use super::attrs::Attrs;
use super::cols::{field, get, id, string, time, Dict, I32s, List, Times, U32s};
use super::group::{write_request, Shared};
use super::pb::Writer;
use crate::wire::Result;

struct Spans<'a> {
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a FixedSizeBinaryArray,
    parent: &'a FixedSizeBinaryArray,
    trace_state: Dict<'a>,
    flags: &'a U32s,
    name: Dict<'a>,
    kind: &'a I32s,
    start: &'a Times,
    end: &'a Times,
    code: &'a I32s,
    message: Dict<'a>,
    attributes: Attrs<'a>,
    dropped_attributes: &'a U32s,
    events: List<'a>,
    event: Option<Events<'a>>,
    dropped_events: &'a U32s,
    links: List<'a>,
    link: Option<Links<'a>>,
    dropped_links: &'a U32s,
}

struct Events<'a> {
    time: &'a Times,
    name: Dict<'a>,
    attributes: Attrs<'a>,
    dropped: &'a U32s,
}

struct Links<'a> {
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a FixedSizeBinaryArray,
    trace_state: &'a StringArray,
    attributes: Attrs<'a>,
    dropped: &'a U32s,
    flags: &'a U32s,
}

const ID: &str = "fixed_size_binary";

impl<'a> Spans<'a> {
    fn of(t: &'a StructArray) -> Result<Spans<'a>> {
        let events = List::field(t, "events")?;
        let e: &StructArray = events.values("events", "list<struct>")?;
        let links = List::field(t, "links")?;
        let l: &StructArray = links.values("links", "list<struct>")?;
        Ok(Spans {
            trace_id: field(t, "trace_id", ID)?,
            span_id: field(t, "span_id", ID)?,
            parent: field(t, "parent_span_id", ID)?,
            trace_state: Dict::field(t, "trace_state")?,
            flags: field(t, "flags", "uint32")?,
            name: Dict::field(t, "name")?,
            kind: field(t, "kind", "int32")?,
            start: field(t, "start_time", "timestamp[ns]")?,
            end: field(t, "end_time", "timestamp[ns]")?,
            code: field(t, "status_code", "int32")?,
            message: Dict::field(t, "status_message")?,
            attributes: Attrs::field(t, "attributes")?,
            dropped_attributes: field(t, "dropped_attributes_count", "uint32")?,
            event: Some(Events {
                time: field(e, "time", "timestamp[ns]")?,
                name: Dict::field(e, "name")?,
                attributes: Attrs::field(e, "attributes")?,
                dropped: field(e, "dropped_attributes_count", "uint32")?,
            }),
            events,
            dropped_events: field(t, "dropped_events_count", "uint32")?,
            link: Some(Links {
                trace_id: field(l, "trace_id", ID)?,
                span_id: field(l, "span_id", ID)?,
                trace_state: field(l, "trace_state", "string")?,
                attributes: Attrs::field(l, "attributes")?,
                dropped: field(l, "dropped_attributes_count", "uint32")?,
                flags: field(l, "flags", "uint32")?,
            }),
            links,
            dropped_links: field(t, "dropped_links_count", "uint32")?,
        })
    }

    fn span(&self, w: &mut Writer, i: usize) -> Result<()> {
        w.bytes_nz(1, id(self.trace_id, i));
        w.bytes_nz(2, id(self.span_id, i));
        w.bytes_nz(3, self.trace_state.str(i));
        w.bytes_nz(4, id(self.parent, i));
        w.bytes_nz(5, self.name.str(i));
        w.int32_nz(6, get(self.kind, i).unwrap_or(0));
        w.fixed64_nz(7, time(self.start, i, "start_time")?);
        w.fixed64_nz(8, time(self.end, i, "end_time")?);
        self.attributes.write(w, 9, i, "attributes")?;
        w.uint_nz(10, u64::from(get(self.dropped_attributes, i).unwrap_or(0)));
        if let Some(e) = &self.event {
            for j in self.events.range(i) {
                let open = w.open(11, 1);
                w.fixed64_nz(1, time(e.time, j, "events.time")?);
                w.bytes_nz(2, e.name.str(j));
                e.attributes.write(w, 3, j, "events.attributes")?;
                w.uint_nz(4, u64::from(get(e.dropped, j).unwrap_or(0)));
                w.close(open);
            }
        }
        w.uint_nz(12, u64::from(get(self.dropped_events, i).unwrap_or(0)));
        if let Some(l) = &self.link {
            for j in self.links.range(i) {
                let open = w.open(13, 1);
                w.bytes_nz(1, id(l.trace_id, j));
                w.bytes_nz(2, id(l.span_id, j));
                w.bytes_nz(3, string(l.trace_state, j));
                l.attributes.write(w, 4, j, "links.attributes")?;
                w.uint_nz(5, u64::from(get(l.dropped, j).unwrap_or(0)));
                w.fixed32_nz(6, get(l.flags, j).unwrap_or(0));
                w.close(open);
            }
        }
        w.uint_nz(14, u64::from(get(self.dropped_links, i).unwrap_or(0)));
        if let Some(code) = get(self.code, i) {
            let open = w.open(15, 1);
            w.bytes_nz(2, self.message.str(i));
            w.int32_nz(3, code);
            w.close(open);
        }
        w.fixed32_nz(16, get(self.flags, i).unwrap_or(0));
        Ok(())
    }
}

/// Encode rows `rows` of a traces table.
pub fn encode(table: &StructArray, rows: std::ops::Range<usize>, w: &mut Writer) -> Result<()> {
    let shared = Shared::of(table)?;
    let spans = Spans::of(table)?;
    write_request(&shared, rows, w, |w, rows| {
        for &row in rows {
            let open = w.open(2, 2);
            spans
                .span(w, row as usize)
                .map_err(|e| e.at(format_args!("row {row}")))?;
            w.close(open);
        }
        Ok(())
    })
}
