//! A strict JSON tokenizer over validated UTF-8, for the OTLP/JSON transcoder.
//!
//! It takes the grammar of RFC 8259 exactly as Python's `json.loads` does, minus the corners
//! it does not need to decide: anything outside the subset (the `NaN`/`Infinity` literals,
//! escaped object keys, lone surrogate escapes, number tokens over 100 characters) is a
//! [`Defer`], and the input goes to the reference route, which decides it. Nothing here
//! indexes out of bounds; recursion is the caller's, bounded by its depth limit.

/// The input lies outside what the native path decides: the reference route takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defer;

pub type R<T> = Result<T, Defer>;

/// JSON nesting (arrays, objects and the values in them) the native path walks; deeper input
/// goes to the reference route, which refuses it past `json_wire.MAX_JSON_DEPTH` (200).
pub const MAX_JSON_DEPTH: u32 = 190;

/// Where a string's bytes are: in the input (no escapes), or decoded into the scratch buffer.
#[derive(Clone, Copy)]
pub enum Text {
    Raw(usize, usize),
    Scratch,
}

/// A number token: its text, and whether it is an integer literal (no fraction, no exponent).
#[derive(Clone, Copy)]
pub struct Number<'a> {
    pub text: &'a [u8],
    pub integer: bool,
}

pub struct Scanner<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

#[inline]
fn hex_digit(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'a'..=b'f' => Some(u32::from(c - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(c - b'A' + 10)),
        _ => None,
    }
}

impl<'a> Scanner<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Scanner { buf, pos: 0 }
    }

    /// The next byte after whitespace (not consumed).
    #[inline]
    pub fn peek(&mut self) -> R<u8> {
        while let Some(&c) = self.buf.get(self.pos) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Ok(c);
            }
            self.pos += 1;
        }
        Err(Defer)
    }

    /// Only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_err()
    }

    #[inline]
    pub fn expect(&mut self, c: u8) -> R<()> {
        if self.peek()? == c {
            self.pos += 1;
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// After a member or element: true for `,` (another follows), false for `close`.
    #[inline]
    pub fn next_or_close(&mut self, close: u8) -> R<bool> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b',' {
            Ok(true)
        } else if c == close {
            Ok(false)
        } else {
            Err(Defer)
        }
    }

    /// Consumes `close` if it comes next (an empty object or array).
    #[inline]
    pub fn empty(&mut self, close: u8) -> R<bool> {
        if self.peek()? == close {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// An object key without escapes, and the `:` after it.
    #[inline]
    pub fn key(&mut self) -> R<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = self.raw_run(start);
        if self.buf.get(end) != Some(&b'"') {
            return Err(Defer); // an escape, a control character, or the end
        }
        self.pos = end + 1;
        self.expect(b':')?;
        Ok(&self.buf[start..end])
    }

    /// The end of the run of string bytes needing no decoding from `at`.
    #[inline]
    fn raw_run(&self, mut at: usize) -> usize {
        let buf = self.buf;
        while let Some(chunk) = buf.get(at..at + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            // bytes equal to '"' or '\\', or below 0x20 (SWAR: has-zero-byte tests)
            const ONES: u64 = 0x0101_0101_0101_0101;
            const HIGH: u64 = 0x8080_8080_8080_8080;
            let quote = w ^ (ONES * u64::from(b'"'));
            let slash = w ^ (ONES * u64::from(b'\\'));
            let hit = (quote.wrapping_sub(ONES) & !quote)
                | (slash.wrapping_sub(ONES) & !slash)
                | (w.wrapping_sub(ONES * 0x20) & !w);
            if hit & HIGH != 0 {
                break;
            }
            at += 8;
        }
        while let Some(&c) = buf.get(at) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            at += 1;
        }
        at
    }

    /// A string value; escapes decoded into `scratch` (cleared first) when it has any.
    pub fn string(&mut self, scratch: &mut Vec<u8>) -> R<Text> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = self.raw_run(start);
        match self.buf.get(end) {
            Some(b'"') => {
                self.pos = end + 1;
                return Ok(Text::Raw(start, end));
            }
            Some(b'\\') => {}
            _ => return Err(Defer),
        }
        scratch.clear();
        scratch.extend_from_slice(&self.buf[start..end]);
        self.pos = end;
        loop {
            match self.buf.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Text::Scratch);
                }
                Some(b'\\') => self.escape(scratch)?,
                _ => return Err(Defer),
            }
            let from = self.pos;
            let to = self.raw_run(from);
            scratch.extend_from_slice(&self.buf[from..to]);
            self.pos = to;
        }
    }

    /// Skips a string value (escapes checked as `json.loads` checks them).
    pub fn skip_string(&mut self) -> R<()> {
        let mut scratch = Vec::new();
        self.string(&mut scratch).map(|_| ())
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> R<()> {
        let c = *self.buf.get(self.pos + 1).ok_or(Defer)?;
        self.pos += 2;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut code = self.hex4()?;
                if (0xD800..0xDC00).contains(&code) {
                    // a high surrogate: only a following low one makes a character
                    if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(Defer);
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(Defer);
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                } else if (0xDC00..0xE000).contains(&code) {
                    return Err(Defer);
                }
                let ch = char::from_u32(code).ok_or(Defer)?;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                return Ok(());
            }
            _ => return Err(Defer),
        };
        out.push(byte);
        Ok(())
    }

    fn hex4(&mut self) -> R<u32> {
        let digits = self.buf.get(self.pos..self.pos + 4).ok_or(Defer)?;
        let mut code = 0;
        for &d in digits {
            code = code << 4 | hex_digit(d).ok_or(Defer)?;
        }
        self.pos += 4;
        Ok(code)
    }

    /// A number token, by the JSON grammar.
    pub fn number(&mut self) -> R<Number<'a>> {
        self.peek()?;
        let buf = self.buf;
        let start = self.pos;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while buf.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        if buf.get(at) == Some(&b'-') {
            at += 1;
        }
        match buf.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                digits(&mut at);
            }
            _ => return Err(Defer),
        }
        let mut integer = true;
        if buf.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return Err(Defer);
            }
            integer = false;
        }
        if matches!(buf.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(buf.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(Defer);
            }
            integer = false;
        }
        if at - start > 100 {
            return Err(Defer); // json.loads limits integer digits; not worth deciding here
        }
        self.pos = at;
        Ok(Number {
            text: &buf[start..at],
            integer,
        })
    }

    /// The literal `word` (`true`, `false`) at the current position.
    pub fn literal(&mut self, word: &[u8]) -> R<()> {
        self.peek()?;
        if self.buf.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// A boolean literal.
    pub fn boolean(&mut self) -> R<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => Err(Defer),
        }
    }

    /// Skips any value (an unknown field's), checking it as the reference does: its syntax,
    /// its depth, and the hex of the id keys (`_prepare` rewrites them wherever they are).
    pub fn skip(&mut self, depth: u32) -> R<()> {
        if depth > MAX_JSON_DEPTH {
            return Err(Defer);
        }
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                if self.empty(b'}')? {
                    return Ok(());
                }
                loop {
                    let key = self.key()?;
                    if is_id_key(key) && self.peek()? == b'"' {
                        let mut scratch = Vec::new();
                        let text = self.string(&mut scratch)?;
                        let raw = match text {
                            Text::Raw(s, e) => &self.buf[s..e],
                            Text::Scratch => &scratch,
                        };
                        super::bytes::check_hex(raw)?;
                    } else {
                        self.skip(depth + 1)?;
                    }
                    if !self.next_or_close(b'}')? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.empty(b']')? {
                    return Ok(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.next_or_close(b']')? {
                        return Ok(());
                    }
                }
            }
            b'"' => self.skip_string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

/// The keys `json_wire` reads as hex ids wherever they appear (with a string value).
#[inline]
pub fn is_id_key(key: &[u8]) -> bool {
    matches!(key, b"traceId" | b"spanId" | b"parentSpanId")
}
