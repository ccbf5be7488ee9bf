//! Projection: which attributes of a resource a response carries (RFC 7644 §3.4.2.5,
//! RFC 7643 §7 `returned`).
//!
//! [`Projection::parse`] reads the `attributes` and `excludedAttributes` query parameters
//! (or the SearchRequest fields): comma-separated attribute names, sub-attributes
//! (`name.givenName`), URN-qualified names
//! (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`), a whole extension
//! by its URN, all case-insensitive. Names that resolve to no attribute are ignored (RFC 7644
//! lets a service ignore them). [`Projection::apply`] shapes one stored resource:
//!
//! - `returned: always` (`id`; `schemas` too) is always there, whatever the lists say;
//! - `returned: never` (`password`) never appears;
//! - `returned: request` appears only when named in `attributes`;
//! - `returned: default` appears unless `attributes` is given without it or
//!   `excludedAttributes` names it.
//!
//! When both lists are given, `attributes` selects and `excludedAttributes` then removes.

use serde_json::{Map, Value};

use crate::error::{Error, quote_input};
use crate::registry::ResourceSchema;
use crate::schema::{AttributeDef, Returned, Schema};

/// The most names one `attributes` or `excludedAttributes` list may hold.
pub const MAX_NAMES: usize = 1000;

/// One resolved name of a list: canonical names borrowed from the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Selected<'r> {
    /// `None` for the core schema and the common attributes; the extension URN otherwise.
    scope: Option<&'r str>,
    /// `None`: the whole extension.
    attr: Option<&'r str>,
    sub: Option<&'r str>,
}

/// A parsed `attributes` / `excludedAttributes` pair for one resource type.
///
/// ```
/// use scim_core::{Registry, project::Projection};
/// use serde_json::json;
///
/// let registry = Registry::core();
/// let users = registry.resource_type("User").unwrap();
/// let p = Projection::parse(Some("userName,NAME.givenName"), None, &users)?;
/// let stored = json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "password": "secret", "active": true,
///     "name": {"givenName": "Barbara", "familyName": "Jensen"},
/// });
/// let shown = p.apply(stored.as_object().unwrap());
/// assert_eq!(serde_json::Value::Object(shown), json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "name": {"givenName": "Barbara"},
/// }));
/// # Ok::<(), scim_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Projection<'r> {
    schema: ResourceSchema<'r>,
    include: Option<Vec<Selected<'r>>>,
    exclude: Vec<Selected<'r>>,
}

/// What to do with one attribute.
enum Keep<'a> {
    Whole,
    Only(Vec<&'a str>),
    Without(Vec<&'a str>),
}

impl<'r> Projection<'r> {
    /// No lists: every `returned: default` and `always` attribute.
    pub fn all(schema: &ResourceSchema<'r>) -> Self {
        Projection {
            schema: *schema,
            include: None,
            exclude: Vec::new(),
        }
    }

    /// Parses the two lists (either may be absent or empty).
    ///
    /// # Errors
    ///
    /// 400 `invalidValue` when a list holds more than [`MAX_NAMES`] names or a name that is
    /// not an attribute path (characters outside the RFC 7643 §2.1 name grammar). Names that
    /// are well-formed but unknown are ignored.
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
        schema: &ResourceSchema<'r>,
    ) -> Result<Self, Error> {
        let include = match attributes.map(str::trim).filter(|s| !s.is_empty()) {
            Some(list) => Some(parse_list(list, schema, "attributes")?),
            None => None,
        };
        let exclude = match excluded.map(str::trim).filter(|s| !s.is_empty()) {
            Some(list) => parse_list(list, schema, "excludedAttributes")?,
            None => Vec::new(),
        };
        Ok(Projection {
            schema: *schema,
            include,
            exclude,
        })
    }

    /// Whether `attributes` was given (only the named and `always` attributes are returned).
    pub fn is_selective(&self) -> bool {
        self.include.is_some()
    }

    /// Shapes one stored resource for a response.
    pub fn apply(&self, resource: &Map<String, Value>) -> Map<String, Value> {
        self.apply_owned(resource.clone())
    }

    /// Shapes one stored resource for a response, as [`Projection::apply`], taking it by
    /// value: the resource is shaped in place (what is not shown is removed), nothing is
    /// copied.
    pub fn apply_owned(&self, mut resource: Map<String, Value>) -> Map<String, Value> {
        retain_named(&mut resource, |key, value| {
            if key == "schemas" {
                return Some(Name::Same);
            }
            if let Some(ext) = self.schema.extension(key) {
                let Value::Object(obj) = value else {
                    return None;
                };
                retain_named(obj, |k, v| match ext.attribute(k) {
                    Some(def) => self
                        .project(Some(&ext.id), def, v)
                        .then_some(Name::Canonical(&def.name)),
                    None => self.include.is_none().then_some(Name::Same),
                });
                return (!obj.is_empty()).then_some(Name::Canonical(&ext.id));
            }
            // The common attribute, else the core one (through the schema's name table).
            match self.schema.core_attribute(key) {
                Some(def) => self
                    .project(None, def, value)
                    .then_some(Name::Canonical(&def.name)),
                // Unknown attributes (kept by a setting) follow `default`.
                None => self.include.is_none().then_some(Name::Same),
            }
        });
        resource
    }

    fn decide(&self, scope: Option<&'r str>, def: &'r AttributeDef) -> Option<Keep<'r>> {
        let name = def.name.as_str();
        let in_scope = |s: &Selected<'r>| s.scope == scope;
        let names_attr = |s: &Selected<'r>| in_scope(s) && s.attr == Some(name);
        let names_whole_ext = |s: &Selected<'r>| scope.is_some() && in_scope(s) && s.attr.is_none();
        match def.returned {
            Returned::Never => return None,
            Returned::Always => return Some(Keep::Whole),
            _ => {}
        }
        let keep = match &self.include {
            Some(list) => {
                if list
                    .iter()
                    .any(|s| (names_attr(s) && s.sub.is_none()) || names_whole_ext(s))
                {
                    if def.returned == Returned::Request
                        && !list.iter().any(|s| names_attr(s) && s.sub.is_none())
                    {
                        return None;
                    }
                    Keep::Whole
                } else {
                    let subs: Vec<&'r str> = list
                        .iter()
                        .filter(|s| names_attr(s))
                        .filter_map(|s| s.sub)
                        .collect();
                    if subs.is_empty() {
                        return None;
                    }
                    Keep::Only(subs)
                }
            }
            None if def.returned == Returned::Request => return None,
            None => Keep::Whole,
        };
        if self
            .exclude
            .iter()
            .any(|s| (names_attr(s) && s.sub.is_none()) || names_whole_ext(s))
        {
            return None;
        }
        let minus: Vec<&'r str> = self
            .exclude
            .iter()
            .filter(|s| names_attr(s))
            .filter_map(|s| s.sub)
            .collect();
        Some(match keep {
            Keep::Whole if !minus.is_empty() => Keep::Without(minus),
            Keep::Only(only) if !minus.is_empty() => {
                Keep::Only(only.into_iter().filter(|s| !minus.contains(s)).collect())
            }
            other => other,
        })
    }

    /// Shapes `value` of the attribute `def` in place; `false` when nothing of it is shown.
    fn project(&self, scope: Option<&'r str>, def: &'r AttributeDef, value: &mut Value) -> bool {
        let Some(keep) = self.decide(scope, def) else {
            return false;
        };
        if !def.sub_attributes.is_empty() {
            match &mut *value {
                Value::Array(items) => items.retain_mut(|el| project_complex(def, &keep, el)),
                other => {
                    if !project_complex(def, &keep, other) {
                        return false;
                    }
                }
            }
        }
        match value {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }
    }
}

/// The name a member keeps: its own, or the schema's spelling of it.
enum Name<'a> {
    Same,
    Canonical(&'a str),
}

/// Keeps the members of `map` that `f` names (after `f` shaped their values in place), each
/// under the name `f` gives: what rebuilding the map member by member, in key order, would
/// give. A member renamed to the schema's spelling (`USERNAME` → `userName`) replaces a
/// member of that name that sorts before it and yields to one that sorts after it.
fn retain_named<'a>(
    map: &mut Map<String, Value>,
    mut f: impl FnMut(&str, &mut Value) -> Option<Name<'a>>,
) {
    let mut renamed: Vec<(String, &'a str, Value)> = Vec::new();
    map.retain(|k, v| match f(k, v) {
        None => false,
        Some(Name::Same) => true,
        Some(Name::Canonical(n)) if n == k => true,
        Some(Name::Canonical(n)) => {
            renamed.push((k.clone(), n, std::mem::take(v)));
            false
        }
    });
    // In key order (as `retain` visited them): a later one replaces an earlier one.
    let mut placed: Vec<&str> = Vec::new();
    for (key, name, value) in renamed {
        let kept_original = map.contains_key(name) && !placed.contains(&name);
        if kept_original && name > key.as_str() {
            continue;
        }
        map.insert(name.to_owned(), value);
        placed.push(name);
    }
}

/// Shapes one element of a complex attribute in place; `false` when nothing of it is shown.
fn project_complex(def: &AttributeDef, keep: &Keep<'_>, value: &mut Value) -> bool {
    let Value::Object(obj) = value else {
        return true;
    };
    retain_named(obj, |k, _| {
        let Some(sub) = def.sub_attribute(k) else {
            return matches!(keep, Keep::Whole | Keep::Without(_)).then_some(Name::Same);
        };
        let name = sub.name.as_str();
        let shown = match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Request => matches!(keep, Keep::Only(only) if only.contains(&name)),
            Returned::Default => match keep {
                Keep::Whole => true,
                Keep::Only(only) => only.contains(&name),
                Keep::Without(minus) => !minus.contains(&name),
            },
        };
        shown.then_some(Name::Canonical(name))
    });
    !obj.is_empty()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$' | ':' | '.')
}

fn parse_list<'r>(
    list: &str,
    schema: &ResourceSchema<'r>,
    param: &str,
) -> Result<Vec<Selected<'r>>, Error> {
    let mut out = Vec::new();
    for (i, raw) in list.split(',').enumerate() {
        if i >= MAX_NAMES {
            return Err(Error::invalid_value(format!(
                "{param} names more than {MAX_NAMES} attributes"
            )));
        }
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if !name.chars().all(is_name_char) {
            return Err(Error::invalid_value(format!(
                "{param}: {} is not an attribute name",
                quote_input(name)
            )));
        }
        if let Some(sel) = resolve_name(name, schema) {
            out.push(sel);
        }
    }
    Ok(out)
}

fn scope_of<'r>(schema: &ResourceSchema<'r>, s: &'r Schema) -> Option<&'r str> {
    if std::ptr::eq(s, schema.core) {
        None
    } else {
        Some(s.id.as_str())
    }
}

fn resolve_name<'r>(name: &str, schema: &ResourceSchema<'r>) -> Option<Selected<'r>> {
    let (urn, rest) = if crate::schema::is_urn(name) {
        if let Some(ext) = schema.extension(name) {
            return Some(Selected {
                scope: Some(ext.id.as_str()),
                attr: None,
                sub: None,
            });
        }
        let (urn, rest) = name.rsplit_once(':')?;
        (Some(urn), rest)
    } else {
        (None, name)
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    let r = schema.resolve_parts(urn, attr, sub).ok()?;
    let def = r.attr?;
    Some(Selected {
        scope: scope_of(schema, r.schema),
        attr: Some(def.name.as_str()),
        sub: r.sub_attr.map(|s| s.name.as_str()),
    })
}

impl Projection<'_> {
    /// Whether this is [`Projection::all`]: neither list given.
    pub(crate) fn is_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty()
    }
}

/// Whether [`Projection::all`] leaves the stored resource `json` (the text of a JSON
/// object) exactly as it is, and it holds `schemas` and none of `reserved` (names the
/// service sets itself or the store derives): then the text can go into a response as
/// it is, without being parsed into a map, shaped and written again.
///
/// It walks the text once without building anything and answers `false` (shape it the
/// usual way) at the first thing [`Projection::apply_owned`] would change: a `returned:
/// never` or `request` attribute or sub-attribute, a name not in the schema's spelling, a
/// `null`, an empty array or object where the projection drops it, an extension that is
/// not an object. Keys must also come in strictly ascending order in every object it
/// looks into (as `serde_json` writes a map, so none repeats); text it cannot parse is
/// `false` too.
pub(crate) fn shown_as_stored(schema: &ResourceSchema<'_>, json: &str, reserved: &[&str]) -> bool {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(json);
    // Looked up once, not for every key.
    let extensions: Vec<&Schema> = schema.extensions().map(|(s, _)| s).collect();
    let shown = TopLevel {
        schema,
        extensions: &extensions,
        reserved,
    }
    .deserialize(&mut de)
    .unwrap_or(false);
    shown && de.end().is_ok()
}

mod check {
    //! The visitors of [`super::shown_as_stored`]: each answers whether the value it
    //! read is shown unchanged, and reads no further once it is not.

    use std::fmt;

    use serde::de::{
        self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    use crate::registry::ResourceSchema;
    use crate::schema::{AttributeDef, Returned, Schema};

    /// Booleans, numbers and strings are shown as they are.
    macro_rules! scalars_shown {
        () => {
            fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
                Ok(true)
            }
            fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
                Ok(true)
            }
            fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
                Ok(true)
            }
            fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
                Ok(true)
            }
            fn visit_str<E>(self, _: &str) -> Result<bool, E> {
                Ok(true)
            }
        };
    }
    /// Anything but an object is not shown as stored (the projection drops it).
    macro_rules! not_shown {
        () => {
            fn visit_unit<E>(self) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_str<E>(self, _: &str) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
                Ok(false)
            }
        };
    }

    /// A key, borrowed from the text unless it holds an escape.
    #[derive(PartialEq, PartialOrd)]
    enum Key<'de> {
        Borrowed(&'de str),
        Owned(String),
    }

    impl Key<'_> {
        fn as_str(&self) -> &str {
            match self {
                Key::Borrowed(s) => s,
                Key::Owned(s) => s,
            }
        }
    }

    struct KeySeed;

    impl<'de> DeserializeSeed<'de> for KeySeed {
        type Value = Key<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed {
        type Value = Key<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
            Ok(Key::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
            Ok(Key::Owned(v.to_owned()))
        }
    }

    /// Reads the keys of an object in order; `None` at its end, `Err(())` (stop: not
    /// shown as stored) when a key does not sort after the one before.
    struct Keys<'de> {
        last: Option<Key<'de>>,
    }

    impl<'de> Keys<'de> {
        fn next<A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<Option<&str>, A::Error> {
            let Some(k) = map.next_key_seed(KeySeed)? else {
                return Ok(None);
            };
            if self.last.as_ref().is_some_and(|l| l.as_str() >= k.as_str()) {
                return Err(de::Error::custom("keys out of order"));
            }
            Ok(Some(self.last.insert(k).as_str()))
        }
    }

    fn shown(returned: Returned) -> bool {
        matches!(returned, Returned::Default | Returned::Always)
    }

    /// The whole resource.
    pub(super) struct TopLevel<'a, 'r> {
        pub(super) schema: &'a ResourceSchema<'r>,
        /// The schema's extensions (what `ResourceSchema::extension` looks through).
        pub(super) extensions: &'a [&'r Schema],
        pub(super) reserved: &'a [&'a str],
    }

    impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for TopLevel<'_, '_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a resource")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut keys = Keys { last: None };
            let mut schemas = false;
            while let Some(key) = keys.next(&mut map)? {
                if self.reserved.iter().any(|r| r.eq_ignore_ascii_case(key)) {
                    return Ok(false);
                }
                // The order of `Projection::apply_owned`'s own decisions.
                let ok = if key == "schemas" {
                    schemas = true;
                    map.next_value::<IgnoredAny>()?;
                    true
                } else if let Some(ext) = self
                    .extensions
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(key))
                {
                    ext.id == key && map.next_value_seed(Extension(ext))?
                } else {
                    // The common attribute, else the core one (the schema's name table).
                    match self.schema.core_attribute(key) {
                        Some(def) => def.name == key && map.next_value_seed(Attribute(def))?,
                        // Unknown attributes are shown as they are.
                        None => {
                            map.next_value::<IgnoredAny>()?;
                            true
                        }
                    }
                };
                if !ok {
                    return Ok(false);
                }
            }
            Ok(schemas)
        }
    }

    /// An extension's object: shown as stored when not empty and each attribute is.
    struct Extension<'r>(&'r Schema);

    impl<'de> DeserializeSeed<'de> for Extension<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Extension<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an extension")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut keys = Keys { last: None };
            let mut any = false;
            while let Some(key) = keys.next(&mut map)? {
                any = true;
                let ok = match self.0.attribute(key) {
                    Some(def) => def.name == key && map.next_value_seed(Attribute(def))?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                        true
                    }
                };
                if !ok {
                    return Ok(false);
                }
            }
            Ok(any)
        }
        not_shown!();
    }

    /// The value of an attribute of the schema.
    struct Attribute<'r>(&'r AttributeDef);

    impl<'de> DeserializeSeed<'de> for Attribute<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            if !shown(self.0.returned) {
                // Not read further: the answer is known.
                return Ok(false);
            }
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Attribute<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an attribute value")
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut any = false;
            if self.0.sub_attributes.is_empty() {
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    any = true;
                }
                return Ok(any);
            }
            while let Some(ok) = seq.next_element_seed(Element(self.0))? {
                if !ok {
                    return Ok(false);
                }
                any = true;
            }
            Ok(any)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
            if self.0.sub_attributes.is_empty() {
                let mut map = map;
                let mut any = false;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    any = true;
                }
                return Ok(any);
            }
            Element(self.0).visit_map(map)
        }
        scalars_shown!();
    }

    /// One value of a complex attribute: an object is shown as stored when not empty and
    /// each sub-attribute is; anything else is left alone by the projection.
    struct Element<'r>(&'r AttributeDef);

    impl<'de> DeserializeSeed<'de> for Element<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Element<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a complex value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut keys = Keys { last: None };
            let mut any = false;
            while let Some(key) = keys.next(&mut map)? {
                any = true;
                if let Some(sub) = self.0.sub_attribute(key)
                    && (sub.name != key || !shown(sub.returned))
                {
                    return Ok(false);
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(any)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(true)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(true)
        }
        scalars_shown!();
    }
}

use check::TopLevel;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Registry, common_attributes};
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use proptest::prelude::*;
    use serde_json::json;

    fn stored() -> Map<String, Value> {
        let v = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "1", "userName": "bjensen", "password": "hunter2", "displayName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            "meta": {"resourceType": "User", "created": "2011-08-01T18:29:49.793Z"},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m", "displayName": "Boss"}},
        });
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    }

    fn shape(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let p = Projection::parse(attrs, excluded, &users).expect("parse");
        Value::Object(p.apply(&stored()))
    }

    #[test]
    fn defaults_hide_never() {
        let v = shape(None, None);
        assert!(v.get("password").is_none());
        assert_eq!(v["userName"], "bjensen");
        assert_eq!(v[ENTERPRISE_USER_SCHEMA]["manager"]["displayName"], "Boss");
    }

    #[test]
    fn attributes_select() {
        let v = shape(
            Some(
                "emails.value, urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
            None,
        );
        assert_eq!(
            v,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "1",
                "emails": [{"value": "a@x"}, {"value": "b@x"}],
                ENTERPRISE_USER_SCHEMA: {"department": "Sales"},
            })
        );
        let v = shape(Some("password,id,nope,DEPARTMENT"), None);
        assert_eq!(
            v,
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1", ENTERPRISE_USER_SCHEMA: {"department": "Sales"}})
        );
        let v = shape(Some(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA]["department"], "Sales");
        assert!(v.get("userName").is_none());
    }

    #[test]
    fn excluded_attributes() {
        let v = shape(None, Some("id,emails,name.givenName,meta"));
        assert_eq!(v["id"], "1", "always cannot be excluded");
        assert!(v.get("emails").is_none());
        assert!(v.get("meta").is_none());
        assert_eq!(v["name"], json!({"familyName": "Jensen"}));
        let v = shape(
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
        );
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(v["userName"], "bjensen");
        let v = shape(Some("userName,displayName"), Some("displayName"));
        assert!(v.get("displayName").is_none());
        assert_eq!(v["userName"], "bjensen");
    }

    /// What `apply` did before it shaped in place: the shown members copied into new maps,
    /// in key order (a later name replacing an earlier one). The oracle of the property
    /// below.
    fn rebuilt<'r>(p: &Projection<'r>, resource: &Map<String, Value>) -> Map<String, Value> {
        fn complex(def: &AttributeDef, keep: &Keep<'_>, value: &Value) -> Option<Value> {
            let Value::Object(obj) = value else {
                return Some(value.clone());
            };
            let mut out = Map::new();
            for (k, v) in obj {
                let Some(sub) = def.sub_attribute(k) else {
                    if matches!(keep, Keep::Whole | Keep::Without(_)) {
                        out.insert(k.clone(), v.clone());
                    }
                    continue;
                };
                let name = sub.name.as_str();
                let shown = match sub.returned {
                    Returned::Never => false,
                    Returned::Always => true,
                    Returned::Request => matches!(keep, Keep::Only(only) if only.contains(&name)),
                    Returned::Default => match keep {
                        Keep::Whole => true,
                        Keep::Only(only) => only.contains(&name),
                        Keep::Without(minus) => !minus.contains(&name),
                    },
                };
                if shown {
                    out.insert(sub.name.clone(), v.clone());
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        let project =
            |scope: Option<&'r str>, def: &'r AttributeDef, value: &Value| -> Option<Value> {
                let keep = p.decide(scope, def)?;
                let shown = if def.sub_attributes.is_empty() {
                    value.clone()
                } else {
                    match value {
                        Value::Array(items) => Value::Array(
                            items
                                .iter()
                                .filter_map(|el| complex(def, &keep, el))
                                .collect(),
                        ),
                        other => complex(def, &keep, other)?,
                    }
                };
                match &shown {
                    Value::Null => None,
                    Value::Array(a) if a.is_empty() => None,
                    Value::Object(o) if o.is_empty() => None,
                    _ => Some(shown),
                }
            };
        let mut out = Map::new();
        for (key, value) in resource {
            if key == "schemas" {
                out.insert(key.clone(), value.clone());
                continue;
            }
            if let Some(ext) = p.schema.extension(key) {
                let Value::Object(obj) = value else { continue };
                let mut shown = Map::new();
                for (k, v) in obj {
                    if let Some(def) = ext.attribute(k)
                        && let Some(v) = project(Some(&ext.id), def, v)
                    {
                        shown.insert(def.name.clone(), v);
                    } else if ext.attribute(k).is_none() && p.include.is_none() {
                        shown.insert(k.clone(), v.clone());
                    }
                }
                if !shown.is_empty() {
                    out.insert(ext.id.clone(), Value::Object(shown));
                }
                continue;
            }
            let def = common_attributes()
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(key))
                .or_else(|| p.schema.core.attribute(key));
            match def {
                Some(def) => {
                    if let Some(v) = project(None, def, value) {
                        out.insert(def.name.clone(), v);
                    }
                }
                None if p.include.is_none() => {
                    out.insert(key.clone(), value.clone());
                }
                None => {}
            }
        }
        out
    }

    fn any_value(depth: u32) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            Just(Value::Bool(true)),
            "[a-z]{0,3}".prop_map(Value::from),
            Just(Value::Array(Vec::new())),
            Just(Value::Object(Map::new())),
        ];
        leaf.prop_recursive(depth, 24, 4, |inner| {
            let keys = prop::sample::select(vec![
                "value",
                "VALUE",
                "Value",
                "type",
                "primary",
                "display",
                "$ref",
                "givenName",
                "GIVENNAME",
                "familyName",
                "location",
                "Location",
                "version",
                "created",
                "x",
                "department",
                "DEPARTMENT",
                "manager",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec((keys, inner), 0..4).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    fn any_resource() -> impl Strategy<Value = Map<String, Value>> {
        let keys = prop::sample::select(vec![
            "schemas",
            "id",
            "ID",
            "userName",
            "USERNAME",
            "username",
            "name",
            "NAME",
            "emails",
            "Emails",
            "password",
            "active",
            "displayName",
            "meta",
            "Meta",
            "groups",
            "x-unknown",
            ENTERPRISE_USER_SCHEMA,
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER",
        ]);
        prop::collection::vec((keys, any_value(2)), 0..10)
            .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn any_list() -> impl Strategy<Value = Option<String>> {
        let names = prop::sample::select(vec![
            "userName",
            "name",
            "name.givenName",
            "NAME.familyName",
            "emails.value",
            "emails",
            "meta",
            "meta.location",
            "password",
            "groups",
            "groups.display",
            "id",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ENTERPRISE_USER_SCHEMA,
            "manager.value",
            "nope",
        ]);
        prop::option::of(prop::collection::vec(names, 0..4).prop_map(|n| n.join(",")))
    }

    proptest! {
        #[test]
        fn shaping_in_place_gives_what_rebuilding_gave(
            resource in any_resource(),
            attrs in any_list(),
            excluded in any_list(),
        ) {
            let reg = Registry::core();
            let users = reg.resource_type("User").expect("User");
            let p = Projection::parse(attrs.as_deref(), excluded.as_deref(), &users).expect("parse");
            prop_assert_eq!(p.apply_owned(resource.clone()), rebuilt(&p, &resource));
            prop_assert_eq!(p.apply(&resource), rebuilt(&p, &resource));
        }
    }

    proptest! {
        #[test]
        fn text_shown_as_stored_is_what_the_default_projection_leaves(
            resource in any_resource(),
        ) {
            let reg = Registry::core();
            let users = reg.resource_type("User").expect("User");
            let json = serde_json::to_string(&resource).expect("json");
            if shown_as_stored(&users, &json, &["id", "meta"]) {
                prop_assert_eq!(Projection::all(&users).apply_owned(resource.clone()), resource.clone());
                prop_assert!(resource.contains_key("schemas"));
                prop_assert!(!resource.keys().any(|k| k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("meta")));
            }
        }
    }

    /// `json` checked as a user, with the answer of the default projection beside it.
    fn check_user(v: &Value) -> (bool, bool) {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let json = serde_json::to_string(v).expect("json");
        let shown = shown_as_stored(&users, &json, &["id", "meta", "groups"]);
        let m = v.as_object().cloned().unwrap_or_default();
        let unchanged = Projection::all(&users).apply_owned(m.clone()) == m;
        (shown, unchanged)
    }

    #[test]
    fn stored_text_shown_as_it_is_only_when_nothing_would_change() {
        let user = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "bjensen", "active": true, "displayName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}],
            "x-kept": null,
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m"}},
        });
        assert_eq!(check_user(&user), (true, true));
        let with = |k: &str, v: Value| {
            let mut u = user.clone();
            u[k] = v;
            u
        };
        for (what, changed) in [
            ("password", with("password", json!("secret"))),
            ("a name in another case", with("USERNAME", json!("b"))),
            ("a null", with("nickName", Value::Null)),
            ("an empty array", with("emails", json!([]))),
            ("an empty complex value", with("name", json!({}))),
            (
                "a sub-attribute in another case",
                with("emails", json!([{"Value": "a"}])),
            ),
            ("an empty element", with("emails", json!([{}]))),
            (
                "an empty extension",
                with(ENTERPRISE_USER_SCHEMA, json!({})),
            ),
            (
                "an extension that is not an object",
                with(ENTERPRISE_USER_SCHEMA, json!(1)),
            ),
            (
                "a null in an extension",
                with(ENTERPRISE_USER_SCHEMA, json!({"department": null})),
            ),
        ] {
            assert_eq!(check_user(&changed), (false, false), "{what}");
        }
        // What the service sets or the store derives, and a resource without `schemas`:
        // shaped the usual way.
        for (what, other) in [
            ("id", with("id", json!("1"))),
            ("meta", with("meta", json!({"version": "W/\"1\""}))),
            ("groups", with("groups", json!([{"value": "g"}]))),
        ] {
            assert!(!check_user(&other).0, "{what}");
        }
        let mut bare = user.clone();
        bare.as_object_mut().map(|m| m.remove("schemas"));
        assert!(!check_user(&bare).0);

        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let ok = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a"}"#;
        assert!(shown_as_stored(&users, ok, &[]));
        // An escaped key is read as what it stands for.
        let escaped = r#"{"schemas":[],"user\u004eame":"a"}"#;
        assert!(shown_as_stored(&users, escaped, &[]));
        for bad in [
            "",
            "[]",
            "{",
            r#"{"schemas":[]} x"#,
            r#"{"userName":"a","schemas":[]}"#,
            r#"{"schemas":[],"userName":"a","userName":"b"}"#,
            r#"{"emails":[{"value":"a","value":"b"}],"schemas":[]}"#,
        ] {
            assert!(!shown_as_stored(&users, bad, &[]), "{bad}");
        }
    }

    #[test]
    fn a_name_in_another_case_yields_to_the_later_key() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let p = Projection::all(&users);
        let m = |v: Value| match v {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        // "USERNAME" < "userName" < "username" in key order: the last one wins.
        let r = m(json!({"USERNAME": "a", "userName": "b", "username": "c"}));
        assert_eq!(p.apply_owned(r.clone()), m(json!({"userName": "c"})));
        assert_eq!(p.apply_owned(r.clone()), rebuilt(&p, &r));
        let r = m(json!({"USERNAME": "a", "userName": "b"}));
        assert_eq!(p.apply_owned(r), m(json!({"userName": "b"})));
        let r =
            m(json!({"name": {"GIVENNAME": "x", "givenName": "y"}, "NAME": {"familyName": "z"}}));
        assert_eq!(p.apply_owned(r.clone()), rebuilt(&p, &r));
        assert_eq!(p.apply_owned(r), m(json!({"name": {"givenName": "y"}})));
    }

    #[test]
    fn bad_names() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        assert!(Projection::parse(Some("emails[type eq \"work\"]"), None, &users).is_err());
        let many = vec!["userName"; MAX_NAMES + 1].join(",");
        assert!(Projection::parse(Some(&many), None, &users).is_err());
        assert!(Projection::parse(Some(" , "), Some(""), &users).is_ok());
    }
}
