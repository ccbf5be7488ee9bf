//! Validation of resource bodies and attribute values against their schema, aware of the
//! request context ([`Mode`]: create, replace, or the result of a PATCH).
//!
//! Two entry points:
//!
//! - [`normalize_value`] checks and normalises one attribute's value against its
//!   [`AttributeDef`]: types (with the tolerated identity-provider coercions of
//!   [`Dialects`]), canonical sub-attribute names, unknown sub-attributes dropped, at most one
//!   `primary: true` per multi-valued value. The PATCH engine calls it on operation values.
//! - [`validate_resource`] checks a whole resource body (POST, PUT, or a PATCH result):
//!   `schemas`, canonical attribute names, types, required attributes, readOnly attributes
//!   ignored, immutable attributes compared with the stored resource, unknown attributes
//!   dropped.
//!
//! Beyond type checks, string values are stored as given: no format checks on email
//! addresses, phone numbers, URLs, locales or time zones, and `canonicalValues` are
//! suggestions, not a closed set.
//!
//! # Absent, null and empty
//!
//! In a stored resource, absent, `null` and `[]` (and `{}`) are one state, unassigned
//! (RFC 7643 §2.5): the normalised output never holds them. In a request they differ: in a
//! [`Mode::Replace`] body an omitted attribute is not asserted (the stored value is kept),
//! while `null` or `[]` clears it.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::dialects::Dialects;
use crate::error::{Error, ScimType, quote_input};
use crate::registry::{ResourceSchema, common_attributes};
use crate::schema::{
    AttrType, AttributeDef, Mutability, Returned, SCIM1_CORE_SCHEMA, Schema, is_urn,
};

/// The request context a resource body is validated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A POST: a new resource. readOnly attributes in the body are ignored.
    Create,
    /// A PUT: the body replaces the stored resource. Attributes omitted from the body are
    /// not asserted and keep their stored value; `null` or `[]` clears an attribute.
    /// readOnly attributes in the body are ignored; the stored ones (`id`, `meta`, ...) are
    /// kept. Immutable attributes are compared with the stored resource.
    Replace,
    /// The result of applying a PatchOp to the stored resource: required attributes and
    /// immutable attributes (against the stored resource) are checked; readOnly attributes
    /// are kept (the PATCH engine preserved the stored ones), not ignored.
    Patch,
}

/// Settings of [`validate_resource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct ValidateOptions {
    /// The identity-provider dialects tolerated (all on by default but
    /// `empty_operations_noop`).
    pub dialects: Dialects,
    /// Keep attributes and sub-attributes that no registered schema defines, and objects
    /// keyed by unregistered URNs, as given (default `false`: they are dropped, neither
    /// stored nor returned).
    pub keep_unknown_attributes: bool,
}

impl ValidateOptions {
    /// The default options: every default dialect, unknown attributes dropped.
    pub fn new() -> Self {
        ValidateOptions::default()
    }

    /// Sets the tolerated dialects.
    pub fn dialects(mut self, dialects: Dialects) -> Self {
        self.dialects = dialects;
        self
    }

    /// Keeps (or drops, the default) unknown attributes.
    pub fn keep_unknown_attributes(mut self, keep: bool) -> Self {
        self.keep_unknown_attributes = keep;
        self
    }
}

/// How [`normalize_value_with`] treats sub-attributes beyond the type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ValueContext {
    /// The tolerated identity-provider dialects.
    pub dialects: Dialects,
    /// Drop readOnly sub-attributes (`members.display`, `manager.displayName`) sent by the
    /// client, as a POST or PUT does. Off in [`normalize_value`]: the PATCH engine decides.
    pub drop_read_only: bool,
    /// Keep unknown sub-attributes as given instead of dropping them.
    pub keep_unknown: bool,
}

impl ValueContext {
    /// A context with these dialects that keeps readOnly sub-attributes and drops unknown
    /// ones (what [`normalize_value`] uses).
    pub const fn new(dialects: Dialects) -> Self {
        ValueContext {
            dialects,
            drop_read_only: false,
            keep_unknown: false,
        }
    }

    /// Sets whether readOnly sub-attributes are dropped.
    pub const fn drop_read_only(mut self, on: bool) -> Self {
        self.drop_read_only = on;
        self
    }

    /// Sets whether unknown sub-attributes are kept.
    pub const fn keep_unknown(mut self, on: bool) -> Self {
        self.keep_unknown = on;
        self
    }
}

/// Checks and normalises one attribute's value against its definition: type checks with the
/// tolerated coercions (Dialects: boolean strings, single object for a multi-valued attribute,
/// manager as a bare string id, JSON-in-string role values...), canonical sub-attribute name
/// case, unknown sub-attributes dropped, read-only sub-attributes dropped only where the
/// caller asks (see `ValueContext`), "primary" uniqueness within a multi-valued value.
/// Returns Value::Null for an unassigned result (null, [], {} with nothing left).
/// `path` is the attribute path used in error details, e.g. "emails" or "name.givenName".
///
/// Multi-valued attributes: two elements with `primary: true` keep the last and the others
/// get `primary: false` (RFC 7643 §2.4); `null` elements are dropped.
///
/// # Errors
///
/// 400 `invalidValue` naming `path` when the value does not have the attribute's type
/// (`userName: 5`, `emails: "x"`, `active: "maybe"`, an integer out of range, a dateTime that
/// is not xsd:dateTime, binary that is not base64).
///
/// # Example
///
/// ```
/// use scim_core::{Dialects, Registry, validate::normalize_value};
/// use serde_json::json;
///
/// let registry = Registry::core();
/// let users = registry.resource_type("User").unwrap();
/// let emails = users.resolve_parts(None, "emails", None).unwrap().attr.unwrap();
/// let v = normalize_value(emails, json!({"Value": "a@b", "type": "work"}), &Dialects::default(), "emails")?;
/// assert_eq!(v, json!([{"value": "a@b", "type": "work"}]));
/// # Ok::<(), scim_core::Error>(())
/// ```
pub fn normalize_value(
    def: &AttributeDef,
    value: Value,
    dialects: &Dialects,
    path: &str,
) -> Result<Value, Error> {
    normalize_value_with(def, value, &ValueContext::new(*dialects), path)
}

/// [`normalize_value`] with the sub-attribute treatment of `ctx`.
///
/// # Errors
///
/// As [`normalize_value`].
pub fn normalize_value_with(
    def: &AttributeDef,
    value: Value,
    ctx: &ValueContext,
    path: &str,
) -> Result<Value, Error> {
    normalize_at(def, value, ctx, &path)
}

/// An attribute path for error details, rendered only when an error needs it.
type PathRef<'a> = &'a dyn fmt::Display;

/// `parent` `sep` `name`: `emails.value`, `urn:...:User:department`.
struct Joined<'a>(PathRef<'a>, char, &'a str);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.0, self.1, self.2)
    }
}

fn normalize_at(
    def: &AttributeDef,
    value: Value,
    ctx: &ValueContext,
    path: PathRef<'_>,
) -> Result<Value, Error> {
    if def.multi_valued {
        normalize_multi(def, value, ctx, path)
    } else {
        normalize_single(def, value, ctx, path)
    }
}

fn is_secret(def: &AttributeDef) -> bool {
    def.returned == Returned::Never || def.mutability == Mutability::WriteOnly
}

/// A short description of a value for an error detail; never the value of a secret.
fn describe(value: &Value, secret: bool) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) if secret => "a number".to_owned(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) if secret => "a string".to_owned(),
        Value::String(s) => format!("the string {}", quote_input(s)),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn type_error(def: &AttributeDef, path: PathRef<'_>, expected: &str, got: &Value) -> Error {
    Error::invalid_value(format!(
        "attribute {} must be {expected}, not {}",
        quote_input(&path.to_string()),
        describe(got, is_secret(def))
    ))
}

fn is_manager(def: &AttributeDef) -> bool {
    def.attr_type == AttrType::Complex
        && !def.multi_valued
        && def.name.eq_ignore_ascii_case("manager")
        && def.sub_attribute("value").is_some()
}

pub(crate) fn is_roles(def: &AttributeDef) -> bool {
    def.attr_type == AttrType::Complex && def.multi_valued && def.name.eq_ignore_ascii_case("roles")
}

/// Parses a string holding a JSON array or object (Entra app-role values).
fn json_in_string(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

fn normalize_multi(
    def: &AttributeDef,
    value: Value,
    ctx: &ValueContext,
    path: PathRef<'_>,
) -> Result<Value, Error> {
    let items = match value {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items,
        Value::String(s) if ctx.dialects.json_in_string_roles && is_roles(def) => {
            match json_in_string(&s) {
                Some(Value::Array(items)) => items,
                Some(obj) => vec![obj],
                None => {
                    return Err(type_error(def, path, "an array", &Value::String(s)));
                }
            }
        }
        Value::Object(o) if ctx.dialects.single_value_as_array => vec![Value::Object(o)],
        other
            if ctx.dialects.single_value_as_array
                && def.attr_type != AttrType::Complex
                && !other.is_array() =>
        {
            vec![other]
        }
        other => return Err(type_error(def, path, "an array", &other)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.is_array() {
            return Err(type_error(def, path, "an array of single values", &item));
        }
        let v = normalize_element(def, item, ctx, path)?;
        if !v.is_null() {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(Value::Null);
    }
    if def.attr_type == AttrType::Complex && def.sub_attribute("primary").is_some() {
        keep_last_primary(&mut out);
    }
    Ok(Value::Array(out))
}

/// At most one element with `primary: true`: the last one keeps it, the others get `false`
/// (RFC 7643 §2.4).
pub fn keep_last_primary(items: &mut [Value]) {
    let is_primary = |v: &Value| v.get("primary").and_then(Value::as_bool) == Some(true);
    if let Some(last) = items.iter().rposition(is_primary) {
        for item in &mut items[..last] {
            if is_primary(item)
                && let Some(obj) = item.as_object_mut()
            {
                obj.insert("primary".to_owned(), Value::Bool(false));
            }
        }
    }
}

fn normalize_single(
    def: &AttributeDef,
    value: Value,
    ctx: &ValueContext,
    path: PathRef<'_>,
) -> Result<Value, Error> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Array(items) if items.is_empty() => Ok(Value::Null),
        Value::Array(mut items)
            if items.len() == 1 && ctx.dialects.manager_as_string && is_manager(def) =>
        {
            let item = items.pop().unwrap_or(Value::Null);
            normalize_element(def, item, ctx, path)
        }
        Value::Array(_) => Err(type_error(def, path, "a single value", &value)),
        other => normalize_element(def, other, ctx, path),
    }
}

/// One value (of a single-valued attribute, or one element of a multi-valued one).
fn normalize_element(
    def: &AttributeDef,
    value: Value,
    ctx: &ValueContext,
    path: PathRef<'_>,
) -> Result<Value, Error> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match def.attr_type {
        AttrType::Complex => match value {
            Value::Object(obj) => normalize_complex(def, obj, ctx, path),
            Value::String(s) if ctx.dialects.manager_as_string && is_manager(def) => {
                if s.is_empty() {
                    Ok(Value::Null)
                } else {
                    let mut obj = Map::new();
                    obj.insert("value".to_owned(), Value::String(s));
                    Ok(Value::Object(obj))
                }
            }
            other => Err(type_error(def, path, "an object", &other)),
        },
        AttrType::String | AttrType::Reference => match value {
            Value::String(_) => Ok(value),
            other => Err(type_error(def, path, "a string", &other)),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(value),
            Value::String(ref s) if ctx.dialects.boolean_strings => {
                if s.eq_ignore_ascii_case("true") {
                    Ok(Value::Bool(true))
                } else if s.eq_ignore_ascii_case("false") {
                    Ok(Value::Bool(false))
                } else {
                    Err(type_error(def, path, "a boolean", &value))
                }
            }
            other => Err(type_error(def, path, "a boolean", &other)),
        },
        AttrType::Integer => match &value {
            Value::Number(n) => {
                if n.is_i64() {
                    Ok(value)
                } else if n.is_u64() {
                    Err(type_error(
                        def,
                        path,
                        "an integer within 64-bit range",
                        &value,
                    ))
                } else {
                    // A float: accepted when it is a whole number that fits.
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
                        // Below 2^53, so the conversion is exact.
                        Ok(Value::Number(Number::from(f as i64)))
                    } else {
                        Err(type_error(def, path, "an integer", &value))
                    }
                }
            }
            _ => Err(type_error(def, path, "an integer", &value)),
        },
        AttrType::Decimal => match &value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(value),
            _ => Err(type_error(def, path, "a decimal number", &value)),
        },
        AttrType::DateTime => match &value {
            Value::String(s) if is_xsd_date_time(s) => Ok(value),
            _ => Err(type_error(
                def,
                path,
                "an xsd:dateTime string (e.g. \"2008-01-23T04:56:22Z\")",
                &value,
            )),
        },
        AttrType::Binary => match &value {
            Value::String(s) if is_base64(s) => Ok(value),
            _ => Err(type_error(def, path, "a base64 string", &value)),
        },
    }
}

fn normalize_complex(
    def: &AttributeDef,
    obj: Map<String, Value>,
    ctx: &ValueContext,
    path: PathRef<'_>,
) -> Result<Value, Error> {
    let mut obj = obj;
    if ctx.dialects.json_in_string_roles && is_roles(def) {
        unwrap_role_value(&mut obj);
    }
    let mut out = Map::new();
    for (key, value) in obj {
        match def.sub_attribute(&key) {
            Some(sub) => {
                if ctx.drop_read_only && sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                let v = normalize_at(sub, value, ctx, &Joined(path, '.', &sub.name))?;
                if v.is_null() {
                    out.remove(&sub.name);
                } else {
                    // The key as sent is usually the canonical name already: keep its string.
                    let name = if key == sub.name {
                        key
                    } else {
                        sub.name.clone()
                    };
                    out.insert(name, v);
                }
            }
            None if ctx.keep_unknown => {
                out.insert(key, value);
            }
            None => {}
        }
    }
    if out.is_empty() {
        Ok(Value::Null)
    } else {
        Ok(Value::Object(out))
    }
}

/// Entra app roles: `{"value": "{\"id\":\"…\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}`
/// becomes `{"value": "Admin", "display": "Admin"}` (`value` from the inner `value`, else its
/// `id`; `display` and `type` from the inner object when the role has none).
fn unwrap_role_value(obj: &mut Map<String, Value>) {
    let Some(key) = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("value"))
        .cloned()
    else {
        return;
    };
    let Some(Value::Object(inner)) = obj
        .get(&key)
        .and_then(Value::as_str)
        .and_then(json_in_string)
    else {
        return;
    };
    let field = |names: &[&str]| {
        names.iter().find_map(|n| {
            inner
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(n) && v.is_string())
                .map(|(_, v)| v.clone())
        })
    };
    let Some(value) = field(&["value", "id"]) else {
        return;
    };
    let has = |obj: &Map<String, Value>, name: &str| {
        obj.iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_null())
    };
    let display = field(&["display", "displayName"]);
    let kind = field(&["type"]);
    obj.remove(&key);
    obj.insert("value".to_owned(), value);
    if let Some(d) = display
        && !has(obj, "display")
    {
        obj.insert("display".to_owned(), d);
    }
    if let Some(t) = kind
        && !has(obj, "type")
    {
        obj.insert("type".to_owned(), t);
    }
}

/// Whether `s` is an xsd:dateTime (`2008-01-23T04:56:22Z`, an offset, fractional seconds,
/// or no zone at all).
pub fn is_xsd_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    // Date, `T`, and at least hh:mm:ss.
    if b.len() < 19 || !matches!(b.get(10), Some(b'T' | b't')) {
        return false;
    }
    if s.parse::<jiff::Timestamp>().is_ok() {
        return true;
    }
    // No zone designator: a civil date-time (xsd allows it). A string with an offset that did
    // not parse as a timestamp is not accepted here either.
    !s[10..].contains(['Z', 'z', '+']) && s[10..].matches('-').count() == 0 && {
        s.parse::<jiff::civil::DateTime>().is_ok()
    }
}

/// Whether `s` is base64 (RFC 4648 §4 alphabet; padding optional; whitespace between
/// lines tolerated).
pub fn is_base64(s: &str) -> bool {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if s.bytes().any(|c| c.is_ascii_whitespace()) {
        let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        ENGINE.decode(compact).is_ok()
    } else {
        ENGINE.decode(s).is_ok()
    }
}

/// Whether two values of `def` are equal for the immutability check: strings compared
/// case-insensitively unless `caseExact`.
fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !def.case_exact => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn is_assigned(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::String(_) | Value::Bool(_) | Value::Number(_)) => true,
    }
}

/// Immutable: may be set while unassigned, or to an unchanged value. For sub-attributes of
/// multi-valued attributes elements are replaced whole, so there is nothing to compare here
/// (the PATCH engine rejects in-place edits).
/// Whether [`check_immutable`] can refuse a value of `def`: `def` is immutable, or it is a
/// single complex attribute with an immutable sub-attribute (the same recursion, over the
/// schema's definitions only).
fn may_be_immutable(def: &AttributeDef) -> bool {
    def.mutability == Mutability::Immutable
        || (def.attr_type == AttrType::Complex
            && !def.multi_valued
            && def.sub_attributes.iter().any(may_be_immutable))
}

/// Whether [`validate_resource`] compares anything of a PATCH or PUT with the stored
/// resource for `schema`: only attributes that may be immutable are compared (for the core
/// User and Group schemas: none). When `false`, passing the stored resource as `existing`
/// in [`Mode::Patch`] changes nothing, so a caller need not keep a copy of it.
pub fn compares_with_existing(schema: &ResourceSchema<'_>) -> bool {
    common_attributes()
        .iter()
        .chain(&schema.core.attributes)
        .any(|def| def.mutability != Mutability::ReadOnly && may_be_immutable(def))
        || schema
            .extensions()
            .any(|(ext, _)| ext.attributes.iter().any(may_be_immutable))
}

fn check_immutable(
    def: &AttributeDef,
    old: Option<&Value>,
    new: Option<&Value>,
    path: PathRef<'_>,
) -> Result<(), Error> {
    if def.mutability == Mutability::Immutable && is_assigned(old) {
        let unchanged = match (old, new) {
            (Some(o), Some(n)) => same_value(def, o, n),
            _ => false,
        };
        if !unchanged {
            return Err(Error::mutability(format!(
                "attribute {} is immutable and already set: it cannot be changed",
                quote_input(&path.to_string())
            )));
        }
        return Ok(());
    }
    if def.attr_type == AttrType::Complex && !def.multi_valued {
        for sub in &def.sub_attributes {
            let o = old.and_then(|v| v.get(&sub.name));
            let n = new.and_then(|v| v.get(&sub.name));
            check_immutable(sub, o, n, &Joined(path, '.', &sub.name))?;
        }
    }
    Ok(())
}

fn required_error(mode: Mode, path: PathRef<'_>) -> Error {
    let scim_type = if mode == Mode::Patch {
        ScimType::Mutability
    } else {
        ScimType::InvalidValue
    };
    Error::new(
        scim_type,
        format!(
            "required attribute {} is missing",
            quote_input(&path.to_string())
        ),
    )
}

/// Whether [`check_required`] can refuse anything for `def`: it is required, or complex
/// with a required sub-attribute (the only ones it looks into). The others need no lookup.
fn may_be_required(def: &AttributeDef) -> bool {
    def.required
        || (def.attr_type == AttrType::Complex && def.sub_attributes.iter().any(|s| s.required))
}

/// The required attributes of `schema` (core, common and each extension's) in `resource`,
/// and a required extension's object itself.
fn check_all_required(
    schema: &ResourceSchema<'_>,
    resource: &Map<String, Value>,
    mode: Mode,
) -> Result<(), Error> {
    for def in common_attributes().iter().chain(&schema.core.attributes) {
        if may_be_required(def) {
            check_required(def, resource.get(&def.name), mode, &def.name)?;
        }
    }
    for (ext, required) in schema.extensions() {
        match resource.get(&ext.id) {
            None if required => {
                return Err(required_error(mode, &ext.id));
            }
            None => {}
            Some(obj) => {
                for def in &ext.attributes {
                    check_required(
                        def,
                        obj.get(&def.name),
                        mode,
                        &Joined(&ext.id, ':', &def.name),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Required attributes (and required sub-attributes of present complex values).
fn check_required(
    def: &AttributeDef,
    value: Option<&Value>,
    mode: Mode,
    path: PathRef<'_>,
) -> Result<(), Error> {
    if !is_assigned(value) {
        // readOnly attributes are the service's to set.
        if def.required && def.mutability != Mutability::ReadOnly {
            return Err(required_error(mode, path));
        }
        return Ok(());
    }
    if def.attr_type == AttrType::Complex
        && def.sub_attributes.iter().any(|s| s.required)
        && let Some(v) = value
    {
        let elements: &[Value] = match v {
            Value::Array(a) => a,
            other => std::slice::from_ref(other),
        };
        for el in elements {
            for sub in def.sub_attributes.iter().filter(|s| s.required) {
                check_required(sub, el.get(&sub.name), mode, &Joined(path, '.', &sub.name))?;
            }
        }
    }
    Ok(())
}

/// Checks a whole resource body for a create or replace (or the result of a PATCH) against
/// its resource type: schemas (non-empty array holding the core URN or the SCIM 1.0 core URN;
/// URNs naming no registered schema ignored; extension object present but not listed is
/// accepted and its URN added; objects keyed by unregistered URNs dropped), canonical
/// attribute-name case, types, required attributes, readOnly attributes ignored, immutable
/// attributes compared with `existing`, unknown attributes dropped (a setting keeps them),
/// two primary:true keeps the last. Returns the normalised resource object.
///
/// Details:
///
/// - The returned `schemas` is the core URN (2.0, even when the body used the SCIM 1.0 URN)
///   followed by the URN of every extension whose object holds a value; an extension listed
///   but without data is not kept.
/// - An extension attribute sent unqualified at the top level (`"department": "x"`, Entra)
///   moves into its extension object when the dialect is on and exactly one extension of
///   the resource type defines it; a top-level key that is a full attribute URN
///   (`urn:...:enterprise:2.0:User:employeeNumber`) is read as that attribute.
/// - [`Mode::Create`]: readOnly attributes and sub-attributes (`id`, `meta`, `groups`,
///   `members.display`) in the body are ignored; the service sets `id` and `meta`.
/// - [`Mode::Replace`]: as Create for the body, then merged over `existing` per attribute
///   (and per extension attribute): attributes the body omits keep their stored value,
///   `null` or `[]` clears them, a given value replaces the stored one whole. The stored
///   readOnly attributes (`id`, `meta`) stay. Immutable attributes are compared with
///   `existing`: one that is set may only be sent unchanged (strings compared
///   case-insensitively unless `caseExact`). For an immutable sub-attribute of a
///   multi-valued attribute (Group `members.value`) elements are added, removed or replaced
///   whole, so only the PATCH engine can see an in-place edit; here it is not compared.
/// - [`Mode::Patch`]: `body` is the resource after the PATCH engine applied the operations;
///   readOnly attributes (and sub-attributes) are kept, normalised like the others
///   (unassigned values dropped); a required attribute left unassigned is 400 `mutability`.
///
/// # Errors
///
/// 400 `invalidSyntax` when the body is not an object or `schemas` is missing, not a
/// non-empty array of strings, or lacks the core URN; 400 `invalidValue` for a value of the
/// wrong type or a missing required attribute; 400 `mutability` for a change to an
/// immutable attribute that is set.
///
/// # Example
///
/// ```
/// use scim_core::{Registry, validate::{Mode, ValidateOptions, validate_resource}};
/// use serde_json::json;
///
/// let registry = Registry::core();
/// let users = registry.resource_type("User").unwrap();
/// let body = json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "UserName": "bjensen",
///     "active": "True",
///     "id": "client-sent",
///     "meta": {"resourceType": "User"},
///     "roles": [],
/// });
/// let user = validate_resource(&users, body, Mode::Create, None, &ValidateOptions::default())?;
/// assert_eq!(serde_json::Value::Object(user), json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "userName": "bjensen",
///     "active": true,
/// }));
/// # Ok::<(), scim_core::Error>(())
/// ```
pub fn validate_resource(
    schema: &ResourceSchema<'_>,
    body: Value,
    mode: Mode,
    existing: Option<&Map<String, Value>>,
    options: &ValidateOptions,
) -> Result<Map<String, Value>, Error> {
    let Value::Object(body) = body else {
        return Err(Error::invalid_syntax(format!(
            "a {} resource must be a JSON object",
            schema.resource_type.name
        )));
    };
    let dialects = &options.dialects;
    let ctx = ValueContext {
        dialects: *dialects,
        drop_read_only: mode != Mode::Patch,
        keep_unknown: options.keep_unknown_attributes,
    };
    let schemas_key = body
        .keys()
        .find(|k| k.eq_ignore_ascii_case("schemas"))
        .cloned();
    check_schemas(
        schema,
        schemas_key.as_ref().and_then(|k| body.get(k)),
        mode,
        dialects,
    )?;

    let extensions: Vec<&Schema> = schema.extensions().map(|(s, _)| s).collect();
    let mut core_asserted = Map::new();
    let mut ext_asserted: Vec<Map<String, Value>> = vec![Map::new(); extensions.len()];
    let mut ext_cleared = vec![false; extensions.len()];
    // Bare extension names (`department`), applied after the extension objects so that an
    // explicit value inside the object wins.
    let mut bare: Vec<(usize, &AttributeDef, Value)> = Vec::new();
    let mut unknown = Map::new();

    let put = |target: &mut Map<String, Value>,
               def: &AttributeDef,
               value: Value,
               path: PathRef<'_>|
     -> Result<(), Error> {
        // Client-sent readOnly attributes are ignored; in a PATCH result they are the stored
        // ones the engine preserved, normalised like the rest.
        if def.mutability == Mutability::ReadOnly && mode != Mode::Patch {
            return Ok(());
        }
        let v = normalize_at(def, value, &ctx, path)?;
        target.insert(def.name.clone(), v);
        Ok(())
    };

    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if crate::schema::is_urn(&key) {
            if let Some(i) = extensions
                .iter()
                .position(|e| e.id.eq_ignore_ascii_case(&key))
            {
                let ext = extensions[i];
                match value {
                    Value::Null => {
                        ext_cleared[i] = true;
                        ext_asserted[i].clear();
                    }
                    Value::Object(obj) => {
                        for (k, v) in obj {
                            match ext.attribute(&k) {
                                Some(def) => {
                                    let path = Joined(&ext.id, ':', &def.name);
                                    put(&mut ext_asserted[i], def, v, &path)?;
                                }
                                None if options.keep_unknown_attributes => {
                                    ext_asserted[i].insert(k, v);
                                }
                                None => {}
                            }
                        }
                    }
                    other => {
                        return Err(Error::invalid_value(format!(
                            "extension {} must be an object, not {}",
                            quote_input(&ext.id),
                            describe(&other, false)
                        )));
                    }
                }
                continue;
            }
            // A full attribute URN as a key: `urn:...:User:employeeNumber`.
            if let Some((urn, name)) = key.rsplit_once(':')
                && let Ok(r) = schema.resolve_parts(Some(urn), name, None)
                && let Some(def) = r.attr
            {
                if r.is_extension {
                    if let Some(i) = extensions.iter().position(|e| std::ptr::eq(*e, r.schema)) {
                        bare.push((i, def, value));
                    }
                } else {
                    put(&mut core_asserted, def, value, &def.name)?;
                }
                continue;
            }
            if options.keep_unknown_attributes {
                unknown.insert(key, value);
            }
            continue;
        }
        // The common attribute, else the core one (through the schema's name table).
        if let Some(def) = schema.core_attribute(&key) {
            put(&mut core_asserted, def, value, &def.name)?;
            continue;
        }
        if dialects.unqualified_extension_names
            && let Ok(r) = schema.resolve_parts(None, &key, None)
            && r.is_extension
            && let Some(def) = r.attr
            && let Some(i) = extensions.iter().position(|e| std::ptr::eq(*e, r.schema))
        {
            bare.push((i, def, value));
            continue;
        }
        if options.keep_unknown_attributes {
            unknown.insert(key, value);
        }
    }
    for (i, def, value) in bare {
        if ext_asserted[i].contains_key(&def.name) {
            continue;
        }
        let path = Joined(&extensions[i].id, ':', &def.name);
        put(&mut ext_asserted[i], def, value, &path)?;
    }

    // Merge.
    let merge_existing = mode == Mode::Replace && existing.is_some();
    let mut out = Map::new();
    if merge_existing && let Some(ex) = existing {
        for (k, v) in ex {
            let is_urn_key =
                k == "schemas" || extensions.iter().any(|e| e.id.eq_ignore_ascii_case(k));
            if !is_urn_key && is_assigned(Some(v)) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, v) in core_asserted {
        if v.is_null() {
            out.remove(&k);
        } else {
            out.insert(k, v);
        }
    }
    // Unknown attributes (kept by the setting) follow the same rules: given replaces, null
    // clears. Their names never collide with a schema attribute's (those resolve).
    for (k, v) in unknown {
        if v.is_null() {
            out.remove(&k);
        } else {
            out.insert(k, v);
        }
    }
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for (i, ext) in extensions.iter().enumerate() {
        let mut obj = Map::new();
        if merge_existing
            && !ext_cleared[i]
            && let Some(Value::Object(stored)) = existing.and_then(|ex| get_ci(ex, &ext.id))
        {
            obj = stored.clone();
        }
        for (k, v) in std::mem::take(&mut ext_asserted[i]) {
            if v.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, v);
            }
        }
        if !obj.is_empty() {
            schemas.push(Value::String(ext.id.clone()));
            out.insert(ext.id.clone(), Value::Object(obj));
        }
    }
    out.insert("schemas".to_owned(), Value::Array(schemas));

    // Immutable attributes against the stored resource.
    if mode != Mode::Create
        && let Some(ex) = existing
    {
        // Only the attributes `check_immutable` can refuse: the others would cost a
        // lookup each in the stored resource (most are absent, a scan of its keys) for
        // nothing.
        for def in common_attributes().iter().chain(&schema.core.attributes) {
            if def.mutability != Mutability::ReadOnly && may_be_immutable(def) {
                check_immutable(def, get_ci(ex, &def.name), out.get(&def.name), &def.name)?;
            }
        }
        for ext in &extensions {
            if !ext.attributes.iter().any(may_be_immutable) {
                continue;
            }
            let old = get_ci(ex, &ext.id);
            let new = out.get(&ext.id);
            for def in &ext.attributes {
                check_immutable(
                    def,
                    old.and_then(|o| o.get(&def.name)),
                    new.and_then(|n| n.get(&def.name)),
                    &Joined(&ext.id, ':', &def.name),
                )?;
            }
        }
    }

    check_all_required(schema, &out, mode)?;
    Ok(out)
}

/// [`validate_resource`] in [`Mode::Patch`] with no `existing` resource, for a resource
/// that PATCH operations changed in at most the top-level attributes named in `touched`
/// (compared case-insensitively; [`PatchOp::top_level_names`](crate::patch::PatchOp::top_level_names)),
/// starting from a resource this validation accepted and normalised with the same schema
/// and options (what a store keeps), plus read-only members such as `id`.
///
/// Only the touched members are normalised again; the others are taken as they are,
/// since normalising them again would give them back unchanged. The result and the errors
/// are those of [`validate_resource`] for such a resource: the first error in member order
/// (an untouched member has none), the required attributes checked over the whole result,
/// `schemas` listing the extensions present. Whenever the resource does not have the shape
/// that argument needs (a member that is not a schema attribute in its canonical spelling,
/// an untouched member that is null, a touched extension or `schemas`, a touched name that
/// is no core or common attribute), or the schema has attributes that may be immutable
/// ([`compares_with_existing`]), it runs [`validate_resource`] itself.
///
/// # Errors
///
/// As [`validate_resource`].
pub fn validate_patched(
    schema: &ResourceSchema<'_>,
    resource: Map<String, Value>,
    touched: &[&str],
    options: &ValidateOptions,
) -> Result<Map<String, Value>, Error> {
    if compares_with_existing(schema) {
        return validate_resource(schema, Value::Object(resource), Mode::Patch, None, options);
    }
    validate_patched_unchecked(schema, resource, touched, options)
}

/// [`validate_patched`] once its caller knows that `compares_with_existing(schema)` is false.
pub(crate) fn validate_patched_unchecked(
    schema: &ResourceSchema<'_>,
    mut resource: Map<String, Value>,
    touched: &[&str],
    options: &ValidateOptions,
) -> Result<Map<String, Value>, Error> {
    let is_touched = |k: &str| touched.iter().any(|t| t.eq_ignore_ascii_case(k));
    // The common attribute, else the core one (the scan `validate_resource` makes, through
    // the schema's name table).
    let def_of = |k: &str| schema.core_attribute(k);
    let shaped = !touched
        .iter()
        .any(|t| t.eq_ignore_ascii_case("schemas") || is_urn(t) || def_of(t).is_none())
        && resource.iter().all(|(k, v)| {
            if k == "schemas" {
                return true;
            }
            if is_urn(k) {
                return !is_touched(k)
                    && schema.extensions().any(|(e, _)| e.id == *k)
                    && v.as_object().is_some_and(|o| !o.is_empty());
            }
            def_of(k).is_some_and(|d| d.name == *k) && (is_touched(k) || !v.is_null())
        });
    if !shaped {
        return validate_resource(schema, Value::Object(resource), Mode::Patch, None, options);
    }
    let ctx = ValueContext {
        dialects: options.dialects,
        drop_read_only: false,
        keep_unknown: options.keep_unknown_attributes,
    };
    // In member order, as `validate_resource` meets them.
    let names: Vec<String> = resource.keys().filter(|k| is_touched(k)).cloned().collect();
    for k in names {
        let Some(def) = def_of(&k) else { continue };
        let Some(value) = resource.remove(&k) else {
            continue;
        };
        let v = normalize_at(def, value, &ctx, &def.name)?;
        if !v.is_null() {
            resource.insert(k, v);
        }
    }
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for (ext, _) in schema.extensions() {
        if resource.contains_key(&ext.id) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    resource.insert("schemas".to_owned(), Value::Array(schemas));
    check_all_required(schema, &resource, Mode::Patch)?;
    Ok(resource)
}

fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn check_schemas(
    schema: &ResourceSchema<'_>,
    schemas: Option<&Value>,
    mode: Mode,
    dialects: &Dialects,
) -> Result<(), Error> {
    let core = &schema.core.id;
    let list = match schemas {
        None if mode == Mode::Patch => return Ok(()),
        None => {
            return Err(Error::invalid_syntax(format!(
                "the resource has no \"schemas\" attribute: it must list {}",
                quote_input(core)
            )));
        }
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(_) => {
            return Err(Error::invalid_syntax(
                "\"schemas\" must be a non-empty array of schema URNs",
            ));
        }
    };
    let mut has_core = false;
    for urn in list {
        let Some(urn) = urn.as_str() else {
            return Err(Error::invalid_syntax(
                "\"schemas\" must be a non-empty array of schema URNs",
            ));
        };
        if urn.eq_ignore_ascii_case(core)
            || (dialects.scim1_core_urn && urn.eq_ignore_ascii_case(SCIM1_CORE_SCHEMA))
        {
            has_core = true;
        }
    }
    if has_core {
        Ok(())
    } else {
        Err(Error::invalid_syntax(format!(
            "\"schemas\" must list the core schema {}",
            quote_input(core)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    fn users(reg: &Registry) -> ResourceSchema<'_> {
        reg.resource_type("User").expect("User")
    }

    fn attr<'r>(rs: &ResourceSchema<'r>, name: &str) -> &'r AttributeDef {
        rs.resolve_parts(None, name, None)
            .expect("resolves")
            .attr
            .expect("attribute")
    }

    #[test]
    fn booleans() {
        let reg = Registry::core();
        let u = users(&reg);
        let active = attr(&u, "active");
        let d = Dialects::default();
        assert_eq!(
            normalize_value(active, json!("False"), &d, "active"),
            Ok(json!(false))
        );
        assert_eq!(
            normalize_value(active, json!("TRUE"), &d, "active"),
            Ok(json!(true))
        );
        let e = normalize_value(active, json!("maybe"), &d, "active").expect_err("maybe");
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("\"active\""), "{}", e.detail);
        let strict = Dialects::strict();
        assert!(normalize_value(active, json!("true"), &strict, "active").is_err());
        assert!(normalize_value(active, json!(1), &d, "active").is_err());
    }

    #[test]
    fn strings_and_numbers() {
        let reg = Registry::core();
        let u = users(&reg);
        let d = Dialects::default();
        let e = normalize_value(attr(&u, "userName"), json!(5), &d, "userName").expect_err("5");
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("5"));
        let int = AttributeDef::new("n", AttrType::Integer);
        assert_eq!(normalize_value(&int, json!(5), &d, "n"), Ok(json!(5)));
        assert_eq!(normalize_value(&int, json!(5.0), &d, "n"), Ok(json!(5)));
        assert!(normalize_value(&int, json!(5.5), &d, "n").is_err());
        assert!(normalize_value(&int, json!(u64::MAX), &d, "n").is_err());
        assert!(normalize_value(&int, json!(1e300), &d, "n").is_err());
        let dec = AttributeDef::new("x", AttrType::Decimal);
        assert_eq!(normalize_value(&dec, json!(1.5), &d, "x"), Ok(json!(1.5)));
        assert!(normalize_value(&dec, json!("1.5"), &d, "x").is_err());
    }

    #[test]
    fn secrets_are_not_quoted() {
        let reg = Registry::core();
        let u = users(&reg);
        let e = normalize_value(
            attr(&u, "password"),
            json!(123456),
            &Dialects::default(),
            "password",
        )
        .expect_err("number");
        assert!(!e.detail.contains("123456"), "{}", e.detail);
    }

    #[test]
    fn date_times_and_binary() {
        for ok in [
            "2008-01-23T04:56:22Z",
            "2011-08-01T21:32:44.882Z",
            "2019-09-18T18:15:26.5788954+00:00",
            "2018-02-13T15:05:24.000-08:00",
            "2008-01-23T04:56:22",
        ] {
            assert!(is_xsd_date_time(ok), "{ok}");
        }
        for bad in [
            "2008-01-23",
            "yesterday",
            "2008-01-23 04:56:22Z",
            "2008-13-23T04:56:22Z",
            "",
        ] {
            assert!(!is_xsd_date_time(bad), "{bad}");
        }
        assert!(is_base64("TWFu"));
        assert!(is_base64("TWE"));
        assert!(is_base64("TW\nFu"));
        assert!(!is_base64("not base64!"));
    }

    #[test]
    fn multi_valued_shapes() {
        let reg = Registry::core();
        let u = users(&reg);
        let emails = attr(&u, "emails");
        let d = Dialects::default();
        let e = normalize_value(emails, json!("x"), &d, "emails").expect_err("string");
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(
            normalize_value(emails, json!({"value": "a@b"}), &d, "emails"),
            Ok(json!([{"value": "a@b"}]))
        );
        assert!(
            normalize_value(
                emails,
                json!({"value": "a@b"}),
                &Dialects::strict(),
                "emails"
            )
            .is_err()
        );
        assert_eq!(
            normalize_value(emails, json!([]), &d, "emails"),
            Ok(Value::Null)
        );
        assert_eq!(
            normalize_value(emails, json!([{}, null]), &d, "emails"),
            Ok(Value::Null)
        );
        assert_eq!(
            normalize_value(
                emails,
                json!([{"VALUE": "a", "primary": "true", "bogus": 1}, {"value": "b", "Primary": true}]),
                &d,
                "emails"
            ),
            Ok(json!([{"value": "a", "primary": false}, {"value": "b", "primary": true}]))
        );
        assert!(normalize_value(emails, json!([[{"value": "a"}]]), &d, "emails").is_err());
    }

    #[test]
    fn manager_and_roles() {
        let reg = Registry::core();
        let u = users(&reg);
        let manager = attr(&u, "manager");
        let d = Dialects::default();
        assert_eq!(
            normalize_value(manager, json!("m1"), &d, "manager"),
            Ok(json!({"value": "m1"}))
        );
        assert_eq!(
            normalize_value(manager, json!(""), &d, "manager"),
            Ok(Value::Null)
        );
        assert_eq!(
            normalize_value(
                manager,
                json!([{"value": "m1", "$ref": "../Users/m1"}]),
                &d,
                "manager"
            ),
            Ok(json!({"value": "m1", "$ref": "../Users/m1"}))
        );
        assert!(normalize_value(manager, json!("m1"), &Dialects::strict(), "manager").is_err());
        assert!(
            normalize_value(
                manager,
                json!([{"value": "a"}, {"value": "b"}]),
                &d,
                "manager"
            )
            .is_err()
        );
        // readOnly sub-attributes are kept unless the context drops them.
        let with_display = json!({"value": "m1", "displayName": "Boss"});
        assert_eq!(
            normalize_value(manager, with_display.clone(), &d, "manager"),
            Ok(with_display.clone())
        );
        let ctx = ValueContext::new(d).drop_read_only(true);
        assert_eq!(
            normalize_value_with(manager, with_display, &ctx, "manager"),
            Ok(json!({"value": "m1"}))
        );
        let roles = attr(&u, "roles");
        let role = r#"{"id":"06b0","value":"25","displayName":"Role1234"}"#;
        assert_eq!(
            normalize_value(roles, json!([{"value": role}]), &d, "roles"),
            Ok(json!([{"value": "25", "display": "Role1234"}]))
        );
        assert_eq!(
            normalize_value(
                roles,
                json!(r#"[{"value":"Admin","primary":"True"}]"#),
                &d,
                "roles"
            ),
            Ok(json!([{"value": "Admin", "primary": true}]))
        );
        assert_eq!(
            normalize_value(
                roles,
                json!([{"value": role}]),
                &Dialects::strict(),
                "roles"
            ),
            Ok(json!([{"value": role}]))
        );
    }

    #[test]
    fn primary_keeps_last() {
        let mut items = vec![
            json!({"value": "a", "primary": true}),
            json!({"value": "b"}),
            json!({"value": "c", "primary": true}),
        ];
        keep_last_primary(&mut items);
        assert_eq!(items[0]["primary"], json!(false));
        assert_eq!(items[2]["primary"], json!(true));
        assert!(items[1].get("primary").is_none());
    }

    fn create(reg: &Registry, body: Value) -> Result<Map<String, Value>, Error> {
        validate_resource(
            &users(reg),
            body,
            Mode::Create,
            None,
            &ValidateOptions::default(),
        )
    }

    #[test]
    fn non_ascii_keys_and_schemas_case() {
        let reg = Registry::core();
        let out = create(
            &reg,
            json!({"Schemas": [crate::schema::USER_SCHEMA], "userName": "a", "ab€": 1, "€": 2, "urn€": 3,
                   "name": {"gï": "x", "givenName": "é"}}),
        )
        .expect("valid");
        assert_eq!(
            Value::Object(out),
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "name": {"givenName": "é"}})
        );
    }

    #[test]
    fn resource_schemas_rules() {
        let reg = Registry::core();
        let e = create(&reg, json!({"userName": "a"})).expect_err("no schemas");
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        for bad in [
            json!([]),
            json!("urn:ietf:params:scim:schemas:core:2.0:User"),
            json!([5]),
        ] {
            let e =
                create(&reg, json!({"schemas": bad, "userName": "a"})).expect_err("bad schemas");
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        }
        let e = create(
            &reg,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "a"}),
        )
        .expect_err("wrong core");
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        // SCIM 1.0 core URN, unregistered URNs ignored, extension object not listed is added.
        let out = create(
            &reg,
            json!({
                "schemas": ["urn:scim:schemas:core:1.0", "urn:example:unknown"],
                "userName": "a",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"},
                "urn:example:unknown": {"x": 1},
            }),
        )
        .expect("valid");
        assert_eq!(
            Value::Object(out),
            json!({
                "schemas": [crate::schema::USER_SCHEMA, crate::schema::ENTERPRISE_USER_SCHEMA],
                "userName": "a",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"},
            })
        );
        let strict = ValidateOptions::default().dialects(Dialects::strict());
        let e = validate_resource(
            &users(&reg),
            json!({"schemas": ["urn:scim:schemas:core:1.0"], "userName": "a"}),
            Mode::Create,
            None,
            &strict,
        )
        .expect_err("strict");
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn resource_names_read_only_unknown_and_required() {
        let reg = Registry::core();
        let out = create(
            &reg,
            json!({
                "schemas": [crate::schema::USER_SCHEMA],
                "UserName": "a",
                "NAME": {"GivenName": "B", "bogus": 1},
                "id": "x", "meta": {"resourceType": "User"}, "groups": [{"value": "g"}],
                "Addresses": [{"country": null, "type": "work", "formatted": "here"}],
                "adreses": [{"country": "DE"}],
                "department": "Sales",
            }),
        )
        .expect("valid");
        assert_eq!(
            Value::Object(out),
            json!({
                "schemas": [crate::schema::USER_SCHEMA, crate::schema::ENTERPRISE_USER_SCHEMA],
                "userName": "a",
                "name": {"givenName": "B"},
                "addresses": [{"type": "work", "formatted": "here"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
            })
        );
        let keep = ValidateOptions::default().keep_unknown_attributes(true);
        let out = validate_resource(
            &users(&reg),
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "adreses": 1}),
            Mode::Create,
            None,
            &keep,
        )
        .expect("valid");
        assert_eq!(out.get("adreses"), Some(&json!(1)));
        let e = create(
            &reg,
            json!({"schemas": [crate::schema::USER_SCHEMA], "displayName": "x"}),
        )
        .expect_err("required");
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("userName"));
        let e = create(
            &reg,
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": null}),
        )
        .expect_err("required null");
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn dialect_switches_and_unknown_in_replace() {
        let reg = Registry::core();
        let u = users(&reg);
        let mut strict = Dialects::strict();
        strict.scim1_core_urn = true;
        let opts = ValidateOptions::default().dialects(strict);
        let out = validate_resource(
            &u,
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "department": "D"}),
            Mode::Create,
            None,
            &opts,
        )
        .expect("valid");
        assert!(out.get(crate::schema::ENTERPRISE_USER_SCHEMA).is_none());
        assert!(out.get("department").is_none());
        let keep = ValidateOptions::default().keep_unknown_attributes(true);
        let stored =
            obj(json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "x": 1, "y": 2}));
        let out = validate_resource(
            &u,
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "x": 3, "y": null}),
            Mode::Replace,
            Some(&stored),
            &keep,
        )
        .expect("valid");
        assert_eq!(out.get("x"), Some(&json!(3)));
        assert!(out.get("y").is_none());
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn replace_merges_and_clears() {
        let reg = Registry::core();
        let stored = create(
            &reg,
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "displayName": "A",
                   "title": "T", "emails": [{"value": "a@x"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "division": "V"}}),
        )
        .expect("stored");
        let mut stored = stored;
        stored.insert("id".into(), json!("42"));
        let out = validate_resource(
            &users(&reg),
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a", "displayName": null,
                   "emails": [], "id": "other",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": null}}),
            Mode::Replace,
            Some(&stored),
            &ValidateOptions::default(),
        )
        .expect("replace");
        assert_eq!(
            Value::Object(out),
            json!({"schemas": [crate::schema::USER_SCHEMA, crate::schema::ENTERPRISE_USER_SCHEMA],
                   "id": "42", "userName": "a", "title": "T",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
        );
    }

    /// Every attribute of the core registry: the common ones, then User's and Group's core
    /// and extension attributes.
    fn core_attribute_defs() -> Vec<AttributeDef> {
        let reg = Registry::core();
        let mut defs: Vec<AttributeDef> = common_attributes().to_vec();
        for rt in ["User", "Group"] {
            let rs = reg.resource_type(rt).expect("type");
            defs.extend(rs.core.attributes.iter().cloned());
            for (ext, _) in rs.extensions() {
                defs.extend(ext.attributes.iter().cloned());
            }
        }
        defs
    }

    /// `check_required` refuses nothing for an attribute `may_be_required` rules out,
    /// whatever the value (absent, null, empty, elements missing every sub-attribute).
    #[test]
    fn may_be_required_rules_out_only_what_check_required_accepts() {
        let mut defs = core_attribute_defs();
        defs.push(AttributeDef::new("must", AttrType::String).required());
        defs.push(
            AttributeDef::new("card", AttrType::Complex)
                .multi_valued()
                .sub_attributes(vec![
                    AttributeDef::new("serial", AttrType::String).required(),
                ]),
        );
        let values = [
            None,
            Some(Value::Null),
            Some(Value::from("")),
            Some(serde_json::json!([])),
            Some(serde_json::json!([{}])),
            Some(serde_json::json!({})),
        ];
        let mut refused = 0;
        for def in &defs {
            for v in &values {
                let r = check_required(def, v.as_ref(), Mode::Create, &def.name);
                if r.is_err() {
                    refused += 1;
                    assert!(may_be_required(def), "{} refused {v:?}", def.name);
                }
            }
        }
        assert!(refused > 0, "the table reaches a refusal");
    }

    /// `check_immutable` refuses nothing for an attribute `may_be_immutable` rules out
    /// (whatever the old and new values), and `may_be_immutable` admits the ones it refuses.
    #[test]
    fn may_be_immutable_rules_out_only_what_check_immutable_accepts() {
        let mut defs = core_attribute_defs();
        let immutable = |name: &str| {
            AttributeDef::new(name, AttrType::String).mutability(Mutability::Immutable)
        };
        let complex = |multi: bool, subs: Vec<AttributeDef>| {
            let d = AttributeDef::new("card", AttrType::Complex).sub_attributes(subs);
            if multi { d.multi_valued() } else { d }
        };
        let with_immutable_sub = vec![
            immutable("serial"),
            AttributeDef::new("label", AttrType::String),
        ];
        let plain_subs = vec![AttributeDef::new("label", AttrType::String)];
        defs.push(immutable("badge"));
        defs.push(complex(false, with_immutable_sub.clone()));
        defs.push(complex(true, with_immutable_sub));
        defs.push(complex(false, plain_subs));
        let mut admitted = 0;
        for def in &defs {
            // Every sub-attribute (and the attribute itself) set, to one value or another.
            let value = |v: &str| {
                if def.sub_attributes.is_empty() {
                    json!(v)
                } else {
                    let m: Map<String, Value> = def
                        .sub_attributes
                        .iter()
                        .map(|s| (s.name.clone(), json!(v)))
                        .collect();
                    if def.multi_valued {
                        json!([m])
                    } else {
                        Value::Object(m)
                    }
                }
            };
            let (old, new) = (value("one"), value("two"));
            let refused = check_immutable(def, Some(&old), Some(&new), &def.name).is_err()
                || check_immutable(def, Some(&old), None, &def.name).is_err();
            if may_be_immutable(def) {
                admitted += 1;
                assert!(refused, "{} admitted but never refused", def.name);
            } else {
                assert!(!refused, "{} ruled out but refused", def.name);
            }
        }
        assert!(admitted >= 2, "{admitted}");
    }

    #[test]
    fn immutables() {
        let mut reg = Registry::core();
        let mut s = crate::core_schemas::enterprise_user_schema();
        s.id = "urn:example:ext:2.0:User".into();
        s.attributes =
            vec![AttributeDef::new("badge", AttrType::String).mutability(Mutability::Immutable)];
        reg.add_schema(s).expect("schema");
        reg.add_extension("User", "urn:example:ext:2.0:User", false)
            .expect("ext");
        let u = users(&reg);
        let opts = ValidateOptions::default();
        let body = |badge: Value| {
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a",
                   "urn:example:ext:2.0:User": {"badge": badge}})
        };
        let unset = validate_resource(
            &u,
            json!({"schemas": [crate::schema::USER_SCHEMA], "userName": "a"}),
            Mode::Create,
            None,
            &opts,
        )
        .expect("unset");
        // Set while unassigned: fine.
        let set = validate_resource(&u, body(json!("B1")), Mode::Replace, Some(&unset), &opts)
            .expect("set");
        // Unchanged (case-insensitive, not caseExact): fine.
        validate_resource(&u, body(json!("b1")), Mode::Replace, Some(&set), &opts).expect("same");
        let e = validate_resource(&u, body(json!("B2")), Mode::Replace, Some(&set), &opts)
            .expect_err("changed");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = validate_resource(&u, body(Value::Null), Mode::Replace, Some(&set), &opts)
            .expect_err("cleared");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = validate_resource(&u, json!({"userName": "a"}), Mode::Patch, Some(&set), &opts)
            .expect_err("patched away");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn patch_mode_keeps_read_only_and_reports_required_as_mutability() {
        let reg = Registry::core();
        let u = users(&reg);
        let opts = ValidateOptions::default();
        let result = json!({"schemas": [crate::schema::USER_SCHEMA], "id": "1", "userName": "a",
                            "meta": {"resourceType": "User", "version": "W/\"1\""}});
        let out = validate_resource(&u, result.clone(), Mode::Patch, None, &opts).expect("ok");
        assert_eq!(Value::Object(out), result);
        let e = validate_resource(
            &u,
            json!({"schemas": [crate::schema::USER_SCHEMA], "id": "1"}),
            Mode::Patch,
            None,
            &opts,
        )
        .expect_err("required");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }
}
