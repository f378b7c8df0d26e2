//! The per-group columns of the resources and scopes, expanded to rows.

use arrow_buffer::NullBufferBuilder;
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::columns::{list_of, offset, struct_of, DictStrings, Strings};
use crate::resource::EntityRef;
use crate::wire::Result;

/// One value per group, dictionary-encoded over the groups in order (`_shared`).
#[derive(Default)]
pub struct Shared<'a> {
    dict: DictStrings<'a>,
    per_group: Vec<Option<i32>>,
}

impl<'a> Shared<'a> {
    pub fn add(&mut self, value: Option<&'a str>) -> Result<()> {
        let index = value.map(|v| self.dict.intern(v)).transpose()?;
        self.per_group.push(index);
        Ok(())
    }

    pub fn column(self) -> SharedColumn<'a> {
        SharedColumn {
            dict: self.dict,
            per_group: self.per_group,
        }
    }
}

pub struct SharedColumn<'a> {
    dict: DictStrings<'a>,
    per_group: Vec<Option<i32>>,
}

impl SharedColumn<'_> {
    pub fn repeat(&mut self, group: usize, rows: usize) {
        match self.per_group[group] {
            Some(index) => self.dict.push_index_n(index, rows),
            None => (0..rows).for_each(|_| self.dict.push_null()),
        }
    }

    pub fn finish(self) -> Result<ArrayData> {
        self.dict.finish()
    }
}

/// The `resource_entity_refs` column.
pub struct EntityRefs {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    schema_url: Strings,
    type_: Strings,
    id_offsets: Vec<i32>,
    ids: Strings,
    desc_offsets: Vec<i32>,
    descs: Strings,
}

impl Default for EntityRefs {
    fn default() -> Self {
        EntityRefs {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            schema_url: Strings::default(),
            type_: Strings::default(),
            id_offsets: vec![0],
            ids: Strings::default(),
            desc_offsets: vec![0],
            descs: Strings::default(),
        }
    }
}

impl EntityRefs {
    pub fn push(&mut self, refs: Option<&[EntityRef<'_>]>) -> Result<()> {
        match refs {
            None => self.nulls.append_null(),
            Some(refs) => {
                self.nulls.append_non_null();
                for entity in refs {
                    self.schema_url.push(entity.schema_url.as_bytes())?;
                    self.type_.push(entity.type_.as_bytes())?;
                    for key in &entity.id_keys {
                        self.ids.push(key.as_bytes())?;
                    }
                    self.id_offsets.push(offset(self.ids.offsets.len() - 1)?);
                    for key in &entity.description_keys {
                        self.descs.push(key.as_bytes())?;
                    }
                    self.desc_offsets
                        .push(offset(self.descs.offsets.len() - 1)?);
                }
            }
        }
        self.offsets
            .push(offset(self.schema_url.offsets.len() - 1)?);
        Ok(())
    }

    pub fn finish(mut self) -> Result<ArrayData> {
        let entity = struct_of(
            vec![
                self.schema_url.finish(DataType::Utf8)?,
                self.type_.finish(DataType::Utf8)?,
                list_of(self.id_offsets, self.ids.finish(DataType::Utf8)?, None)?,
                list_of(self.desc_offsets, self.descs.finish(DataType::Utf8)?, None)?,
            ],
            None,
        )?;
        list_of(self.offsets, entity, self.nulls.finish())
    }
}
