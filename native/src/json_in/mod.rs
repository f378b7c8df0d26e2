//! OTLP/JSON in: the request text transcoded to protobuf wire bytes, which the protobuf
//! decoder (the same one `decode` uses) turns into the columns.
//!
//! The reference is `otlp_arrow.otlp.json_wire.parse` (`json.loads`, `_prepare`, then
//! protobuf's `json_format.ParseDict`) followed by the Python converter. The transcoder takes
//! the forms of OTLP/JSON that route takes without doubt — the spec's (hex ids, enums as
//! numbers or names, 64-bit integers as strings or numbers, lowerCamelCase or proto field
//! names, unknown fields skipped) — and writes what `ParseDict` would have set, field for
//! field, so `FromString` of the bytes is the message `ParseDict` builds. Everything else
//! (invalid JSON, a refusal, and the odd corners: duplicate fields, `null`s, numbers written
//! as strings for doubles, floats for integers, escaped keys, BOMs, ...) is a [`Defer`]: the
//! caller takes the reference route, which accepts or refuses it with its own message. So the
//! native path accepts a subset of what the reference accepts, with the same table, and
//! every refusal is the reference's own.

pub mod bytes;
pub mod scan;
pub mod schema;
#[rustfmt::skip] // generated data, one field a line
pub mod tables;

use bytes::{check_hex, push_base64, push_hex};
use scan::{is_id_key, Defer, Number, Scanner, Text, MAX_JSON_DEPTH, R};
use schema::{Field, Kind, Message};

use crate::Signal;

/// Messages nested (the request is 1) that the native path walks: `json_format` refuses more
/// than 100, upb more than 100 below the request; deeper input goes to the reference.
const MAX_MESSAGE_DEPTH: u32 = 90;

/// Transcode an OTLP/JSON export request of `signal` to protobuf wire bytes, or [`Defer`].
pub fn transcode(signal: Signal, text: &[u8]) -> R<Vec<u8>> {
    // json.loads reads bytes starting with a BOM or a NUL among the first four as UTF-16/32
    if text.len() < 2 || text[..4.min(text.len())].contains(&0) || text[0] >= 0x80 {
        return Err(Defer);
    }
    if std::str::from_utf8(text).is_err() {
        return Err(Defer);
    }
    let root = match signal {
        Signal::Traces => tables::TRACES_REQUEST,
        Signal::Metrics => tables::METRICS_REQUEST,
        Signal::Logs => tables::LOGS_REQUEST,
    };
    let mut tx = Transcoder {
        s: Scanner::new(text),
        out: Vec::with_capacity(text.len() / 2),
        scratch: Vec::new(),
    };
    if tx.s.peek()? != b'{' {
        return Err(Defer);
    }
    tx.message(&tables::MESSAGES[root], 1, 1)?;
    if !tx.s.at_end() {
        return Err(Defer);
    }
    Ok(tx.out)
}

struct Transcoder<'a> {
    s: Scanner<'a>,
    out: Vec<u8>,
    scratch: Vec<u8>,
}

#[inline]
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The field named `key` (its JSON name, else its proto name), trying the fields from
/// `hint` on first: members mostly come in declaration order.
#[inline]
fn find(message: &Message, key: &[u8], hint: usize) -> Option<usize> {
    let fields = message.fields;
    let same = |name: &[u8]| name.len() == key.len() && name.first() == key.first() && name == key;
    let (head, tail) = fields.split_at(hint.min(fields.len()));
    if let Some(i) = tail.iter().position(|f| same(f.json)) {
        return Some(hint + i);
    }
    if let Some(i) = head.iter().position(|f| same(f.json)) {
        return Some(i);
    }
    fields.iter().position(|f| same(f.name))
}

impl Transcoder<'_> {
    /// Starts a length-delimited field: its tag and a one-byte length to fix in [`Self::end`].
    #[inline]
    fn begin(&mut self, number: u32) -> usize {
        push_varint(&mut self.out, u64::from(number) << 3 | 2);
        self.out.push(0);
        self.out.len()
    }

    #[inline]
    fn end(&mut self, start: usize) {
        let len = self.out.len() - start;
        if len < 0x80 {
            self.out[start - 1] = len as u8;
            return;
        }
        let mut head = [0u8; 10];
        let mut size = 0;
        let mut value = len as u64;
        while value >= 0x80 {
            head[size] = (value as u8) | 0x80;
            value >>= 7;
            size += 1;
        }
        head[size] = value as u8;
        size += 1;
        let extra = size - 1;
        self.out.resize(self.out.len() + extra, 0);
        self.out.copy_within(start..start + len, start + extra);
        self.out[start - 1..start - 1 + size].copy_from_slice(&head[..size]);
    }

    /// The object at the current position as `message`; `depth` is its JSON depth,
    /// `mdepth` its message depth.
    fn message(&mut self, message: &Message, depth: u32, mdepth: u32) -> R<()> {
        if depth > MAX_JSON_DEPTH || mdepth > MAX_MESSAGE_DEPTH {
            return Err(Defer);
        }
        self.s.expect(b'{')?;
        if self.s.empty(b'}')? {
            return Ok(());
        }
        let mut seen: u64 = 0;
        let mut oneofs: u32 = 0;
        let mut hint = 0;
        loop {
            let key = self.s.key()?;
            match find(message, key, hint) {
                Some(i) => {
                    let field = &message.fields[i];
                    if i >= 64 || seen & (1 << i) != 0 {
                        return Err(Defer); // the same field twice (e.g. camel and proto name)
                    }
                    seen |= 1 << i;
                    if field.oneof != 0 {
                        let bit = 1u32 << (field.oneof & 31);
                        if oneofs & bit != 0 {
                            return Err(Defer); // json_format refuses two members of a oneof
                        }
                        oneofs |= bit;
                    }
                    hint = i + 1;
                    self.field(field, is_id_key(key), depth + 1, mdepth)?;
                }
                None if key.first() == Some(&b'[') => return Err(Defer), // an extension name
                None => {
                    if is_id_key(key) && self.s.peek()? == b'"' {
                        let text = self.s.string(&mut self.scratch)?;
                        check_hex(self.text(text))?;
                    } else {
                        self.s.skip(depth + 1)?;
                    }
                }
            }
            if !self.s.next_or_close(b'}')? {
                return Ok(());
            }
        }
    }

    fn text(&self, text: Text) -> &[u8] {
        match text {
            Text::Raw(start, end) => &self.s.buf[start..end],
            Text::Scratch => &self.scratch,
        }
    }

    fn field(&mut self, field: &Field, hex: bool, depth: u32, mdepth: u32) -> R<()> {
        if depth > MAX_JSON_DEPTH {
            return Err(Defer);
        }
        if !field.repeated {
            return self.single(field, hex, depth, mdepth);
        }
        self.s.expect(b'[')?;
        if self.s.empty(b']')? {
            return Ok(());
        }
        let packed = !matches!(field.kind, Kind::Message(_) | Kind::Str | Kind::Bytes);
        let start = if packed { self.begin(field.number) } else { 0 };
        loop {
            if packed {
                self.scalar(field.kind, depth + 1)?;
            } else {
                self.single(field, false, depth + 1, mdepth)?;
            }
            if !self.s.next_or_close(b']')? {
                break;
            }
        }
        if packed {
            self.end(start);
        }
        Ok(())
    }

    /// One value of `field`, with its tag.
    fn single(&mut self, field: &Field, hex: bool, depth: u32, mdepth: u32) -> R<()> {
        match field.kind {
            Kind::Message(index) => {
                if self.s.peek()? != b'{' {
                    return Err(Defer); // null, or not an object
                }
                let start = self.begin(field.number);
                self.message(&tables::MESSAGES[usize::from(index)], depth, mdepth + 1)?;
                self.end(start);
            }
            Kind::Str | Kind::Bytes => {
                let text = self.s.string(&mut self.scratch)?;
                let start = self.begin(field.number);
                let (from, to) = match text {
                    Text::Raw(a, b) => (a, b),
                    Text::Scratch => (0, self.scratch.len()),
                };
                let src = match text {
                    Text::Raw(..) => self.s.buf,
                    Text::Scratch => &self.scratch[..],
                };
                let value = &src[from..to];
                match field.kind {
                    Kind::Str => self.out.extend_from_slice(value),
                    _ if hex => push_hex(value, &mut self.out)?,
                    _ => push_base64(value, &mut self.out)?,
                }
                self.end(start);
            }
            kind => {
                let wire = match kind {
                    Kind::Double | Kind::Fixed64 | Kind::SFixed64 => 1,
                    Kind::Fixed32 | Kind::SFixed32 => 5,
                    _ => 0,
                };
                push_varint(&mut self.out, u64::from(field.number) << 3 | wire);
                self.scalar(kind, depth)?;
            }
        }
        Ok(())
    }

    /// A scalar value of `kind`, without a tag.
    fn scalar(&mut self, kind: Kind, depth: u32) -> R<()> {
        if depth > MAX_JSON_DEPTH {
            return Err(Defer);
        }
        match kind {
            Kind::Bool => {
                let value = self.s.boolean()?;
                self.out.push(u8::from(value));
            }
            Kind::Double => {
                let value = self.double()?;
                self.out.extend_from_slice(&value.to_le_bytes());
            }
            Kind::Enum(index) => {
                let value = if self.s.peek()? == b'"' {
                    let text = self.s.string(&mut self.scratch)?;
                    let name = self.text(text);
                    let values = tables::ENUMS[usize::from(index)].values;
                    values
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or(Defer)?
                } else {
                    let value = self.integer(i128::from(i32::MIN), i128::from(i32::MAX), false)?;
                    value as i32
                };
                push_varint(&mut self.out, i64::from(value) as u64);
            }
            Kind::Int32 => {
                let v = self.integer(i128::from(i32::MIN), i128::from(i32::MAX), true)?;
                push_varint(&mut self.out, v as i64 as u64);
            }
            Kind::Int64 => {
                let v = self.integer(i128::from(i64::MIN), i128::from(i64::MAX), true)?;
                push_varint(&mut self.out, v as i64 as u64);
            }
            Kind::UInt32 => {
                let v = self.integer(0, i128::from(u32::MAX), true)?;
                push_varint(&mut self.out, v as u64);
            }
            Kind::UInt64 => {
                let v = self.integer(0, i128::from(u64::MAX), true)?;
                push_varint(&mut self.out, v as u64);
            }
            Kind::SInt32 | Kind::SInt64 => {
                let (lo, hi) = if kind == Kind::SInt32 {
                    (i128::from(i32::MIN), i128::from(i32::MAX))
                } else {
                    (i128::from(i64::MIN), i128::from(i64::MAX))
                };
                let v = self.integer(lo, hi, true)? as i64;
                push_varint(&mut self.out, ((v << 1) ^ (v >> 63)) as u64);
            }
            Kind::Fixed32 => {
                let v = self.integer(0, i128::from(u32::MAX), true)? as u32;
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::SFixed32 => {
                let v = self.integer(i128::from(i32::MIN), i128::from(i32::MAX), true)? as i32;
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::Fixed64 => {
                let v = self.integer(0, i128::from(u64::MAX), true)? as u64;
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::SFixed64 => {
                let v = self.integer(i128::from(i64::MIN), i128::from(i64::MAX), true)? as i64;
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::Message(_) | Kind::Str | Kind::Bytes | Kind::Other => return Err(Defer),
        }
        Ok(())
    }

    /// An integer in `lo..=hi`: a JSON integer literal, or (when `quoted`) a string of
    /// decimal digits as `int()` reads it (an optional `-`, at most 20 digits).
    fn integer(&mut self, lo: i128, hi: i128, quoted: bool) -> R<i128> {
        let value = if self.s.peek()? == b'"' {
            if !quoted {
                return Err(Defer);
            }
            let text = self.s.string(&mut self.scratch)?;
            parse_int(self.text(text))?
        } else {
            let Number { text, integer } = self.s.number()?;
            if !integer {
                return Err(Defer);
            }
            parse_int(text)?
        };
        if value < lo || value > hi {
            return Err(Defer);
        }
        Ok(value)
    }

    /// A double: any JSON number that is finite as a double, or "NaN", "Infinity", "-Infinity".
    fn double(&mut self) -> R<f64> {
        if self.s.peek()? == b'"' {
            let text = self.s.string(&mut self.scratch)?;
            return match self.text(text) {
                b"NaN" => Ok(f64::NAN),
                b"Infinity" => Ok(f64::INFINITY),
                b"-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(Defer),
            };
        }
        let Number { text, integer } = self.s.number()?;
        // the token is ASCII by the grammar; Rust's parse rounds correctly, as Python's float()
        let value: f64 = std::str::from_utf8(text)
            .map_err(|_| Defer)?
            .parse()
            .map_err(|_| Defer)?;
        if !value.is_finite() {
            return Err(Defer);
        }
        // json.loads reads `-0` as the int 0, which float() makes +0.0
        Ok(if integer && value == 0.0 { 0.0 } else { value })
    }
}

/// `-?[0-9]{1,20}` as an integer.
#[inline]
fn parse_int(text: &[u8]) -> R<i128> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 20 {
        return Err(Defer);
    }
    let mut magnitude: u128 = 0;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(Defer);
        }
        magnitude = magnitude * 10 + u128::from(digit);
    }
    let magnitude = magnitude as i128; // at most 20 digits: far inside i128
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests;
