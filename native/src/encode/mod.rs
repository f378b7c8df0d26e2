//! The encoder: Arrow tables of `otlp_arrow.schema` in, serialized OTLP export requests out
//! (what `otlp_arrow.convert.to_otlp` builds, serialized; a differential test holds the two
//! together). The table arrives as one struct array (its columns) through the Arrow C Data
//! Interface; values are read in place and written straight to the protobuf wire.

pub mod attrs;
pub mod cols;
pub mod group;
pub mod json;
pub mod logs;
pub mod metrics;
pub mod pb;
pub mod traces;

use arrow_array::{Array, StructArray};

use crate::wire::{Error, Result};
use crate::Signal;

/// The signals encoded here (others take the Python route).
pub const SIGNALS: &[&str] = &["traces", "logs", "metrics"];

/// Encode rows `rows` of `table` (the columns of `signal`'s schema) as one export request.
pub fn encode(
    signal: Signal,
    table: &StructArray,
    rows: std::ops::Range<usize>,
) -> Result<Vec<u8>> {
    if rows.end > table.len() || rows.start > rows.end {
        return Err(Error::new(format!(
            "rows {}..{} out of a table of {}",
            rows.start,
            rows.end,
            table.len()
        )));
    }
    let mut w = pb::Writer {
        buf: Vec::with_capacity(rows.len() * 256 + 64),
    };
    match signal {
        Signal::Traces => traces::encode(table, rows, &mut w)?,
        Signal::Logs => logs::encode(table, rows, &mut w)?,
        Signal::Metrics => metrics::encode(table, rows, &mut w)?,
    }
    Ok(w.buf)
}

/// [`encode`], with any panic turned into an error (nothing unwinds past this point).
pub fn encode_caught(
    signal: Signal,
    table: &StructArray,
    rows: std::ops::Range<usize>,
) -> Result<Vec<u8>> {
    // The table is only read: a panic half-way leaves nothing half-changed behind.
    let call = std::panic::AssertUnwindSafe(|| encode(signal, table, rows));
    match std::panic::catch_unwind(call) {
        Ok(result) => result,
        Err(panic) => Err(Error::new(format!(
            "internal error in the native encoder: {}",
            crate::panic_message(panic.as_ref())
        ))),
    }
}
