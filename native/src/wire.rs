//! The protobuf wire format, read exactly as upb (the Python protobuf runtime) reads it.
//!
//! Every length and count is checked against the bytes left before it is used; nothing here
//! can index out of bounds or recurse without limit.

use std::fmt;

/// Wire types.
pub const VARINT: u8 = 0;
pub const I64: u8 = 1;
pub const LEN: u8 = 2;
pub const SGROUP: u8 = 3;
pub const EGROUP: u8 = 4;
pub const I32: u8 = 5;

/// How deep messages (and groups) may nest below the request, as upb's default
/// (`upb_DecodeOptions_MaxDepth`, 100 in the Python runtime): deeper input is refused.
pub const MAX_DEPTH: u32 = 100;

/// A refused input: what is wrong, and where (`path`, outermost first once finished).
/// Boxed, so that `Result`s stay two words and travel in registers on the hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    segments: Vec<String>,
    message: String,
}

impl Error {
    #[cold]
    pub fn new(message: impl Into<String>) -> Self {
        Error(Box::new(ErrorInner {
            segments: Vec::new(),
            message: message.into(),
        }))
    }

    /// The same error, one level further out (`segment` is a field, e.g. `spans[3]`).
    #[cold]
    pub fn at(mut self, segment: impl fmt::Display) -> Self {
        self.0.segments.push(segment.to_string());
        self
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ErrorInner { segments, message } = &*self.0;
        if segments.is_empty() {
            return f.write_str(message);
        }
        for (i, segment) in segments.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(segment)?;
        }
        write!(f, ": {message}")
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cold]
fn truncated() -> Error {
    Error::new("truncated input (a field runs past the end of its message)")
}

/// A cursor over one message's bytes.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A varint of up to 10 bytes; bits beyond 64 are dropped, as upb does.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64> {
        let buf = self.buf;
        if let Some(&b) = buf.first() {
            if b < 0x80 {
                self.buf = &buf[1..];
                return Ok(u64::from(b));
            }
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64> {
        let buf = self.buf;
        let mut value = 0u64;
        for (i, &b) in buf.iter().take(10).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.buf = &buf[i + 1..];
                return Ok(value);
            }
        }
        if buf.len() < 10 {
            Err(truncated())
        } else {
            Err(Error::new("malformed varint (more than 10 bytes)"))
        }
    }

    /// A field's tag: (field number, wire type). A tag is at most 5 bytes and fits in 32 bits;
    /// field number 0 is invalid.
    #[inline(always)]
    pub fn tag(&mut self) -> Result<(u32, u8)> {
        let buf = self.buf;
        if let Some(&b) = buf.first() {
            if (0x08..0x80).contains(&b) {
                self.buf = &buf[1..];
                return Ok((u32::from(b >> 3), b & 7));
            }
        }
        self.tag_slow()
    }

    #[cold]
    #[inline(never)]
    fn tag_slow(&mut self) -> Result<(u32, u8)> {
        let buf = self.buf;
        let mut value = 0u64;
        let mut used = 0;
        for (i, &b) in buf.iter().take(5).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                used = i + 1;
                break;
            }
        }
        if used == 0 {
            return Err(if buf.len() < 5 {
                truncated()
            } else {
                Error::new("malformed tag")
            });
        }
        let tag = u32::try_from(value).map_err(|_| Error::new("malformed tag (over 32 bits)"))?;
        if tag >> 3 == 0 {
            return Err(Error::new("invalid field number 0"));
        }
        self.buf = &buf[used..];
        Ok((tag >> 3, (tag & 7) as u8))
    }

    #[inline]
    pub fn fixed64(&mut self) -> Result<u64> {
        match self.buf.split_first_chunk::<8>() {
            Some((bytes, rest)) => {
                self.buf = rest;
                Ok(u64::from_le_bytes(*bytes))
            }
            None => Err(truncated()),
        }
    }

    #[inline]
    pub fn fixed32(&mut self) -> Result<u32> {
        match self.buf.split_first_chunk::<4>() {
            Some((bytes, rest)) => {
                self.buf = rest;
                Ok(u32::from_le_bytes(*bytes))
            }
            None => Err(truncated()),
        }
    }

    /// The bytes of a length-delimited field (the length is a varint of at most 5 bytes).
    #[inline(always)]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.length()?;
        if len > self.buf.len() {
            return Err(truncated());
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    #[inline(always)]
    fn length(&mut self) -> Result<usize> {
        let buf = self.buf;
        if let Some(&b) = buf.first() {
            if b < 0x80 {
                self.buf = &buf[1..];
                return Ok(usize::from(b));
            }
        }
        self.length_slow()
    }

    #[inline(never)]
    fn length_slow(&mut self) -> Result<usize> {
        let buf = self.buf;
        let mut value = 0u64;
        for (i, &b) in buf.iter().take(5).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.buf = &buf[i + 1..];
                return usize::try_from(value).map_err(|_| truncated());
            }
        }
        Err(if buf.len() < 5 {
            truncated()
        } else {
            Error::new("malformed length (more than 5 bytes)")
        })
    }

    /// A string field: its bytes, which must be UTF-8 (proto3 `string`).
    #[inline(always)]
    pub fn string(&mut self) -> Result<&'a str> {
        let bytes = self.bytes()?;
        if bytes.is_ascii() {
            // SAFETY: ASCII is valid UTF-8. (Measured: most OTLP strings are short ASCII, and
            // `from_utf8`'s setup cost per call was a tenth of the decode time.)
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes).map_err(|_| Error::new("string field is not valid UTF-8"))
    }

    /// Skip a field this decoder does not read (unknown, or known with another wire type:
    /// upb keeps both as unknown fields). `depth` is the nesting level of the message that
    /// holds it; groups nest one level further.
    pub fn skip(&mut self, field: u32, wire_type: u8, depth: u32) -> Result<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            I64 => self.fixed64().map(drop),
            LEN => self.bytes().map(drop),
            I32 => self.fixed32().map(drop),
            SGROUP => self.skip_group(field, depth + 1),
            EGROUP => Err(Error::new("unexpected end-group tag")),
            _ => Err(Error::new(format!("invalid wire type {wire_type}"))),
        }
    }

    fn skip_group(&mut self, group: u32, depth: u32) -> Result<()> {
        check_depth(depth)?;
        loop {
            if self.buf.is_empty() {
                return Err(Error::new("unterminated group"));
            }
            let (field, wire_type) = self.tag()?;
            if wire_type == EGROUP {
                if field == group {
                    return Ok(());
                }
                return Err(Error::new("mismatched end-group tag"));
            }
            self.skip(field, wire_type, depth)?;
        }
    }
}

/// Refuse nesting deeper than [`MAX_DEPTH`] (`depth` is the level of a message about to be
/// read; the request itself is level 0).
#[inline]
pub fn check_depth(depth: u32) -> Result<()> {
    if depth > MAX_DEPTH {
        Err(Error::new(format!(
            "messages nested deeper than {MAX_DEPTH} levels"
        )))
    } else {
        Ok(())
    }
}

/// Decode a `sint32` from its varint (the low 32 bits, zigzag), as upb does.
#[inline]
pub fn zigzag32(value: u64) -> i32 {
    let v = value as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Repeated `fixed64`/`double` values, packed (`LEN`) or one unpacked (`I64`), appended.
pub fn repeated_fixed64(r: &mut Reader<'_>, wire_type: u8, out: &mut Vec<u64>) -> Result<bool> {
    match wire_type {
        I64 => out.push(r.fixed64()?),
        LEN => {
            let bytes = r.bytes()?;
            if bytes.len() % 8 != 0 {
                return Err(Error::new(
                    "packed fixed64 field of a length not a multiple of 8",
                ));
            }
            out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Repeated varints, packed (`LEN`) or one unpacked (`VARINT`), appended.
pub fn repeated_varint(r: &mut Reader<'_>, wire_type: u8, out: &mut Vec<u64>) -> Result<bool> {
    match wire_type {
        VARINT => out.push(r.varint()?),
        LEN => {
            let mut packed = Reader::new(r.bytes()?);
            while !packed.is_empty() {
                out.push(packed.varint()?);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint(), Ok(150));
        let mut ten = vec![0xff; 9];
        ten.push(0x7f);
        assert_eq!(Reader::new(&ten).varint(), Ok(u64::MAX));
        let eleven = vec![0xff; 11];
        assert!(Reader::new(&eleven).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn tags() {
        assert_eq!(Reader::new(&[0x08]).tag(), Ok((1, 0)));
        assert!(Reader::new(&[0x00]).tag().is_err());
        assert!(Reader::new(&[0xb0, 0x80, 0x80, 0x80, 0x10]).tag().is_err());
        assert_eq!(
            Reader::new(&[0xb0, 0x80, 0x80, 0x80, 0x00]).tag(),
            Ok((6, 0))
        );
    }

    #[test]
    fn groups_and_depth() {
        let mut ok = Reader::new(&[0xa3, 0x01, 0x08, 0x05, 0xa4, 0x01]);
        let (field, wt) = ok.tag().unwrap();
        assert!(ok.skip(field, wt, 0).is_ok());
        let mut deep = Vec::new();
        for _ in 0..101 {
            deep.extend([0xa3, 0x01]);
        }
        for _ in 0..101 {
            deep.extend([0xa4, 0x01]);
        }
        let mut r = Reader::new(&deep);
        let (field, wt) = r.tag().unwrap();
        assert!(r.skip(field, wt, 0).is_err());
        assert_eq!(zigzag32(3), -2);
    }

    #[test]
    fn error_paths() {
        let e = Error::new("bad").at("name").at("spans[2]");
        assert_eq!(e.to_string(), "spans[2].name: bad");
    }
}
