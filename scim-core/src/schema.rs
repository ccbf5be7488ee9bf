//! Schemas as data: attribute definitions with every RFC 7643 §7 characteristic, schemas,
//! resource types, and the [`Registry`](crate::registry::Registry) that resolves attribute paths against them.
//!
//! The types serialise to the RFC 7643 §7 JSON form (`/Schemas` and `/ResourceTypes`
//! bodies are generated from them, never hand-written).

use serde::{Deserialize, Serialize};

pub use scim_filter::AttrType;

/// The URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The SCIM 1.0 core URN, still sent by some identity providers (OneLogin, Google).
pub const SCIM1_CORE_SCHEMA: &str = "urn:scim:schemas:core:1.0";
/// The URN of the Schema resource's own schema (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The URN of the ResourceType schema (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The URN of the ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Whether `s` starts with `urn:` (any case) and has more after it.
pub fn is_urn(s: &str) -> bool {
    s.len() > 4
        && s.get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
}

/// When an attribute may be written (RFC 7643 §7, `mutability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Never written by a client; the service provider sets it.
    ReadOnly,
    /// May be updated and read at any time.
    #[default]
    ReadWrite,
    /// May be set once (while unassigned) and not changed afterwards.
    Immutable,
    /// May be written but is never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7, `returned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, whatever `attributes` / `excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded.
    #[default]
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

/// How unique an attribute's value is (RFC 7643 §7, `uniqueness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness.
    #[default]
    None,
    /// Unique within the service provider (per tenant here).
    Server,
    /// Globally unique.
    Global,
}

/// The type name as written in RFC 7643 §7 (`"string"`, `"dateTime"`, ...).
pub fn attr_type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

/// Reads an RFC 7643 §7 type name (exact spelling).
pub fn attr_type_from_name(name: &str) -> Option<AttrType> {
    Some(match name {
        "string" => AttrType::String,
        "boolean" => AttrType::Boolean,
        "decimal" => AttrType::Decimal,
        "integer" => AttrType::Integer,
        "dateTime" => AttrType::DateTime,
        "binary" => AttrType::Binary,
        "reference" => AttrType::Reference,
        "complex" => AttrType::Complex,
        _ => return None,
    })
}

mod attr_type_serde {
    use super::{AttrType, attr_type_from_name};
    use serde::{Deserialize, Deserializer, de::Error};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AttrType, D::Error> {
        let name = String::deserialize(d)?;
        attr_type_from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown attribute type `{name}`")))
    }
}

/// One attribute definition with every RFC 7643 §7 characteristic.
///
/// Serialises to the JSON form used in `/Schemas` responses, in the style of RFC 7643
/// §8.7.1: `caseExact` is written for string, reference and binary attributes (for other
/// types only when `true`), `uniqueness` is left out for boolean and complex attributes when
/// it is `none`; readers apply the RFC 7643 §2.2 defaults to what is absent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// The attribute's name, in its canonical case (`userName`).
    pub name: String,
    /// The data type.
    #[serde(rename = "type", deserialize_with = "attr_type_serde::deserialize")]
    pub attr_type: AttrType,
    /// Whether the attribute holds an array of values.
    pub multi_valued: bool,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// Whether the attribute must be present in a resource.
    #[serde(default)]
    pub required: bool,
    /// Whether string comparison is case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// Suggested values (a suggestion, not a closed set: other values are stored as given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// When the attribute may be written.
    #[serde(default)]
    pub mutability: Mutability,
    /// When the attribute is returned.
    #[serde(default)]
    pub returned: Returned,
    /// How unique its value is.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For `reference` attributes: the resource types or `external` / `uri` it may point to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For `complex` attributes: the sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
}

impl Serialize for AttributeDef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let textual = matches!(
            self.attr_type,
            AttrType::String | AttrType::Reference | AttrType::Binary
        );
        let write_case_exact = textual || self.case_exact;
        let write_uniqueness = !matches!(self.attr_type, AttrType::Boolean | AttrType::Complex)
            || self.uniqueness != Uniqueness::None;
        let mut st = s.serialize_struct("AttributeDef", 12)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", attr_type_name(self.attr_type))?;
        if !self.reference_types.is_empty() {
            st.serialize_field("referenceTypes", &self.reference_types)?;
        }
        st.serialize_field("multiValued", &self.multi_valued)?;
        st.serialize_field("description", &self.description)?;
        st.serialize_field("required", &self.required)?;
        if write_case_exact {
            st.serialize_field("caseExact", &self.case_exact)?;
        }
        if !self.canonical_values.is_empty() {
            st.serialize_field("canonicalValues", &self.canonical_values)?;
        }
        if !self.sub_attributes.is_empty() {
            st.serialize_field("subAttributes", &self.sub_attributes)?;
        }
        st.serialize_field("mutability", &self.mutability)?;
        st.serialize_field("returned", &self.returned)?;
        if write_uniqueness {
            st.serialize_field("uniqueness", &self.uniqueness)?;
        }
        st.end()
    }
}

impl AttributeDef {
    /// A single-valued, optional, case-insensitive, readWrite attribute of type `attr_type`
    /// with default returned and no uniqueness: RFC 7643 §2.2's defaults.
    pub fn new(name: impl Into<String>, attr_type: AttrType) -> Self {
        AttributeDef {
            name: name.into(),
            attr_type,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            canonical_values: Vec::new(),
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Makes the attribute multi-valued.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Makes the attribute required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes string comparison case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    /// Sets when the attribute is returned.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    /// Sets the uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    /// Sets the canonical values.
    pub fn canonical_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.canonical_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the reference types.
    pub fn reference_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.reference_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the sub-attributes (for `complex` attributes).
    pub fn sub_attributes(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// The sub-attribute called `name`, matched case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): an id (URN), a name, a description and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The schema URN, e.g. [`USER_SCHEMA`].
    pub id: String,
    /// Human-readable name, e.g. `User`.
    #[serde(default)]
    pub name: String,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// The top-level attributes (common attributes `id`, `externalId` and `meta` are not
    /// listed here: see RFC 7643 §3.1).
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The top-level attribute called `name`, matched case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema extension of a resource type (RFC 7643 §6, `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether a resource must carry the extension.
    pub required: bool,
}

/// A resource type (RFC 7643 §6): its name, endpoint, core schema and extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// The resource type's id, e.g. `User`.
    pub id: String,
    /// The name, e.g. `User` (also `meta.resourceType` of its resources).
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// The core schema URN.
    pub schema: String,
    /// The extension schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
}
