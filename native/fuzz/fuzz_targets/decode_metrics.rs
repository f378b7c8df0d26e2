//! Any bytes: decoding never panics, and what it accepts is valid Arrow.
#![no_main]
use libfuzzer_sys::fuzz_target;
use otlp_arrow_native::{columns::struct_of_len, decode, Signal};

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = decode(Signal::Metrics, data) {
        let rows = decoded.rows;
        let array = struct_of_len(decoded.columns, None, rows).expect("columns of one length");
        array.validate_full().expect("valid Arrow");
    }
});
