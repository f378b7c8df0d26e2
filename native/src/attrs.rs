//! `ATTRIBUTES` map columns (`map<dictionary<string>, ANY_VALUE>`), as
//! `otlp_arrow.convert._values.Attributes` builds them.

use arrow_buffer::NullBufferBuilder;
use arrow_data::ArrayData;

pub use crate::any_column::AnyValues;
use crate::anyvalue::{parse_kv, Kv};
use crate::columns::{map_of, offset, DictStrings};
use crate::wire::Result;

/// An `ATTRIBUTES` column, row by row.
pub struct Attributes<'a> {
    keys: DictStrings<'a>,
    values: AnyValues,
    offsets: Vec<i32>,
    nulls: Option<NullBufferBuilder>,
    /// The key index at each position of the latest row (rows tend to repeat their keys).
    guesses: Vec<i32>,
    /// A `KeyValue` with an empty key and `key_strindex` set (refused for the whole request).
    pub key_strindex: bool,
}

impl Default for Attributes<'_> {
    fn default() -> Self {
        Attributes {
            keys: DictStrings::default(),
            values: AnyValues::default(),
            offsets: vec![0],
            nulls: None,
            guesses: Vec::new(),
            key_strindex: false,
        }
    }
}

impl<'a> Attributes<'a> {
    /// Room for about `entries` attributes in `rows` rows (saves regrowing the vectors).
    pub fn reserve(&mut self, rows: usize, entries: usize) {
        self.offsets.reserve(rows);
        self.keys.indices.reserve(entries);
        self.values.kinds.reserve(entries);
        self.values.strings.ends.reserve(entries);
        self.values.strings.data.reserve(entries * 8);
        self.values.ints.reserve(entries / 2);
    }

    /// Parse one serialized `KeyValue` (at `depth`) into the current row.
    #[inline]
    pub fn push_wire(&mut self, buf: &'a [u8], depth: u32) -> Result<()> {
        let kv = parse_kv(buf, depth)?;
        self.push_kv(&kv)
    }

    #[inline]
    pub fn push_kv(&mut self, kv: &Kv<'a>) -> Result<()> {
        if kv.key.is_empty() && kv.key_strindex != 0 {
            self.key_strindex = true;
        }
        let position = self.keys.len() - self.offsets[self.offsets.len() - 1] as usize;
        let index = self
            .keys
            .push_guess(kv.key, self.guesses.get(position).copied())?;
        match self.guesses.get_mut(position) {
            Some(slot) => *slot = index,
            None => self.guesses.push(index),
        }
        self.values.push(kv.value.as_ref())
    }

    /// Add `key` to the key dictionary without an entry (to order the dictionary); its index.
    pub fn intern_key(&mut self, key: &'a str) -> Result<i32> {
        self.keys.intern(key)
    }

    /// Like `push_kv`, with the key's dictionary index known (`intern_key`).
    #[inline]
    pub fn push_kv_indexed(&mut self, key: i32, kv: &Kv<'a>) -> Result<()> {
        if kv.key.is_empty() && kv.key_strindex != 0 {
            self.key_strindex = true;
        }
        self.keys.push_index(key);
        self.values.push(kv.value.as_ref())
    }

    /// `rows` rows of the same attributes (keys interned with `intern_key`): the first is
    /// pushed, the others copied from it (a resource's or scope's attributes, once per item).
    pub fn push_rows(&mut self, kvs: &[Kv<'a>], keys: &[i32], rows: usize) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        let (first_key, first_value) = (self.keys.len(), self.values.mark());
        for (kv, key) in kvs.iter().zip(keys) {
            self.push_kv_indexed(*key, kv)?;
        }
        self.end_row()?;
        let (times, end) = (rows - 1, self.keys.len());
        let width = end - first_key;
        offset(end + width * times)?;
        self.keys.repeat_tail(first_key, times);
        self.values.repeat_tail(first_value, times)?;
        self.offsets
            .extend((1..=times).map(|k| (end + width * k) as i32)); // fits: checked above
        if let Some(nulls) = &mut self.nulls {
            nulls.append_n_non_nulls(times);
        }
        Ok(())
    }

    /// End the current row.
    #[inline]
    pub fn end_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.keys.len())?);
        if let Some(nulls) = &mut self.nulls {
            nulls.append_non_null();
        }
        Ok(())
    }

    /// A null row (the message holding the attributes is absent).
    pub fn null_row(&mut self) -> Result<()> {
        let rows = self.offsets.len() - 1;
        let nulls = self.nulls.get_or_insert_with(|| {
            let mut n = NullBufferBuilder::new(rows);
            n.append_n_non_nulls(rows);
            n
        });
        nulls.append_null();
        self.offsets.push(offset(self.keys.len())?);
        Ok(())
    }

    pub fn strindex(&self) -> bool {
        self.values.strindex
    }

    pub fn finish(self) -> Result<ArrayData> {
        let nulls = self.nulls.and_then(|mut n| n.finish());
        let keys = self.keys.finish()?;
        let values = self.values.finish()?;
        map_of(self.offsets, keys, values, nulls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyvalue::Any;

    fn kv(key: &str, value: Option<Any<'static>>) -> Kv<'static> {
        let key: &'static str = Box::leak(key.to_owned().into_boxed_str());
        Kv {
            key,
            value,
            key_strindex: 0,
        }
    }

    /// `push_rows` gives the column that pushing each row gives, whatever the children set.
    #[test]
    fn repeated_rows_equal_rows_pushed_one_by_one() {
        let kvs = vec![
            kv("s", Some(Any::Str("text"))),
            kv("i", Some(Any::Int(-7))),
            kv("d", Some(Any::Double(0.5))),
            kv("b", Some(Any::Bool(true))),
            kv("x", Some(Any::Bytes(b"\x00\x01"))),
            kv("a", Some(Any::Array("1,2".into()))),
            kv("k", Some(Any::Kvlist(String::new()))),
            kv("e", Some(Any::Empty)),
            kv("m", None),
        ];
        for rows in [0, 1, 2, 3, 7, 64] {
            for width in [0, 1, 3, kvs.len()] {
                let (mut one, mut many) = (Attributes::default(), Attributes::default());
                for a in [&mut one, &mut many] {
                    a.push_kv(&kv("before", Some(Any::Str("x")))).unwrap(); // not at 0
                    a.end_row().unwrap();
                    a.null_row().unwrap();
                }
                let keys: Vec<i32> = kvs[..width]
                    .iter()
                    .map(|kv| one.intern_key(kv.key).unwrap())
                    .collect();
                for kv in &kvs[..width] {
                    many.intern_key(kv.key).unwrap();
                }
                for _ in 0..rows {
                    for (kv, key) in kvs[..width].iter().zip(&keys) {
                        one.push_kv_indexed(*key, kv).unwrap();
                    }
                    one.end_row().unwrap();
                }
                many.push_rows(&kvs[..width], &keys, rows).unwrap();
                let (one, many) = (one.finish().unwrap(), many.finish().unwrap());
                assert_eq!(one, many, "{rows} rows of {width} attributes");
                assert_eq!(many.len(), rows + 2);
            }
        }
    }
}
