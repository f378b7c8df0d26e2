//! Resources and scopes: rows with equal resource (and scope) go into one `ResourceX`
//! (`ScopeX`), in order of first appearance, rows keeping their order, as
//! `otlp_arrow.convert.to_otlp._scope_holders` groups them. Equality is that of the encoded
//! messages (so NaN attributes compare by their bits).

use std::collections::HashMap;

use arrow_array::{Array, StringArray, StructArray};

use super::attrs::Attrs;
use super::cols::{child, get, string, typed, Dict, List, U32s};
use super::pb::Writer;
use crate::wire::Result;

/// The resource and scope columns every signal's table has.
pub struct Shared<'a> {
    res_attrs: Attrs<'a>,
    res_dropped: &'a U32s,
    entities: List<'a>,
    entity_fields: Option<EntityFields<'a>>,
    res_schema: Dict<'a>,
    scope_name: Dict<'a>,
    scope_version: Dict<'a>,
    scope_attrs: Attrs<'a>,
    scope_dropped: &'a U32s,
    scope_schema: Dict<'a>,
}

struct EntityFields<'a> {
    schema_url: &'a StringArray,
    kind: &'a StringArray,
    id_keys: List<'a>,
    id_strings: &'a StringArray,
    description_keys: List<'a>,
    description_strings: &'a StringArray,
}

impl<'a> Shared<'a> {
    pub fn of(table: &'a StructArray) -> Result<Shared<'a>> {
        let entities = List::field(table, "resource_entity_refs")?;
        let name = "resource_entity_refs";
        let refs: &StructArray = entities.values(name, "list<struct>")?;
        let entity_fields = if refs.is_empty() {
            None
        } else {
            let id_keys = List::field(refs, "id_keys")?;
            let description_keys = List::field(refs, "description_keys")?;
            Some(EntityFields {
                schema_url: typed(child(refs, "schema_url")?, "schema_url", "string")?,
                kind: typed(child(refs, "type")?, "type", "string")?,
                id_strings: id_keys.values("id_keys", "list<string>")?,
                id_keys,
                description_strings: description_keys.values("description_keys", "list<string>")?,
                description_keys,
            })
        };
        let u32s = |n: &str| typed::<U32s>(child(table, n)?, n, "uint32");
        Ok(Shared {
            res_attrs: Attrs::field(table, "resource_attributes")?,
            res_dropped: u32s("resource_dropped_attributes_count")?,
            entities,
            entity_fields,
            res_schema: Dict::field(table, "resource_schema_url")?,
            scope_name: Dict::field(table, "scope_name")?,
            scope_version: Dict::field(table, "scope_version")?,
            scope_attrs: Attrs::field(table, "scope_attributes")?,
            scope_dropped: u32s("scope_dropped_attributes_count")?,
            scope_schema: Dict::field(table, "scope_schema_url")?,
        })
    }

    /// Do rows `a` and `b` belong to the same resource and scope? (Without entity refs only:
    /// rows with entity refs are compared by their encoding.)
    fn same(&self, a: usize, b: usize) -> bool {
        self.entities.range(a).is_empty()
            && self.entities.range(b).is_empty()
            && self.entities.is_null(a) == self.entities.is_null(b)
            && self.res_schema.same(a, b)
            && self.scope_schema.same(a, b)
            && get(self.res_dropped, a) == get(self.res_dropped, b)
            && get(self.scope_dropped, a) == get(self.scope_dropped, b)
            && self.scope_name.same(a, b)
            && self.scope_version.same(a, b)
            && self.res_attrs.same(a, b)
            && self.scope_attrs.same(a, b)
    }

    /// The `ResourceX` fields of row `row` but its scopes: `resource` (1), `schema_url` (3).
    fn resource(&self, w: &mut Writer, row: usize) -> Result<()> {
        if !self.res_attrs.is_null(row) {
            let open = w.open(1, 2);
            self.res_attrs.write(w, 1, row, "resource_attributes")?;
            w.uint_nz(2, u64::from(get(self.res_dropped, row).unwrap_or(0)));
            if let Some(f) = &self.entity_fields {
                for e in self.entities.range(row) {
                    let entity = w.open(3, 1);
                    w.bytes_nz(1, string(f.schema_url, e));
                    w.bytes_nz(2, string(f.kind, e));
                    for k in f.id_keys.range(e) {
                        w.bytes(3, string(f.id_strings, k));
                    }
                    for k in f.description_keys.range(e) {
                        w.bytes(4, string(f.description_strings, k));
                    }
                    w.close(entity);
                }
            }
            w.close(open);
        }
        w.bytes_nz(3, self.res_schema.str(row));
        Ok(())
    }

    /// The `ScopeX` fields of row `row` but its items: `scope` (1), `schema_url` (3).
    fn scope(&self, w: &mut Writer, row: usize) -> Result<()> {
        if !self.scope_attrs.is_null(row) {
            let open = w.open(1, 2);
            w.bytes_nz(1, self.scope_name.str(row));
            w.bytes_nz(2, self.scope_version.str(row));
            self.scope_attrs.write(w, 3, row, "scope_attributes")?;
            w.uint_nz(4, u64::from(get(self.scope_dropped, row).unwrap_or(0)));
            w.close(open);
        }
        w.bytes_nz(3, self.scope_schema.str(row));
        Ok(())
    }
}

struct Scope {
    key: Vec<u8>,
    rows: Vec<u32>,
}

struct Resource {
    key: Vec<u8>,
    scopes: Vec<Scope>,
}

/// Group the rows `rows` of the table, then write the request: one `ResourceX` (field 1 of
/// the request) per resource, one `ScopeX` (its field 2) per scope, and in it what `items`
/// writes for the scope's rows.
pub fn write_request(
    shared: &Shared<'_>,
    rows: std::ops::Range<usize>,
    w: &mut Writer,
    mut items: impl FnMut(&mut Writer, &[u32]) -> Result<()>,
) -> Result<()> {
    let mut resources: Vec<Resource> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let (mut rkey, mut skey) = (Writer::default(), Writer::default());
    let mut current: Option<(usize, usize)> = None;
    let first = rows.start;
    for row in rows {
        if let Some((r, s)) = current {
            if row > first && shared.same(row - 1, row) {
                resources[r].scopes[s].rows.push(row as u32);
                continue;
            }
        }
        rkey.buf.clear();
        skey.buf.clear();
        shared.resource(&mut rkey, row)?;
        shared.scope(&mut skey, row)?;
        if let Some((r, s)) = current {
            let same = resources[r].key == rkey.buf && resources[r].scopes[s].key == skey.buf;
            if same {
                resources[r].scopes[s].rows.push(row as u32);
                continue;
            }
        }
        let r = match index.get(&rkey.buf) {
            Some(&r) => r,
            None => {
                resources.push(Resource {
                    key: rkey.buf.clone(),
                    scopes: Vec::new(),
                });
                index.insert(rkey.buf.clone(), resources.len() - 1);
                resources.len() - 1
            }
        };
        let scopes = &mut resources[r].scopes;
        let s = match scopes.iter().position(|s| s.key == skey.buf) {
            Some(s) => s,
            None => {
                scopes.push(Scope {
                    key: skey.buf.clone(),
                    rows: Vec::new(),
                });
                scopes.len() - 1
            }
        };
        scopes[s].rows.push(row as u32);
        current = Some((r, s));
    }
    for resource in &resources {
        let open = w.open(1, 3);
        w.buf.extend_from_slice(&resource.key);
        for scope in &resource.scopes {
            let inner = w.open(2, 3);
            w.buf.extend_from_slice(&scope.key);
            items(w, &scope.rows)?;
            w.close(inner);
        }
        w.close(open);
    }
    Ok(())
}
