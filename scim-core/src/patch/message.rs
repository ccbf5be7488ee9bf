//! The PatchOp message (RFC 7644 §3.5.2): `schemas` and `Operations`, each operation an
//! `op`, an optional `path` and an optional `value`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, quote_input};

pub use crate::message::PATCH_OP_SCHEMA;

/// A PATCH request body: `{"schemas": [PATCH_OP_SCHEMA], "Operations": [...]}`.
///
/// Reading is tolerant: a missing `schemas` is accepted (the method and path say what the
/// body is; [`PatchOp::check_schemas`] tells whether a `schemas` that is present names the
/// PatchOp message), `operations` is read as well as `Operations`, and `op` is read in any
/// case (whether that is accepted is decided when the patch is applied, by
/// [`Dialects::op_any_case`](crate::Dialects::op_any_case)).
///
/// ```
/// use scim_core::patch::{PatchOp, PatchOpKind};
///
/// let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
/// let patch: PatchOp = serde_json::from_str(body)?;
/// assert_eq!(patch.operations[0].op, PatchOpKind::Replace);
/// assert!(!patch.operations[0].op_is_lower_case());
/// assert!(patch.check_schemas().is_ok());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    /// The message URNs; [`PATCH_OP_SCHEMA`] when written by [`PatchOp::new`].
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations", alias = "operations", default)]
    pub operations: Vec<PatchOperation>,
}

impl PatchOp {
    /// The top-level attributes the operations may change, as spelled in the request (the
    /// first name of each path, or each member of a path-less operation's value); `None`
    /// when that cannot be told without schema knowledge: a path or member that is a URN
    /// (an extension, or a fully qualified name), a path-less operation whose value is not
    /// an object, or a name that is not a plain attribute name. Compare them with the
    /// resource's member names case-insensitively.
    pub fn top_level_names(&self) -> Option<Vec<&str>> {
        fn name(path: &str) -> Option<&str> {
            let end = path.find(['.', '[']).unwrap_or(path.len());
            let name = path.get(..end)?.trim();
            let plain = !name.is_empty()
                && !crate::schema::is_urn(name)
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'));
            plain.then_some(name)
        }
        let mut names = Vec::new();
        for op in &self.operations {
            match (&op.path, &op.value) {
                (Some(path), _) => names.push(name(path)?),
                (None, Some(Value::Object(members))) => {
                    for key in members.keys() {
                        names.push(name(key)?);
                    }
                }
                (None, _) => return None,
            }
        }
        Some(names)
    }

    /// A PatchOp with `schemas` set to [`PATCH_OP_SCHEMA`].
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Checks `schemas`: absent or empty is accepted (identity providers omit it); present,
    /// it must list [`PATCH_OP_SCHEMA`].
    ///
    /// # Errors
    ///
    /// 400 `invalidSyntax` when `schemas` names other messages only.
    pub fn check_schemas(&self) -> Result<(), Error> {
        if self.schemas.is_empty()
            || self
                .schemas
                .iter()
                .any(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        {
            return Ok(());
        }
        let listed = self
            .schemas
            .first()
            .map_or(String::new(), |s| quote_input(s));
        Err(Error::invalid_syntax(format!(
            "a PATCH body must be a PatchOp message listing \"{PATCH_OP_SCHEMA}\" in \"schemas\", not {listed}"
        )))
    }
}

/// The kind of a PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
}

impl PatchOpKind {
    /// The RFC's spelling: `add`, `remove`, `replace`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `op` that is none of `add`, `remove`, `replace` (in any case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown PATCH op {op}: expected \"add\", \"remove\" or \"replace\"")]
pub struct UnknownOp {
    /// The op as sent, quoted and shortened.
    op: String,
}

impl FromStr for PatchOpKind {
    type Err = UnknownOp;

    /// Reads an op name in any case (`Replace` is [`PatchOpKind::Replace`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownOp { op: quote_input(s) })
    }
}

impl Serialize for PatchOpKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PatchOpKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One PATCH operation.
///
/// `value` distinguishes a missing `value` (`None`) from `"value": null`
/// (`Some(Value::Null)`): an add or replace with null makes the target unassigned.
///
/// `Debug` shows the kind of the value, never the value: it may be a password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOperation")]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target: an attribute path, a value path, or an extension URN; `None` for the
    /// resource itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; `None` when the operation carried none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Whether `op` was sent in the RFC's lower case (always true when built in code).
    #[serde(skip)]
    op_lower_case: bool,
}

impl PatchOperation {
    /// An operation as the RFC spells it.
    pub fn new(op: PatchOpKind, path: Option<String>, value: Option<Value>) -> Self {
        PatchOperation {
            op,
            path,
            value,
            op_lower_case: true,
        }
    }

    /// `{"op": "add", "path": path, "value": value}`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        PatchOperation::new(PatchOpKind::Add, Some(path.into()), Some(value))
    }

    /// `{"op": "replace", "path": path, "value": value}`.
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        PatchOperation::new(PatchOpKind::Replace, Some(path.into()), Some(value))
    }

    /// `{"op": "remove", "path": path}`.
    pub fn remove(path: impl Into<String>) -> Self {
        PatchOperation::new(PatchOpKind::Remove, Some(path.into()), None)
    }

    /// Whether `op` was sent in lower case, as RFC 7644 writes it (`Replace` was not).
    pub fn op_is_lower_case(&self) -> bool {
        self.op_lower_case
    }
}

impl fmt::Debug for PatchOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value.as_ref().map(|v| match v {
            Value::Null => "null",
            Value::Bool(_) => "<boolean>",
            Value::Number(_) => "<number>",
            Value::String(_) => "<string>",
            Value::Array(_) => "<array>",
            Value::Object(_) => "<object>",
        });
        f.debug_struct("PatchOperation")
            .field("op", &self.op)
            .field("path", &self.path)
            .field("value", &format_args!("{value:?}"))
            .finish()
    }
}

#[derive(Deserialize)]
struct RawOperation {
    op: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
}

/// A `value` key that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl TryFrom<RawOperation> for PatchOperation {
    type Error = UnknownOp;

    fn try_from(raw: RawOperation) -> Result<Self, Self::Error> {
        let op: PatchOpKind = raw.op.parse()?;
        Ok(PatchOperation {
            op,
            path: raw.path,
            value: raw.value,
            op_lower_case: raw.op == op.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_any_op_case_and_remembers_it() {
        let op: PatchOperation =
            serde_json::from_value(json!({"op": "Remove", "path": "members"})).expect("op");
        assert_eq!(op.op, PatchOpKind::Remove);
        assert!(!op.op_is_lower_case());
        assert_eq!(op.value, None);
        let op: PatchOperation =
            serde_json::from_value(json!({"op": "add", "path": "x", "value": null})).expect("op");
        assert!(op.op_is_lower_case());
        assert_eq!(op.value, Some(Value::Null));
        let err = serde_json::from_value::<PatchOperation>(json!({"op": "move", "path": "x"}))
            .expect_err("move");
        assert!(err.to_string().contains("\"move\""), "{err}");
        assert!(serde_json::from_value::<PatchOperation>(json!({"path": "x"})).is_err());
    }

    #[test]
    fn debug_never_shows_values() {
        let op = PatchOperation::replace("password", json!("hunter2"));
        let shown = format!("{:?}", PatchOp::new(vec![op]));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("password") && shown.contains("<string>"),
            "{shown}"
        );
        let op = PatchOperation::new(PatchOpKind::Add, None, Some(json!({"password": "x2"})));
        assert!(!format!("{op:?}").contains("x2"));
    }

    #[test]
    fn message_round_trip_and_schemas() {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [
                {"op": "replace", "path": "active", "value": false},
                {"op": "remove", "path": "members[value eq \"x\"]"}
            ]
        });
        let p: PatchOp = serde_json::from_value(body.clone()).expect("patch");
        assert_eq!(serde_json::to_value(&p).expect("json"), body);
        assert!(p.check_schemas().is_ok());
        let no_schemas: PatchOp =
            serde_json::from_value(json!({"operations": [{"op": "ADD", "value": {}}]}))
                .expect("patch");
        assert!(no_schemas.check_schemas().is_ok());
        assert_eq!(no_schemas.operations.len(), 1);
        let wrong = PatchOp {
            schemas: vec!["urn:ietf:params:scim:api:messages:2.0:SearchRequest".into()],
            operations: vec![],
        };
        let e = wrong.check_schemas().expect_err("wrong message");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidSyntax));
        assert_eq!(
            PatchOp::new(vec![PatchOperation::remove("x")]).schemas,
            vec![PATCH_OP_SCHEMA.to_owned()]
        );
    }
}
