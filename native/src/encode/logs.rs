//! Logs table -> `ExportLogsServiceRequest` (as `to_otlp.logs_to_otlp` builds it).

use arrow_array::{FixedSizeBinaryArray, StructArray};

use super::attrs::{AnyValues, Attrs};
use super::cols::{child, field, get, id, time, Dict, I32s, Times, U32s};
use super::group::{write_request, Shared};
use super::pb::Writer;
use crate::wire::Result;

struct Logs<'a> {
    time: &'a Times,
    observed: &'a Times,
    severity_number: &'a I32s,
    severity_text: Dict<'a>,
    body: AnyValues<'a>,
    attributes: Attrs<'a>,
    dropped: &'a U32s,
    flags: &'a U32s,
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a FixedSizeBinaryArray,
    event_name: Dict<'a>,
}

impl<'a> Logs<'a> {
    fn of(t: &'a StructArray) -> Result<Logs<'a>> {
        Ok(Logs {
            time: field(t, "time", "timestamp[ns]")?,
            observed: field(t, "observed_time", "timestamp[ns]")?,
            severity_number: field(t, "severity_number", "int32")?,
            severity_text: Dict::field(t, "severity_text")?,
            body: AnyValues::of(child(t, "body")?, "body")?,
            attributes: Attrs::field(t, "attributes")?,
            dropped: field(t, "dropped_attributes_count", "uint32")?,
            flags: field(t, "flags", "uint32")?,
            trace_id: field(t, "trace_id", "fixed_size_binary")?,
            span_id: field(t, "span_id", "fixed_size_binary")?,
            event_name: Dict::field(t, "event_name")?,
        })
    }

    fn record(&self, w: &mut Writer, i: usize) -> Result<()> {
        w.fixed64_nz(1, time(self.time, i, "time")?);
        w.int32_nz(2, get(self.severity_number, i).unwrap_or(0));
        w.bytes_nz(3, self.severity_text.str(i));
        if !self.body.is_null(i) {
            let open = w.open(5, 1);
            self.body.write(w, i).map_err(|e| e.at("body"))?;
            w.close(open);
        }
        self.attributes.write(w, 6, i, "attributes")?;
        w.uint_nz(7, u64::from(get(self.dropped, i).unwrap_or(0)));
        w.fixed32_nz(8, get(self.flags, i).unwrap_or(0));
        w.bytes_nz(9, id(self.trace_id, i));
        w.bytes_nz(10, id(self.span_id, i));
        w.fixed64_nz(11, time(self.observed, i, "observed_time")?);
        w.bytes_nz(12, self.event_name.str(i));
        Ok(())
    }
}

/// Encode rows `rows` of a logs table.
pub fn encode(table: &StructArray, rows: std::ops::Range<usize>, w: &mut Writer) -> Result<()> {
    let shared = Shared::of(table)?;
    let logs = Logs::of(table)?;
    write_request(&shared, rows, w, |w, rows| {
        for &row in rows {
            let open = w.open(2, 2);
            logs.record(w, row as usize)
                .map_err(|e| e.at(format_args!("row {row}")))?;
            w.close(open);
        }
        Ok(())
    })
}
