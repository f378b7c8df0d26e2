//! The byte-string forms of OTLP/JSON: hex ids and base64 `bytes` fields, decoded as the
//! reference decodes them (or deferred where it would be unsure).

use super::scan::{Defer, R};

/// Each byte's value as a hex digit, 0xFF for the others.
static HEX: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Hex digits, two per byte (what `bytes.fromhex` takes, less its whitespace).
pub fn check_hex(text: &[u8]) -> R<()> {
    let bad = text.iter().fold(0, |bad, &c| bad | HEX[usize::from(c)]);
    if !text.len().is_multiple_of(2) || bad & 0xF0 != 0 {
        return Err(Defer);
    }
    Ok(())
}

/// Appends the bytes of hex `text` (as [`check_hex`] takes it).
#[inline]
pub fn push_hex(text: &[u8], out: &mut Vec<u8>) -> R<()> {
    if !text.len().is_multiple_of(2) {
        return Err(Defer);
    }
    let mut bad = 0;
    out.extend(text.chunks_exact(2).map(|pair| {
        let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        bad |= hi | lo;
        hi << 4 | lo
    }));
    if bad & 0xF0 != 0 {
        return Err(Defer);
    }
    Ok(())
}

/// Appends the bytes of base64 `text`, as `json_format` reads a bytes field (padding added,
/// then `base64.urlsafe_b64decode`), for the unambiguous forms: the standard or the URL-safe
/// alphabet, unpadded or correctly padded. Other forms are deferred.
pub fn push_base64(text: &[u8], out: &mut Vec<u8>) -> R<()> {
    let data_len = text.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let pads = text.len() - data_len;
    let ok = match data_len % 4 {
        0 => pads == 0,
        2 => pads == 0 || pads == 2,
        3 => pads <= 1,
        _ => false,
    };
    if !ok {
        return Err(Defer);
    }
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in &text[..data_len] {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err(Defer),
        };
        acc = (acc << 6 | u32::from(v)) & 0xFF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(())
}
