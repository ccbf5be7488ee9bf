//! The schema registry: registered schemas and resource types, and resolution of attribute
//! paths (`userName`, `name.givenName`, `urn:...:enterprise:2.0:User:manager.value`, bare
//! extension names such as `department`) to their definitions.

use scim_filter::{AttrPath, AttrSchema, Characteristics};

use crate::schema::{AttributeDef, ResourceType, SCIM1_CORE_SCHEMA, Schema, SchemaExtension};

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A schema with this id is registered already.
    #[error("schema `{0}` is registered already")]
    DuplicateSchema(String),
    /// A resource type with this name or endpoint is registered already.
    #[error("resource type `{0}` is registered already")]
    DuplicateResourceType(String),
    /// A resource type names a schema that is not registered.
    #[error("schema `{0}` is not registered")]
    UnknownSchema(String),
    /// No resource type of this name is registered.
    #[error("resource type `{0}` is not registered")]
    UnknownResourceType(String),
}

/// Why an attribute path did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No registered schema of the resource type defines the attribute.
    #[error("unknown attribute `{0}`")]
    Unknown(String),
    /// An unqualified name defined by more than one extension of the resource type.
    #[error(
        "attribute `{0}` is ambiguous: more than one extension defines it; qualify it with the schema URN"
    )]
    Ambiguous(String),
}

/// Registered schemas and resource types.
///
/// [`Registry::new`] is empty; the core User, Group and Enterprise User schemas and the
/// `User` and `Group` resource types come from `Registry::core` (see `crate::core_schemas`).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    schemas: Vec<Schema>,
    /// `names[i]`: the name table of `schemas[i]` (its attributes after the common ones),
    /// built when the schema is registered (a registered schema is never changed).
    names: Vec<NameIndex>,
    resource_types: Vec<ResourceType>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a schema (core or extension).
    pub fn add_schema(&mut self, schema: Schema) -> Result<(), RegistryError> {
        if self.schema(&schema.id).is_some() {
            return Err(RegistryError::DuplicateSchema(schema.id));
        }
        self.names.push(NameIndex::new(&schema.attributes));
        self.schemas.push(schema);
        Ok(())
    }

    /// Registers a resource type; its core schema and extensions must be registered.
    pub fn add_resource_type(&mut self, rt: ResourceType) -> Result<(), RegistryError> {
        if self.resource_types.iter().any(|r| {
            r.name.eq_ignore_ascii_case(&rt.name) || r.endpoint.eq_ignore_ascii_case(&rt.endpoint)
        }) {
            return Err(RegistryError::DuplicateResourceType(rt.name));
        }
        for urn in std::iter::once(&rt.schema).chain(rt.schema_extensions.iter().map(|e| &e.schema))
        {
            if self.schema(urn).is_none() {
                return Err(RegistryError::UnknownSchema(urn.clone()));
            }
        }
        self.resource_types.push(rt);
        Ok(())
    }

    /// Adds a registered extension schema to a registered resource type.
    pub fn add_extension(
        &mut self,
        resource_type: &str,
        schema: &str,
        required: bool,
    ) -> Result<(), RegistryError> {
        if self.schema(schema).is_none() {
            return Err(RegistryError::UnknownSchema(schema.to_owned()));
        }
        let rt = self
            .resource_types
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(resource_type))
            .ok_or_else(|| RegistryError::UnknownResourceType(resource_type.to_owned()))?;
        if !rt
            .schema_extensions
            .iter()
            .any(|e| e.schema.eq_ignore_ascii_case(schema))
        {
            rt.schema_extensions.push(SchemaExtension {
                schema: schema.to_owned(),
                required,
            });
        }
        Ok(())
    }

    /// Registers an extension schema and adds it to a registered resource type in one step.
    ///
    /// ```
    /// use scim_core::{AttrType, AttributeDef, Registry, Schema};
    ///
    /// let mut registry = Registry::core();
    /// registry.add_extension_schema("User", Schema {
    ///     id: "urn:example:params:scim:schemas:extension:acme:2.0:User".into(),
    ///     name: "AcmeUser".into(),
    ///     description: "Acme's attributes".into(),
    ///     attributes: vec![AttributeDef::new("costCenterCode", AttrType::String)],
    /// }, false)?;
    /// let users = registry.resource_type("User").unwrap();
    /// assert!(users.resolve_parts(None, "costCenterCode", None).is_ok());
    /// # Ok::<(), scim_core::registry::RegistryError>(())
    /// ```
    pub fn add_extension_schema(
        &mut self,
        resource_type: &str,
        schema: Schema,
        required: bool,
    ) -> Result<(), RegistryError> {
        if !self
            .resource_types
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(resource_type))
        {
            return Err(RegistryError::UnknownResourceType(resource_type.to_owned()));
        }
        let urn = schema.id.clone();
        self.add_schema(schema)?;
        self.add_extension(resource_type, &urn, required)
    }

    /// The schema with this URN (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every registered schema, in registration order.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// Every registered resource type, in registration order.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// The resource type called `name` (case-insensitive), with its schemas.
    pub fn resource_type(&self, name: &str) -> Option<ResourceSchema<'_>> {
        self.resource_types
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .and_then(|rt| self.resource_schema(rt))
    }

    /// The resource type served at `endpoint` (e.g. `/Users`, case-insensitive, with or
    /// without the leading slash).
    pub fn resource_type_by_endpoint(&self, endpoint: &str) -> Option<ResourceSchema<'_>> {
        let want = endpoint.trim_start_matches('/');
        self.resource_types
            .iter()
            .find(|r| {
                r.endpoint
                    .trim_start_matches('/')
                    .eq_ignore_ascii_case(want)
            })
            .and_then(|rt| self.resource_schema(rt))
    }

    fn resource_schema<'r>(&'r self, rt: &'r ResourceType) -> Option<ResourceSchema<'r>> {
        let i = self
            .schemas
            .iter()
            .position(|s| s.id.eq_ignore_ascii_case(&rt.schema))?;
        Some(ResourceSchema {
            registry: self,
            resource_type: rt,
            core: self.schemas.get(i)?,
            core_names: self.names.get(i)?,
        })
    }
}

/// A resource type with its core schema, resolved against a [`Registry`].
///
/// Implements [`AttrSchema`] so filters can be checked and evaluated with the right
/// characteristics.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema<'r> {
    registry: &'r Registry,
    /// The resource type.
    pub resource_type: &'r ResourceType,
    /// Its core schema.
    pub core: &'r Schema,
    /// The name table of the common attributes and `core`'s.
    core_names: &'r NameIndex,
}

/// What an attribute path resolved to.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'r> {
    /// The schema that defines the attribute (the core schema, or an extension).
    pub schema: &'r Schema,
    /// Whether `schema` is an extension of the resource type (its attributes live in an
    /// object keyed by the schema URN).
    pub is_extension: bool,
    /// The attribute; `None` when the path names the whole extension schema.
    pub attr: Option<&'r AttributeDef>,
    /// The sub-attribute, when the path names one.
    pub sub_attr: Option<&'r AttributeDef>,
}

impl<'r> ResourceSchema<'r> {
    /// The registry this view belongs to.
    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// The extension schemas of the resource type, with whether each is required.
    pub fn extensions(&self) -> impl Iterator<Item = (&'r Schema, bool)> + 'r {
        let registry = self.registry;
        self.resource_type
            .schema_extensions
            .iter()
            .filter_map(move |e| registry.schema(&e.schema).map(|s| (s, e.required)))
    }

    /// The extension schema with this URN, if the resource type has it.
    pub fn extension(&self, urn: &str) -> Option<&'r Schema> {
        self.extensions()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` names the core schema (or the SCIM 1.0 core URN identity providers send).
    pub fn is_core_urn(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn) || urn.eq_ignore_ascii_case(SCIM1_CORE_SCHEMA)
    }

    /// Resolves a top-level attribute name (and optional sub-attribute) with an optional URN.
    ///
    /// Rules: a URN naming the core schema (or SCIM 1.0 core) looks in the common attributes
    /// (`id`, `externalId`, `meta`) and the core schema; a URN naming an extension looks in
    /// that extension; `urn:name` equal to an extension's URN names the whole extension
    /// (`attr` is `None`); without a URN, the common attributes, then the core schema, then
    /// the one extension that defines the name (two: [`ResolveError::Ambiguous`]).
    pub fn resolve_parts(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Result<Resolved<'r>, ResolveError> {
        let display = || match (urn, sub_attr) {
            (Some(u), Some(s)) => format!("{u}:{name}.{s}"),
            (Some(u), None) => format!("{u}:{name}"),
            (None, Some(s)) => format!("{name}.{s}"),
            (None, None) => name.to_owned(),
        };
        let unknown = || ResolveError::Unknown(display());
        let (schema, is_extension, attr) = match urn {
            Some(urn) => {
                // `urn:...:2.0:User` written alone parses as urn `urn:...:2.0`, name `User`.
                let whole = format!("{urn}:{name}");
                if let Some(ext) = self.extension(&whole) {
                    if sub_attr.is_some() {
                        // `urn:...:User.x` is not a valid path.
                        return Err(unknown());
                    }
                    return Ok(Resolved {
                        schema: ext,
                        is_extension: true,
                        attr: None,
                        sub_attr: None,
                    });
                }
                if self.is_core_urn(urn) {
                    let attr = self.core_attribute(name).ok_or_else(unknown)?;
                    (self.core, false, attr)
                } else if let Some(ext) = self.extension(urn) {
                    (ext, true, ext.attribute(name).ok_or_else(unknown)?)
                } else {
                    return Err(unknown());
                }
            }
            None => {
                if let Some(attr) = self.core_attribute(name) {
                    (self.core, false, attr)
                } else {
                    let mut found = None;
                    for (ext, _) in self.extensions() {
                        if let Some(attr) = ext.attribute(name) {
                            if found.is_some() {
                                return Err(ResolveError::Ambiguous(display()));
                            }
                            found = Some((ext, attr));
                        }
                    }
                    let (ext, attr) = found.ok_or_else(unknown)?;
                    (ext, true, attr)
                }
            }
        };
        let sub = match sub_attr {
            Some(s) => Some(attr.sub_attribute(s).ok_or_else(unknown)?),
            None => None,
        };
        Ok(Resolved {
            schema,
            is_extension,
            attr: Some(attr),
            sub_attr: sub,
        })
    }

    /// The common attribute (`id`, `externalId`, `meta`) or, failing that, the attribute of
    /// the core schema called `name` (case-insensitive), through the name table built when
    /// the schema was registered.
    pub(crate) fn core_attribute(&self, name: &str) -> Option<&'r AttributeDef> {
        let common = common_attributes();
        self.core_names
            .find(name, |i| match i.checked_sub(common.len()) {
                None => common.get(i),
                Some(j) => self.core.attributes.get(j),
            })
    }

    /// Resolves a parsed attribute path.
    pub fn resolve(&self, path: &AttrPath<'_>) -> Result<Resolved<'r>, ResolveError> {
        self.resolve_parts(path.urn(), path.name(), path.sub_attr())
    }
}

impl AttrSchema for ResourceSchema<'_> {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics> {
        let r = self.resolve_parts(urn, name, sub_attr).ok()?;
        let def = r.sub_attr.or(r.attr)?;
        Some(Characteristics {
            attr_type: def.attr_type,
            // A sub-attribute of a multi-valued attribute is reached through each element.
            multi_valued: def.multi_valued,
            case_exact: def.case_exact,
        })
    }
}

/// The common attributes of every resource (RFC 7643 §3.1): `id`, `externalId`, `meta`.
pub fn common_attributes() -> &'static [AttributeDef] {
    use std::sync::OnceLock;
    static COMMON: OnceLock<Vec<AttributeDef>> = OnceLock::new();
    COMMON.get_or_init(crate::core_schemas::common_attribute_defs)
}

/// A table of attribute names, matched case-insensitively: the common attributes, then a
/// schema's own (a name both define is the common one's, as in the scan it replaces; of two
/// attributes whose names differ only in case, the first). Open addressing over a hash of
/// the ASCII-folded name, a power of two slots with at least one empty: a lookup hashes the
/// name once and compares it with the one or two names in its probe run, where a scan
/// compared it with every attribute before it (`active` is the User schema's 11th).
#[derive(Debug, Clone, Default)]
struct NameIndex {
    /// 0: empty; `i + 1`: entry `i` (common attributes first, then the schema's).
    slots: Box<[u32]>,
}

impl NameIndex {
    fn new(attributes: &[AttributeDef]) -> Self {
        let names: Vec<&str> = common_attributes()
            .iter()
            .chain(attributes)
            .map(|a| a.name.as_str())
            .collect();
        let len = (names.len() * 2).next_power_of_two().max(8);
        let mut slots = vec![0u32; len];
        let mask = len - 1;
        for (i, name) in names.iter().enumerate() {
            // Names equal in any case hash alike, so a later one lands further along the
            // same probe run than an earlier one, and a lookup meets the earlier first.
            let mut at = fold_hash(name) & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            // At most 2^31 attributes fit in memory long before this overflows.
            slots[at] = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        NameIndex {
            slots: slots.into_boxed_slice(),
        }
    }

    /// The entry named `name` in any case; `entry(i)` gives entry `i`.
    fn find<'a>(
        &self,
        name: &str,
        entry: impl Fn(usize) -> Option<&'a AttributeDef>,
    ) -> Option<&'a AttributeDef> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = fold_hash(name) & mask;
        // Every probe run ends at an empty slot (at most half the slots are used); the
        // bound is for a table not built by `new`.
        for _ in 0..self.slots.len() {
            let slot = *self.slots.get(at)?;
            let i = usize::try_from(slot.checked_sub(1)?).ok()?;
            let def = entry(i)?;
            if def.name == name || def.name.eq_ignore_ascii_case(name) {
                return Some(def);
            }
            at = (at + 1) & mask;
        }
        None
    }
}

/// FNV-1a over the bytes with ASCII letters folded to lower case (`| 0x20` folds letters and
/// keeps every other byte the same in both spellings of a name, which is all a hash needs).
fn fold_hash(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h = (h ^ u64::from(b | 0x20)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The table index takes the low bits; fold the high ones in.
    (h ^ (h >> 32)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AttrType;

    /// What the name table replaces: the first common attribute, else the first core
    /// attribute, whose name equals `name` ignoring ASCII case.
    fn scan<'a>(core: &'a Schema, name: &str) -> Option<&'a AttributeDef> {
        common_attributes()
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .or_else(|| core.attribute(name))
    }

    fn address(def: Option<&AttributeDef>) -> *const AttributeDef {
        def.map_or(std::ptr::null(), std::ptr::from_ref)
    }

    #[test]
    fn name_table_finds_what_a_scan_finds() {
        let mut registry = Registry::core();
        // Names differing only in case, one shadowing a common attribute, many attributes.
        let mut attributes = vec![
            AttributeDef::new("ID", AttrType::String),
            AttributeDef::new("colour", AttrType::String),
            AttributeDef::new("Colour", AttrType::Integer),
            AttributeDef::new("", AttrType::String),
        ];
        attributes.extend((0..300).map(|i| AttributeDef::new(format!("a{i}_x"), AttrType::String)));
        registry
            .add_schema(Schema {
                id: "urn:example:Odd".into(),
                name: "Odd".into(),
                description: String::new(),
                attributes,
            })
            .unwrap();
        registry
            .add_resource_type(ResourceType {
                id: "Odd".into(),
                name: "Odd".into(),
                endpoint: "/Odd".into(),
                description: String::new(),
                schema: "urn:example:Odd".into(),
                schema_extensions: Vec::new(),
            })
            .unwrap();
        let mut checked = 0;
        for rt in ["User", "Group", "Odd"] {
            let schema = registry.resource_type(rt).unwrap();
            let mut names: Vec<String> = registry
                .schemas()
                .iter()
                .flat_map(|s| &s.attributes)
                .chain(common_attributes())
                .flat_map(|a| a.sub_attributes.iter().chain([a]))
                .map(|a| a.name.clone())
                .collect();
            names.extend(
                ["", "nope", "activ", "actives", "a300_x", "@ctive", "\u{e9}"].map(String::from),
            );
            for name in names {
                for variant in [
                    name.clone(),
                    name.to_ascii_uppercase(),
                    name.to_ascii_lowercase(),
                ] {
                    let want = scan(schema.core, &variant);
                    let got = schema.core_attribute(&variant);
                    assert_eq!(address(want), address(got), "{rt}: {variant}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        let odd = registry.resource_type("Odd").unwrap();
        assert!(std::ptr::eq(
            odd.core_attribute("ID").unwrap(),
            &common_attributes()[0]
        ));
        assert_eq!(
            odd.core_attribute("COLOUR").map(|a| a.attr_type),
            Some(AttrType::String)
        );
        assert_eq!(
            odd.core_attribute("a299_X").map(|a| a.name.as_str()),
            Some("a299_x")
        );
    }
}
