//! The request's outer levels (`ResourceX` -> `ScopeX` -> items) and the resource and scope
//! columns, as `otlp_arrow.convert._columns.ResourceScope` makes them: one entry per
//! resource / scope message (also those without items), expanded to every row at the end.

use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::anyvalue::{parse_kv, Any, Kv};
use crate::attrs::Attributes;
use crate::columns::Primitive;
use crate::group_columns::{EntityRefs, Shared};
use crate::wire::{Reader, Result, LEN, VARINT};

/// The field names of one signal's outer levels, for error paths.
pub struct Names {
    pub resources: &'static str,
    pub scopes: &'static str,
    pub items: &'static str,
}

/// Where an item is: its indexes in the request and its first row.
#[derive(Clone, Copy, Debug)]
pub struct Location {
    pub resource: usize,
    pub scope: usize,
    pub item: usize,
}

/// A signal's items (spans, metrics, log records): parse one, append its rows.
pub trait Items<'a> {
    /// Parse the item `buf` (a message at nesting `depth`); return the rows it made.
    fn item(&mut self, buf: &'a [u8], at: Location, depth: u32) -> Result<usize>;
}

#[derive(Default)]
pub struct EntityRef<'a> {
    pub schema_url: &'a str,
    pub type_: &'a str,
    pub id_keys: Vec<&'a str>,
    pub description_keys: Vec<&'a str>,
}

#[derive(Default)]
struct Resource<'a> {
    present: bool,
    attrs: Vec<Kv<'a>>,
    dropped: u32,
    entity_refs: Vec<EntityRef<'a>>,
    schema_url: &'a str,
}

#[derive(Default)]
struct Scope<'a> {
    present: bool,
    name: &'a str,
    version: &'a str,
    attrs: Vec<Kv<'a>>,
    dropped: u32,
    schema_url: &'a str,
    resource: usize,
    rows: usize,
}

/// The resources and scopes of a request.
#[derive(Default)]
pub struct ResourceScope<'a> {
    resources: Vec<Resource<'a>>,
    scopes: Vec<Scope<'a>>,
    pub rows: usize,
}

fn parse_attr_list<'a>(out: &mut Vec<Kv<'a>>, buf: &'a [u8], depth: u32, i: usize) -> Result<()> {
    out.push(parse_kv(buf, depth).map_err(|e| e.at(format!("attributes[{i}]")))?);
    Ok(())
}

impl<'a> ResourceScope<'a> {
    /// Walk an export request: `ResourceX` (field 1) -> `ScopeX` (field 2) -> items (field 2).
    pub fn walk(&mut self, buf: &'a [u8], names: &Names, items: &mut impl Items<'a>) -> Result<()> {
        let mut r = Reader::new(buf);
        let mut res_pos = 0;
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            if (field, wire_type) == (1, LEN) {
                let bytes = r.bytes()?;
                self.resource_holder(bytes, res_pos, names, items)
                    .map_err(|e| e.at(format!("{}[{res_pos}]", names.resources)))?;
                res_pos += 1;
            } else {
                r.skip(field, wire_type, 0)?;
            }
        }
        Ok(())
    }

    fn resource_holder(
        &mut self,
        buf: &'a [u8],
        res_pos: usize,
        names: &Names,
        items: &mut impl Items<'a>,
    ) -> Result<()> {
        let index = self.resources.len();
        self.resources.push(Resource::default());
        let mut r = Reader::new(buf);
        let mut scope_pos = 0;
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let bytes = r.bytes()?;
                    self.resource(index, bytes).map_err(|e| e.at("resource"))?;
                }
                (2, LEN) => {
                    let bytes = r.bytes()?;
                    let at = Location {
                        resource: res_pos,
                        scope: scope_pos,
                        item: 0,
                    };
                    self.scope_holder(bytes, index, at, names, items)
                        .map_err(|e| e.at(format!("{}[{scope_pos}]", names.scopes)))?;
                    scope_pos += 1;
                }
                (3, LEN) => {
                    self.resources[index].schema_url = r.string().map_err(|e| e.at("schema_url"))?
                }
                _ => r.skip(field, wire_type, 1)?,
            }
        }
        Ok(())
    }

    fn resource(&mut self, index: usize, buf: &'a [u8]) -> Result<()> {
        let resource = &mut self.resources[index];
        resource.present = true;
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let i = resource.attrs.len();
                    parse_attr_list(&mut resource.attrs, r.bytes()?, 3, i)?
                }
                (2, VARINT) => resource.dropped = r.varint()? as u32,
                (3, LEN) => {
                    let i = resource.entity_refs.len();
                    let entity =
                        entity_ref(r.bytes()?).map_err(|e| e.at(format!("entity_refs[{i}]")))?;
                    resource.entity_refs.push(entity);
                }
                _ => r.skip(field, wire_type, 2)?,
            }
        }
        Ok(())
    }

    fn scope_holder(
        &mut self,
        buf: &'a [u8],
        resource: usize,
        mut at: Location,
        names: &Names,
        items: &mut impl Items<'a>,
    ) -> Result<()> {
        let index = self.scopes.len();
        self.scopes.push(Scope {
            resource,
            ..Scope::default()
        });
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let bytes = r.bytes()?;
                    self.scope(index, bytes).map_err(|e| e.at("scope"))?;
                }
                (2, LEN) => {
                    let bytes = r.bytes()?;
                    let rows = items
                        .item(bytes, at, 3)
                        .map_err(|e| e.at(format!("{}[{}]", names.items, at.item)))?;
                    self.scopes[index].rows += rows;
                    self.rows += rows;
                    at.item += 1;
                }
                (3, LEN) => {
                    self.scopes[index].schema_url = r.string().map_err(|e| e.at("schema_url"))?
                }
                _ => r.skip(field, wire_type, 2)?,
            }
        }
        Ok(())
    }

    fn scope(&mut self, index: usize, buf: &'a [u8]) -> Result<()> {
        let scope = &mut self.scopes[index];
        scope.present = true;
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (field, wire_type) = r.tag()?;
            match (field, wire_type) {
                (1, LEN) => scope.name = r.string().map_err(|e| e.at("name"))?,
                (2, LEN) => scope.version = r.string().map_err(|e| e.at("version"))?,
                (3, LEN) => {
                    let i = scope.attrs.len();
                    parse_attr_list(&mut scope.attrs, r.bytes()?, 4, i)?
                }
                (4, VARINT) => scope.dropped = r.varint()? as u32,
                _ => r.skip(field, wire_type, 3)?,
            }
        }
        Ok(())
    }

    /// True when a top-level attribute of a resource or scope has an empty key and a
    /// `key_strindex`.
    pub fn key_strindex(&self) -> bool {
        let bad = |kv: &Kv<'_>| kv.key.is_empty() && kv.key_strindex != 0;
        self.resources.iter().any(|r| r.attrs.iter().any(bad))
            || self.scopes.iter().any(|s| s.attrs.iter().any(bad))
    }

    /// True when a resource or scope attribute value is a `string_value_strindex`.
    pub fn strindex(&self) -> bool {
        let bad = |kv: &Kv<'_>| matches!(kv.value, Some(Any::Strindex(_)));
        self.resources.iter().any(|r| r.attrs.iter().any(bad))
            || self.scopes.iter().any(|s| s.attrs.iter().any(bad))
    }

    /// The ten resource and scope columns, in schema order, one value per row.
    pub fn columns(&self) -> Result<Vec<ArrayData>> {
        let res_rows: Vec<usize> = {
            let mut rows = vec![0; self.resources.len()];
            for scope in &self.scopes {
                rows[scope.resource] += scope.rows;
            }
            rows
        };
        let per_resource =
            |f: &mut dyn FnMut(usize, usize, &Resource<'a>) -> Result<()>| -> Result<()> {
                for (i, resource) in self.resources.iter().enumerate() {
                    f(i, res_rows[i], resource)?;
                }
                Ok(())
            };
        let mut service = Shared::default();
        for resource in &self.resources {
            service.add(service_name(&resource.attrs))?;
        }
        let mut res_attrs = Attributes::default();
        let mut res_keys = Vec::with_capacity(self.resources.len());
        for resource in &self.resources {
            let keys: Result<Vec<i32>> = resource
                .attrs
                .iter()
                .map(|kv| res_attrs.intern_key(kv.key))
                .collect();
            res_keys.push(keys?);
        }
        let mut res_dropped = Primitive::<u32>::default();
        let mut entities = EntityRefs::default();
        let mut res_schema = Shared::default();
        for resource in &self.resources {
            res_schema.add(Some(resource.schema_url))?;
        }
        per_resource(&mut |i, rows, resource| {
            if resource.present {
                res_attrs.push_rows(&resource.attrs, &res_keys[i], rows)?;
            }
            for _ in 0..rows {
                if resource.present {
                    res_dropped.push(resource.dropped);
                    entities.push(Some(&resource.entity_refs))?;
                } else {
                    res_attrs.null_row()?;
                    res_dropped.push_null();
                    entities.push(None)?;
                }
            }
            Ok(())
        })?;
        let mut scope_name = Shared::default();
        let mut scope_version = Shared::default();
        let mut scope_schema = Shared::default();
        let mut scope_attrs = Attributes::default();
        let mut scope_keys = Vec::with_capacity(self.scopes.len());
        for scope in &self.scopes {
            scope_name.add(scope.present.then_some(scope.name))?;
            scope_version.add(scope.present.then_some(scope.version))?;
            scope_schema.add(Some(scope.schema_url))?;
            let keys: Result<Vec<i32>> = scope
                .attrs
                .iter()
                .map(|kv| scope_attrs.intern_key(kv.key))
                .collect();
            scope_keys.push(keys?);
        }
        let mut scope_dropped = Primitive::<u32>::default();
        let mut service_col = service.column();
        let mut res_schema_col = res_schema.column();
        let mut name_col = scope_name.column();
        let mut version_col = scope_version.column();
        let mut scope_schema_col = scope_schema.column();
        for (i, scope) in self.scopes.iter().enumerate() {
            service_col.repeat(scope.resource, scope.rows);
            res_schema_col.repeat(scope.resource, scope.rows);
            name_col.repeat(i, scope.rows);
            version_col.repeat(i, scope.rows);
            scope_schema_col.repeat(i, scope.rows);
            if scope.present {
                scope_attrs.push_rows(&scope.attrs, &scope_keys[i], scope.rows)?;
            }
            for _ in 0..scope.rows {
                if scope.present {
                    scope_dropped.push(scope.dropped);
                } else {
                    scope_attrs.null_row()?;
                    scope_dropped.push_null();
                }
            }
        }
        Ok(vec![
            service_col.finish()?,
            res_attrs.finish()?,
            res_dropped.finish(DataType::UInt32)?,
            entities.finish()?,
            res_schema_col.finish()?,
            name_col.finish()?,
            version_col.finish()?,
            scope_attrs.finish()?,
            scope_dropped.finish(DataType::UInt32)?,
            scope_schema_col.finish()?,
        ])
    }
}

fn entity_ref(buf: &[u8]) -> Result<EntityRef<'_>> {
    let mut entity = EntityRef::default();
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        match (field, wire_type) {
            (1, LEN) => entity.schema_url = r.string().map_err(|e| e.at("schema_url"))?,
            (2, LEN) => entity.type_ = r.string().map_err(|e| e.at("type"))?,
            (3, LEN) => entity
                .id_keys
                .push(r.string().map_err(|e| e.at("id_keys"))?),
            (4, LEN) => entity
                .description_keys
                .push(r.string().map_err(|e| e.at("description_keys"))?),
            _ => r.skip(field, wire_type, 3)?,
        }
    }
    Ok(entity)
}

/// `_service_name`: the first `service.name` attribute holding a string.
fn service_name<'a>(attrs: &[Kv<'a>]) -> Option<&'a str> {
    attrs.iter().find_map(|kv| match kv.value {
        Some(Any::Str(s)) if kv.key == "service.name" => Some(s),
        _ => None,
    })
}
