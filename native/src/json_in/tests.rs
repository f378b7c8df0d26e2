use super::scan::Defer;
use super::*;
use crate::decode;

fn seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(dir);
    let mut found: Vec<_> = std::fs::read_dir(root)
        .expect("seeds")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(path).expect("seed"))
        })
        .collect();
    found.sort();
    found
}

const SIGNALS: [(&str, Signal); 3] = [
    ("traces", Signal::Traces),
    ("logs", Signal::Logs),
    ("metrics", Signal::Metrics),
];

/// Each JSON seed is the protobuf seed of the same name written as OTLP/JSON (by
/// `json_wire.encode_request`): transcoded, it decodes to the very same columns.
#[test]
fn json_seeds_decode_to_the_columns_of_their_protobuf_twins() {
    for (name, signal) in SIGNALS {
        let protobuf = seeds(&format!("decode_{name}"));
        let json = seeds(&format!("decode_json_{name}"));
        assert_eq!(protobuf.len(), json.len());
        for ((pb_name, pb), (json_name, text)) in protobuf.iter().zip(&json) {
            assert_eq!(pb_name, json_name);
            let wire = transcode(signal, text).expect("a seed transcodes");
            let got = decode(signal, &wire).expect("and decodes");
            let want = decode(signal, pb).expect("the twin decodes");
            assert_eq!(got.rows, want.rows);
            assert!(got.rows > 0);
            // JSON has one NaN ("NaN"): a protobuf NaN's payload bits do not survive it
            let has_nan = text.windows(5).any(|w| w == b"\"NaN\"");
            for (i, (g, w)) in got.columns.iter().zip(&want.columns).enumerate() {
                assert!(g == w || has_nan, "{name}/{json_name}: column {i} differs");
            }
            assert_eq!(got.bad_rows, want.bad_rows);
            for cut in (0..text.len()).step_by(11) {
                assert_eq!(transcode(signal, &text[..cut]), Err(Defer));
            }
        }
    }
}

#[test]
fn deep_nesting_is_handed_over_not_a_crash() {
    let mut text = b"{\"x\":".to_vec();
    text.extend(std::iter::repeat_n(b'[', 100_000));
    text.extend(std::iter::repeat_n(b']', 100_000));
    text.push(b'}');
    assert_eq!(transcode(Signal::Traces, &text), Err(Defer));
    let mut value = String::from("{\"intValue\":1}");
    for _ in 0..40 {
        value = format!("{{\"kvlistValue\":{{\"values\":[{{\"key\":\"k\",\"value\":{value}}}]}}}}");
    }
    let text = format!(
        "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"attributes\":\
         [{{\"key\":\"k\",\"value\":{value}}}]}}]}}]}}]}}"
    );
    assert_eq!(transcode(Signal::Traces, text.as_bytes()), Err(Defer));
}

#[test]
fn scalars_are_written_as_the_wire_has_them() {
    let span = |fields: &str| {
        let text =
            format!("{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{{fields}}}]}}]}}]}}");
        transcode(Signal::Traces, text.as_bytes()).map(|wire| {
            // the span's own bytes: three levels of one-byte tags and lengths
            wire[6..].to_vec()
        })
    };
    assert_eq!(span("\"spanId\":\"0102\""), Ok(vec![0x12, 2, 1, 2]));
    assert_eq!(span("\"kind\":\"SPAN_KIND_CLIENT\""), Ok(vec![0x30, 3]));
    assert_eq!(span("\"kind\":-1").map(|w| w.len()), Ok(11));
    assert_eq!(
        span("\"startTimeUnixNano\":\"1\"").map(|w| w[..2].to_vec()),
        Ok(vec![0x39, 1])
    );
    assert_eq!(span("\"droppedEventsCount\":4294967296"), Err(Defer));
    assert_eq!(span("\"name\":\"\\u00e9\""), Ok(vec![0x2a, 2, 0xc3, 0xa9]));
    assert_eq!(span("\"name\":\"\\ud800\""), Err(Defer));
    assert_eq!(span("\"name\":\"a\",\"name\":\"b\""), Err(Defer));
    assert_eq!(span("\"name\":null"), Err(Defer));
    assert_eq!(span("\"traceId\":\"0g\""), Err(Defer));
    assert_eq!(span("\"x\":{\"spanId\":\"0g\"}"), Err(Defer));
    assert_eq!(span("\"x\":{\"spanId\":\"0f\"}"), Ok(vec![]));
}

#[test]
fn base64_takes_the_unambiguous_forms() {
    let decode = |text: &[u8]| {
        let mut out = Vec::new();
        bytes::push_base64(text, &mut out).map(|()| out)
    };
    assert_eq!(decode(b"AAE="), Ok(vec![0, 1]));
    assert_eq!(decode(b"AAE"), Ok(vec![0, 1]));
    assert_eq!(decode(b"-_8"), Ok(vec![0xfb, 0xff]));
    assert_eq!(decode(b"AQ=="), Ok(vec![1]));
    assert_eq!(decode(b""), Ok(vec![]));
    assert_eq!(decode(b"A"), Err(Defer));
    assert_eq!(decode(b"AAAA="), Err(Defer));
    assert_eq!(decode(b"AQ="), Err(Defer));
    assert_eq!(decode(b"A A="), Err(Defer));
}
