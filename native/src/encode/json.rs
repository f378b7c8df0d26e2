//! A small JSON reader for exactly the OTLP/JSON text the schema stores for arrays and
//! kvlists (`ArrayValue` / `KeyValueList` objects), writing the protobuf message as it reads:
//! what `anyvalue_json.stored_value` makes of the text (`values` lists of AnyValue objects,
//! `key` / `value` / `keyStrindex` members; other members ignored), nesting limited as the
//! decoder's (`wire::MAX_DEPTH`).

use std::borrow::Cow;

use super::pb::{Writer, VARINT};
use crate::wire::{check_depth, Error, Result};

/// Write the content of the `ArrayValue` whose OTLP/JSON text is `text`.
pub fn array_value(w: &mut Writer, text: &str) -> Result<()> {
    let mut p = Parser::new(text);
    p.values(w, 1, false)?;
    p.end()
}

/// Write the content of the `KeyValueList` whose OTLP/JSON text is `text`.
pub fn kvlist_value(w: &mut Writer, text: &str) -> Result<()> {
    let mut p = Parser::new(text);
    p.values(w, 1, true)?;
    p.end()
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

#[cold]
fn bad(what: &str, pos: usize) -> Error {
    Error::new(format!("stored OTLP/JSON text: {what} at offset {pos}"))
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            s: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(bad(&format!("expected {:?}", b as char), self.pos))
        }
    }

    fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(bad("trailing characters", self.pos)),
        }
    }

    /// Iterate the members of an object: `each(self, key)` reads the member's value.
    fn object(&mut self, mut each: impl FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            each(self, &key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(bad("expected ',' or '}'", self.pos)),
            }
        }
    }

    fn array(&mut self, mut each: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(bad("expected ',' or ']'", self.pos)),
            }
        }
    }

    /// An `ArrayValue` (`kv` false) or `KeyValueList` object: its `values` as field 1 each.
    fn values(&mut self, w: &mut Writer, depth: u32, kv: bool) -> Result<()> {
        check_depth(depth)?;
        self.object(|p, key| {
            if key != "values" {
                return p.skip(depth);
            }
            p.array(|p| {
                let open = w.open(1, 1);
                if kv {
                    p.key_value(w, depth + 1)?;
                } else {
                    p.any_value(w, depth + 1)?;
                }
                w.close(open);
                Ok(())
            })
        })
    }

    fn key_value(&mut self, w: &mut Writer, depth: u32) -> Result<()> {
        check_depth(depth)?;
        self.object(|p, key| match key {
            "key" => {
                let key = p.string()?;
                w.bytes_nz(1, key.as_bytes());
                Ok(())
            }
            "value" => {
                let open = w.open(2, 1);
                p.any_value(w, depth + 1)?;
                w.close(open);
                Ok(())
            }
            "keyStrindex" => {
                let n = p.integer::<i32>()?;
                w.int32_nz(3, n);
                Ok(())
            }
            _ => p.skip(depth),
        })
    }

    /// An AnyValue object: `{}` or exactly one of its JSON members.
    fn any_value(&mut self, w: &mut Writer, depth: u32) -> Result<()> {
        check_depth(depth)?;
        let mut seen = 0;
        self.object(|p, key| {
            seen += 1;
            if seen > 1 {
                return Err(bad("an AnyValue with more than one value", p.pos));
            }
            match key {
                "stringValue" => {
                    let s = p.string()?;
                    w.bytes(1, s.as_bytes());
                }
                "boolValue" => {
                    let v = p.boolean()?;
                    w.tag(2, VARINT);
                    w.varint(u64::from(v));
                }
                "intValue" => {
                    let v = p.integer::<i64>()?;
                    w.tag(3, VARINT);
                    w.varint(v as u64);
                }
                "doubleValue" => {
                    let v = p.double()?;
                    w.fixed64(4, v.to_bits());
                }
                "bytesValue" => {
                    let s = p.string()?;
                    let data = base64(&s).ok_or_else(|| bad("invalid base64", p.pos))?;
                    w.bytes(7, &data);
                }
                "arrayValue" | "kvlistValue" => {
                    let open = w.open(if key == "arrayValue" { 5 } else { 6 }, 2);
                    p.values(w, depth + 1, key == "kvlistValue")?;
                    w.close(open);
                }
                "stringValueStrindex" => {
                    let n = p.integer::<i32>()?;
                    w.tag(8, VARINT);
                    w.varint(i64::from(n) as u64);
                }
                _ => return Err(bad(&format!("unknown AnyValue member {key:?}"), p.pos)),
            }
            Ok(())
        })
    }

    fn boolean(&mut self) -> Result<bool> {
        self.ws();
        for (word, value) in [("true", true), ("false", false)] {
            if self.s[self.pos..].starts_with(word.as_bytes()) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        Err(bad("expected true or false", self.pos))
    }

    /// A number's text (not checked beyond its characters: the caller parses it).
    fn number_text(&mut self) -> &'a str {
        self.ws();
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.s.get(self.pos) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// An integer, as a JSON number or a decimal string (int64 in OTLP/JSON).
    fn integer<T: std::str::FromStr>(&mut self) -> Result<T> {
        let at = self.pos;
        let parsed = if self.peek() == Some(b'"') {
            self.string()?.parse::<T>().ok()
        } else {
            self.number_text().parse::<T>().ok()
        };
        parsed.ok_or_else(|| bad("invalid or out-of-range integer", at))
    }

    /// A double: a JSON number, or "NaN" / "Infinity" / "-Infinity" (or any float text).
    fn double(&mut self) -> Result<f64> {
        let at = self.pos;
        let parsed = if self.peek() == Some(b'"') {
            self.string()?.parse::<f64>().ok()
        } else {
            self.number_text().parse::<f64>().ok()
        };
        parsed.ok_or_else(|| bad("invalid number", at))
    }

    fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.pos;
        loop {
            match self.s.get(self.pos) {
                None => return Err(bad("unterminated string", start)),
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            match self.s.get(self.pos) {
                None => return Err(bad("unterminated string", start)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => {
                    // copy up to the next quote or backslash (both ASCII: char boundaries)
                    let from = self.pos;
                    while !matches!(self.s.get(self.pos), None | Some(b'"' | b'\\')) {
                        self.pos += 1;
                    }
                    out.push_str(&self.text[from..self.pos]);
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char> {
        let at = self.pos;
        let e = *self
            .s
            .get(self.pos + 1)
            .ok_or_else(|| bad("bad escape", at))?;
        self.pos += 2;
        Ok(match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xd800..0xdc00).contains(&hi) && self.s[self.pos..].starts_with(b"\\u") {
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&lo) {
                        return Err(bad("invalid surrogate pair", at));
                    }
                    let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                    char::from_u32(c).ok_or_else(|| bad("invalid surrogate pair", at))?
                } else {
                    char::from_u32(hi).ok_or_else(|| bad("a lone surrogate (not UTF-8)", at))?
                }
            }
            _ => return Err(bad("bad escape", at)),
        })
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| bad("bad \\u", self.pos))?;
        let text = std::str::from_utf8(digits).map_err(|_| bad("bad \\u", self.pos))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| bad("bad \\u", self.pos))?;
        self.pos += 4;
        Ok(v)
    }

    /// Skip any JSON value (a member `stored_value` ignores).
    fn skip(&mut self, depth: u32) -> Result<()> {
        check_depth(depth + 1)?;
        match self.peek() {
            Some(b'{') => self.object(|p, _| p.skip(depth + 1)),
            Some(b'[') => self.array(|p| p.skip(depth + 1)),
            Some(b'"') => self.string().map(|_| ()),
            Some(b't' | b'f') => self.boolean().map(|_| ()),
            Some(b'n') if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(())
            }
            _ => {
                if self.number_text().is_empty() {
                    Err(bad("expected a value", self.pos))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Standard base64 (padding optional), None if invalid.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return None;
    }
    for &c in body.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 6 {
        return None; // a lone sixth of a byte: not a valid length
    }
    Some(out)
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
