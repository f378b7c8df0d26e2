//! The OTLP messages as the OTLP/JSON transcoder sees them: per field its JSON names
//! (lowerCamelCase, and the proto name `json_format` also takes), number, type, and oneof.
//! The tables (`tables.rs`) are generated from the protobuf descriptors by
//! `gen_tables.py` in this directory, so they cannot drift from the Python reference.

/// A field's type, as the JSON value it takes and the wire encoding it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A message: an index into [`MESSAGES`](super::tables::MESSAGES).
    Message(u16),
    Str,
    Bytes,
    Bool,
    Double,
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    /// An enum: an index into [`ENUMS`](super::tables::ENUMS).
    Enum(u16),
    /// A type the transcoder leaves to the reference route (float, groups, maps).
    Other,
}

#[derive(Debug)]
pub struct Field {
    pub json: &'static [u8],
    pub name: &'static [u8],
    pub number: u32,
    pub kind: Kind,
    pub repeated: bool,
    /// 0: not in a oneof; else 1 + the oneof's index in its message.
    pub oneof: u8,
}

#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

#[derive(Debug)]
pub struct Enum {
    pub name: &'static str,
    pub values: &'static [(&'static [u8], i32)],
}
