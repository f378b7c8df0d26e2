//! Any bytes as OTLP/JSON logs: transcoding and decoding never panic, what the native path
//! accepts is valid Arrow, and a transcoded request decodes as protobuf.
#![no_main]
use libfuzzer_sys::fuzz_target;
use otlp_arrow_native::{columns::struct_of_len, decode, json_in, Signal};

fuzz_target!(|data: &[u8]| {
    if let Ok(wire) = json_in::transcode(Signal::Logs, data) {
        if let Ok(decoded) = decode(Signal::Logs, &wire) {
            let rows = decoded.rows;
            let array = struct_of_len(decoded.columns, None, rows).expect("columns of one length");
            array.validate_full().expect("valid Arrow");
        }
    }
});
