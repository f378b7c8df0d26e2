//! The pieces of OTLP/JSON text exactly as Python writes them
//! (`json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)` over the objects
//! `otlp_arrow.convert._values` builds): strings, doubles (`float.__repr__`), base64.

use std::fmt::Write;

/// Append `s` as a JSON string literal, escaped as Python's `json` does with
/// `ensure_ascii=False`: `"` `\` and control characters only.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Append a finite double as Python's `repr(float)`: the shortest digits that round-trip,
/// positional for exponents -4..16, else `d.ddde+XX`.
pub fn push_f64(out: &mut String, value: f64) {
    // `{:e}` gives the shortest round-trip digits in scientific form: "1.5e-7", "-0e0"
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..-point {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Append standard base64 with padding (Python's `base64.b64encode`).
pub fn push_base64(out: &mut String, data: &[u8]) {
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = [18, 12, 6, 0].map(|shift| B64[((n >> shift) & 63) as usize] as char);
        out.push(chars[0]);
        out.push(chars[1]);
        out.push(if chunk.len() > 1 { chars[2] } else { '=' });
        out.push(if chunk.len() > 2 { chars[3] } else { '=' });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, v);
        s
    }

    #[test]
    fn doubles_as_python_repr() {
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1.0), "1.0");
        assert_eq!(f(-0.0), "-0.0");
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1.5e16), "1.5e+16");
        assert_eq!(f(123456789012345.6), "123456789012345.6");
        assert_eq!(f(1e15), "1000000000000000.0");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(f(5e-324), "5e-324");
        assert_eq!(f(2.5e-5), "2.5e-05");
    }

    #[test]
    fn strings_and_base64() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\\n\u{1}é\u{7f}");
        assert_eq!(s, "\"a\\\"b\\\\\\n\\u0001é\u{7f}\"");
        let mut b = String::new();
        push_base64(&mut b, b"abcd");
        assert_eq!(b, "YWJjZA==");
    }
}
