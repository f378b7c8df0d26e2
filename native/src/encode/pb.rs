//! A protobuf wire writer: one growing buffer; a nested message reserves room for its
//! length, is written in place, and the length is filled in at its end (the content is moved
//! only when the length needs another number of bytes than was reserved).

/// Wire types.
pub const VARINT: u32 = 0;
pub const I64: u32 = 1;
pub const LEN: u32 = 2;
pub const I32: u32 = 5;

/// The start of an open nested message: where its length goes, and how many bytes it has.
#[derive(Clone, Copy)]
pub struct Open {
    at: usize,
    reserved: usize,
}

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

#[inline]
pub fn varint_len(v: u64) -> usize {
    // 1 byte per started 7 bits, at least one
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

impl Writer {
    #[inline]
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    #[inline]
    pub fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from((field << 3) | wire_type));
    }

    /// A length-delimited field, always written (also when empty: oneof members, ids).
    #[inline]
    pub fn bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// A proto3 `string`/`bytes` field: written unless empty.
    #[inline]
    pub fn bytes_nz(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.bytes(field, value);
        }
    }

    /// A proto3 `uint32`/`uint64`/`bool` field: written unless zero.
    #[inline]
    pub fn uint_nz(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value);
        }
    }

    /// A proto3 `int32`/enum field: negative numbers take ten bytes (sign-extended).
    #[inline]
    pub fn int32_nz(&mut self, field: u32, value: i32) {
        self.uint_nz(field, i64::from(value) as u64);
    }

    #[inline]
    pub fn fixed64(&mut self, field: u32, value: u64) {
        self.tag(field, I64);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    #[inline]
    pub fn fixed64_nz(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.fixed64(field, value);
        }
    }

    #[inline]
    pub fn fixed32_nz(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, I32);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A proto3 `double` field: written unless +0.0 (upb writes -0.0 and NaN).
    #[inline]
    pub fn double_nz(&mut self, field: u32, value: f64) {
        if value.to_bits() != 0 {
            self.fixed64(field, value.to_bits());
        }
    }

    /// Start a nested message as field `field`, reserving `reserve` bytes for its length.
    #[inline]
    pub fn open(&mut self, field: u32, reserve: usize) -> Open {
        self.tag(field, LEN);
        let at = self.buf.len();
        self.buf.resize(at + reserve, 0);
        Open {
            at,
            reserved: reserve,
        }
    }

    /// Close a nested message: write its length where `open` reserved room for it.
    #[inline]
    pub fn close(&mut self, open: Open) {
        let start = open.at + open.reserved;
        let len = self.buf.len() - start;
        let need = varint_len(len as u64);
        if need != open.reserved {
            self.shift(open, need);
        }
        let mut v = len as u64;
        for slot in &mut self.buf[open.at..open.at + need] {
            *slot = (v as u8) | 0x80;
            v >>= 7;
        }
        self.buf[open.at + need - 1] &= 0x7f;
    }

    #[cold]
    fn shift(&mut self, open: Open, need: usize) {
        let start = open.at + open.reserved;
        let end = self.buf.len();
        if need > open.reserved {
            self.buf.resize(end + need - open.reserved, 0);
            self.buf.copy_within(start..end, open.at + need);
        } else {
            self.buf.copy_within(start..end, open.at + need);
            self.buf.truncate(end - (open.reserved - need));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_minimal_whatever_was_reserved() {
        for reserve in 1..=5 {
            for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
                let mut w = Writer::default();
                let open = w.open(1, reserve);
                w.buf.extend(std::iter::repeat_n(7u8, len));
                w.close(open);
                let mut want = Writer::default();
                want.tag(1, LEN);
                want.varint(len as u64);
                assert_eq!(w.buf.len(), want.buf.len() + len);
                assert_eq!(&w.buf[..want.buf.len()], &want.buf[..]);
                assert!(w.buf[want.buf.len()..].iter().all(|&b| b == 7));
            }
        }
    }

    #[test]
    fn varint_lengths() {
        for (v, n) in [(0u64, 1), (127, 1), (128, 2), (u64::MAX, 10)] {
            assert_eq!(varint_len(v), n);
            let mut w = Writer::default();
            w.varint(v);
            assert_eq!(w.buf.len(), n);
        }
    }
}
