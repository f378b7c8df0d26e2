//! otlp-arrow's native core: serialized OTLP protobuf export requests in, Arrow arrays out.
//!
//! The protobuf wire is read by hand, exactly as upb (the Python protobuf runtime) accepts
//! it, straight into column buffers; the columns are those `otlp_arrow.convert` builds from
//! the parsed message (the Python converter is the specification; a differential test holds
//! the two together). No Python objects, no I/O, no threads in here.

pub mod any_column;
pub mod anyvalue;
pub mod attrs;
pub mod columns;
pub mod dict;
pub mod encode;
pub mod group_columns;
pub mod json;
pub mod json_in;
pub mod logs;
pub mod metric_rows;
pub mod metrics;
pub mod points;
pub mod resource;
pub mod traces;
pub mod wire;

#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod python_encode;
#[cfg(feature = "python")]
mod sdk;
#[cfg(feature = "python")]
mod sdk_logs;
#[cfg(feature = "python")]
mod sdk_metrics;
#[cfg(feature = "python")]
mod sdk_spans;

use arrow_data::ArrayData;

pub use wire::Error;

/// A converted request: one column per schema field (in schema order), the rows, and the
/// rows that cannot be stored losslessly (with the first one's message, naming the field).
pub struct Decoded {
    pub columns: Vec<ArrayData>,
    pub rows: usize,
    pub bad_rows: Vec<u32>,
    pub first_error: Option<String>,
}

/// The row problems found while decoding (rows arrive in order, so the first is the least).
#[derive(Default)]
pub struct RowErrors {
    pub rows: Vec<u32>,
    pub first: Option<String>,
}

impl RowErrors {
    #[cold]
    pub fn add(&mut self, row: usize, message: impl FnOnce() -> String) {
        self.rows.push(row as u32);
        if self.first.is_none() {
            self.first = Some(message());
        }
    }
}

/// The whole-request refusals of `otlp_arrow.convert._values` (raised whatever `strict` is):
/// profile string-table references in the top-level attributes or values.
pub fn check_strindex(key_strindex: bool, strindex: bool) -> Result<(), Error> {
    if key_strindex {
        return Err(Error::new(
            "KeyValue.key_strindex is set: string table references exist only in profiles, \
             not in traces, metrics or logs",
        ));
    }
    if strindex {
        return Err(Error::new(
            "AnyValue.string_value_strindex is set: string table references exist only in \
             profiles, not in traces, metrics or logs",
        ));
    }
    Ok(())
}

/// The signals this core decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub fn parse(name: &str) -> Option<Signal> {
        match name {
            "traces" => Some(Signal::Traces),
            "metrics" => Some(Signal::Metrics),
            "logs" => Some(Signal::Logs),
            _ => None,
        }
    }
}

/// Decode a serialized export request of `signal`.
pub fn decode(signal: Signal, buf: &[u8]) -> Result<Decoded, Error> {
    match signal {
        Signal::Traces => traces::decode(buf),
        Signal::Logs => logs::decode(buf),
        Signal::Metrics => metrics::decode(buf),
    }
}

/// [`decode`], with any panic turned into an error (nothing unwinds past this point).
pub fn decode_caught(signal: Signal, buf: &[u8]) -> Result<Decoded, Error> {
    match std::panic::catch_unwind(|| decode(signal, buf)) {
        Ok(result) => result,
        Err(panic) => Err(Error::new(format!(
            "internal error in the native decoder: {}",
            panic_message(panic.as_ref())
        ))),
    }
}

/// What a caught panic says (its `&str` or `String` payload), for the error that replaces it.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Decode an OTLP/JSON export request of `signal` through the protobuf decoder (see
/// [`json_in`]): `None` when the input is outside what the native path decides (invalid or
/// refused input among it), and the reference route must take it.
pub fn decode_json(signal: Signal, text: &[u8]) -> Option<Decoded> {
    let wire = json_in::transcode(signal, text).ok()?;
    decode(signal, &wire).ok()
}

/// [`decode_json`], with a panic turned into `None` (the reference route then decides).
pub fn decode_json_caught(signal: Signal, text: &[u8]) -> Option<Decoded> {
    std::panic::catch_unwind(|| decode_json(signal, text))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed fuzz seeds (serialized sample requests) decode into valid Arrow (debug
    /// builds validate every array fully), and every truncation of them is refused or valid.
    #[test]
    fn seeds_decode_and_truncations_never_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        for (dir, signal) in [
            ("decode_traces", Signal::Traces),
            ("decode_logs", Signal::Logs),
            ("decode_metrics", Signal::Metrics),
        ] {
            let mut seen = 0;
            for entry in std::fs::read_dir(root.join(dir)).expect("seeds") {
                let data = std::fs::read(entry.expect("entry").path()).expect("seed");
                let decoded = decode(signal, &data).expect("a seed decodes");
                assert!(decoded.rows > 0);
                for cut in (0..data.len()).step_by(7) {
                    let _ = decode_caught(signal, &data[..cut]);
                }
                seen += 1;
            }
            assert!(seen > 0);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // ExportTraceServiceRequest with resource_spans nested as unknown groups, deeply
        let mut data = Vec::new();
        for _ in 0..100_000 {
            data.extend([0x13]); // field 2, start group
        }
        let err = decode(Signal::Traces, &data).err().expect("refused");
        assert!(!err.to_string().is_empty());
    }
}
