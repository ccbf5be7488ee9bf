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
use crate::registry::{ResourceSchema, common_attributes};
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
    /// value: what is shown is moved into the result, not copied.
    pub fn apply_owned(&self, resource: Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in resource {
            if key == "schemas" {
                out.insert(key, value);
                continue;
            }
            if let Some(ext) = self.schema.extension(&key) {
                let Value::Object(obj) = value else { continue };
                let mut shown = Map::new();
                for (k, v) in obj {
                    match ext.attribute(&k) {
                        Some(def) => {
                            if let Some(p) = self.project(Some(&ext.id), def, v) {
                                shown.insert(canonical(k, &def.name), p);
                            }
                        }
                        None if self.include.is_none() => {
                            shown.insert(k, v);
                        }
                        None => {}
                    }
                }
                if !shown.is_empty() {
                    out.insert(ext.id.clone(), Value::Object(shown));
                }
                continue;
            }
            let def = common_attributes()
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&key))
                .or_else(|| self.schema.core.attribute(&key));
            match def {
                Some(def) => {
                    if let Some(p) = self.project(None, def, value) {
                        out.insert(canonical(key, &def.name), p);
                    }
                }
                // Unknown attributes (kept by a setting) follow `default`.
                None if self.include.is_none() => {
                    out.insert(key, value);
                }
                None => {}
            }
        }
        out
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

    fn project(
        &self,
        scope: Option<&'r str>,
        def: &'r AttributeDef,
        value: Value,
    ) -> Option<Value> {
        let keep = self.decide(scope, def)?;
        let shown = if def.sub_attributes.is_empty() {
            value
        } else {
            match value {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .filter_map(|el| project_complex(def, &keep, el))
                        .collect(),
                ),
                other => project_complex(def, &keep, other)?,
            }
        };
        match &shown {
            Value::Null => None,
            Value::Array(a) if a.is_empty() => None,
            Value::Object(o) if o.is_empty() => None,
            _ => Some(shown),
        }
    }
}

/// The schema's spelling of an attribute name, reusing `key` when it already is.
fn canonical(key: String, name: &str) -> String {
    if key == name { key } else { name.to_owned() }
}

fn project_complex(def: &AttributeDef, keep: &Keep<'_>, value: Value) -> Option<Value> {
    let Value::Object(obj) = value else {
        return Some(value);
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(sub) = def.sub_attribute(&k) else {
            if matches!(keep, Keep::Whole | Keep::Without(_)) {
                out.insert(k, v);
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
            out.insert(canonical(k, &sub.name), v);
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
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
