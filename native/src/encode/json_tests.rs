//! The JSON reader's tests.

use super::*;

fn array(text: &str) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    array_value(&mut w, text)?;
    Ok(w.buf)
}

#[test]
fn scalars_and_nesting() {
    let got = array(r#"{"values":[{"stringValue":"a\u00e9\ud83d\ude00"},{"intValue":"-1"},{}]}"#)
        .expect("valid");
    let mut want = Writer::default();
    let o = want.open(1, 1);
    want.bytes(1, "aé😀".as_bytes());
    want.close(o);
    let o = want.open(1, 1);
    want.tag(3, VARINT);
    want.varint(u64::MAX);
    want.close(o);
    let o = want.open(1, 1);
    want.close(o);
    assert_eq!(got, want.buf);
    assert!(array(r#"{"values":[{"doubleValue":"NaN"},{"arrayValue":{}}]}"#).is_ok());
    assert_eq!(array("{}").expect("empty"), Vec::<u8>::new());
}

#[test]
fn refusals() {
    for text in [
        "",
        "{",
        r#"{"values":[{"stringValue":"a","intValue":"1"}]}"#,
        r#"{"values":[{"intValue":"99999999999999999999"}]}"#,
        r#"{"values":[{"bytesValue":"!!"}]}"#,
        r#"{"values":[{"stringValue":"\ud800"}]}"#,
        r#"{"values":[{"other":1}]}"#,
        "{} x",
    ] {
        assert!(array(text).is_err(), "{text}");
    }
    let deep = format!(
        "{}{}",
        r#"{"values":[{"arrayValue":"#.repeat(200),
        "}]}".repeat(200)
    );
    assert!(array(&deep).is_err());
}

#[test]
fn base64_decodes() {
    assert_eq!(base64("aGk=").as_deref(), Some(&b"hi"[..]));
    assert_eq!(base64("").as_deref(), Some(&b""[..]));
    assert_eq!(base64("a"), None);
}
