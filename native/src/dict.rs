//! Dictionary-encoded string columns (`dictionary<int32, string>`), with a small fast hash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_buffer::{Buffer, NullBufferBuilder};
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::columns::{build, offset, Strings};
use crate::wire::Result;

/// A small fast hasher for dictionary lookups (FxHash).
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.hash = (self.hash.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(SEED);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.hash = (self.hash.rotate_left(5) ^ u64::from(i)).wrapping_mul(SEED);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.hash = (self.hash.rotate_left(5) ^ i as u64).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A `dictionary<int32, string>` column: the dictionary holds each distinct value once, in
/// order of first appearance (as `pa.array(values, pa.dictionary(pa.int32(), pa.string()))`).
#[derive(Default)]
pub struct DictStrings<'a> {
    lookup: FxMap<Key<'a>, i32>,
    values: Vec<&'a str>,
    dictionary: Strings,
    pub indices: Vec<i32>,
    nulls: Option<NullBufferBuilder>,
}

impl<'a> DictStrings<'a> {
    /// The dictionary index of `value`, added to the dictionary if new.
    #[inline]
    pub fn intern(&mut self, value: &'a str) -> Result<i32> {
        if let Some(&index) = self.lookup.get(&Key(value)) {
            return Ok(index);
        }
        let index = offset(self.lookup.len())?;
        self.dictionary.push(value.as_bytes())?;
        self.lookup.insert(Key(value), index);
        self.values.push(value);
        Ok(index)
    }

    /// Push `value`, trying the dictionary entry `guess` first (no hashing when right);
    /// returns its index.
    #[inline]
    pub fn push_guess(&mut self, value: &'a str, guess: Option<i32>) -> Result<i32> {
        let index = match guess {
            Some(g)
                if self
                    .values
                    .get(g as usize)
                    .is_some_and(|v| fast_eq(v, value)) =>
            {
                g
            }
            _ => self.intern(value)?,
        };
        self.push_index(index);
        Ok(index)
    }

    #[inline]
    pub fn push(&mut self, value: &'a str) -> Result<()> {
        let index = self.intern(value)?;
        self.indices.push(index);
        if let Some(nulls) = &mut self.nulls {
            nulls.append_non_null();
        }
        Ok(())
    }

    /// Push `value` `times` times (hashed once).
    pub fn push_n(&mut self, value: &'a str, times: usize) -> Result<()> {
        let index = self.intern(value)?;
        self.push_index_n(index, times);
        Ok(())
    }

    pub fn push_index_n(&mut self, index: i32, times: usize) {
        self.indices.extend(std::iter::repeat_n(index, times));
        if let Some(nulls) = &mut self.nulls {
            nulls.append_n_non_nulls(times);
        }
    }

    #[inline]
    pub fn push_index(&mut self, index: i32) {
        self.indices.push(index);
        if let Some(nulls) = &mut self.nulls {
            nulls.append_non_null();
        }
    }

    pub fn push_null(&mut self) {
        let len = self.indices.len();
        let nulls = self.nulls.get_or_insert_with(|| {
            let mut n = NullBufferBuilder::new(len);
            n.append_n_non_nulls(len);
            n
        });
        nulls.append_null();
        self.indices.push(0);
    }

    #[inline]
    pub fn push_opt(&mut self, value: Option<&'a str>) -> Result<()> {
        match value {
            Some(v) => self.push(v),
            None => {
                self.push_null();
                Ok(())
            }
        }
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Append the indices pushed since `start` (all non-null) again, `times` times.
    pub fn repeat_tail(&mut self, start: usize, times: usize) {
        let added = (self.indices.len() - start) * times;
        crate::any_column::repeat_tail(&mut self.indices, start, times);
        if let Some(nulls) = &mut self.nulls {
            nulls.append_n_non_nulls(added);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn finish(self) -> Result<ArrayData> {
        let dictionary = self.dictionary.finish(DataType::Utf8)?;
        let len = self.indices.len();
        let nulls = self.nulls.and_then(|mut n| n.finish());
        build(
            ArrayData::builder(dict_type())
                .len(len)
                .add_buffer(Buffer::from_vec(self.indices))
                .nulls(nulls)
                .child_data(vec![dictionary]),
        )
    }
}

pub fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// String equality without a call into `memcmp` for the short strings keys are.
#[inline]
fn fast_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let head = |s: &[u8]| s.first_chunk::<16>().map(|c| u128::from_le_bytes(*c));
    let tail = |s: &[u8]| s.last_chunk::<16>().map(|c| u128::from_le_bytes(*c));
    let head8 = |s: &[u8]| s.first_chunk::<8>().map(|c| u64::from_le_bytes(*c));
    let tail8 = |s: &[u8]| s.last_chunk::<8>().map(|c| u64::from_le_bytes(*c));
    match a.len() {
        0..=7 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => head8(a) == head8(b) && tail8(a) == tail8(b),
        17..=32 => head(a) == head(b) && tail(a) == tail(b),
        _ => a == b,
    }
}

/// A dictionary key: hashed as bytes, compared with [`fast_eq`].
#[derive(Clone, Copy, Eq)]
struct Key<'a>(&'a str);

impl PartialEq for Key<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        fast_eq(self.0, other.0)
    }
}

impl std::hash::Hash for Key<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
    }
}
