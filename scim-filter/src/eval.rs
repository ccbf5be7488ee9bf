//! Evaluation of a filter against a JSON resource.
//!
//! STUB: the evaluator issue fills this in; the public signatures are fixed.

use serde_json::Value;

use crate::ast::{CompareOp, Filter};

/// The SCIM data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `decimal`.
    Decimal,
    /// `integer`.
    Integer,
    /// `dateTime` (xsd:dateTime).
    DateTime,
    /// `binary` (base64).
    Binary,
    /// `reference` (a URI).
    Reference,
    /// `complex`.
    Complex,
}

/// What the evaluator needs to know about one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Characteristics {
    /// The attribute's type.
    pub attr_type: AttrType,
    /// Whether the attribute is multi-valued.
    pub multi_valued: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
}

/// Attribute characteristics for evaluation: implemented by a schema registry.
///
/// `urn` is the URN prefix as written (or `None`), `name` the attribute and `sub_attr` the
/// sub-attribute (for the conditions inside a value path, the value path's attribute is
/// `name` and the condition's attribute is `sub_attr`). Names are matched
/// case-insensitively. `None` means the attribute is not known.
pub trait AttrSchema {
    /// The characteristics of `urn:name.sub_attr`, if the attribute is known.
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics>;
}

/// Why a filter could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The operator is not defined for the attribute's type (e.g. `gt` on a boolean).
    #[error("operator `{}` is not supported for attribute `{attr}`", op.as_str())]
    UnsupportedOperator {
        /// The attribute path as written.
        attr: String,
        /// The operator.
        op: CompareOp,
    },
}

impl Filter<'_> {
    /// Whether `resource` matches the filter, inferring types from the JSON and treating
    /// every string as case-insensitive (`caseExact` false).
    pub fn matches(&self, resource: &Value) -> Result<bool, EvalError> {
        let _ = resource;
        Ok(false)
    }

    /// Whether `resource` matches the filter, with attribute characteristics from `schema`.
    pub fn matches_with<S: AttrSchema + ?Sized>(
        &self,
        resource: &Value,
        schema: &S,
    ) -> Result<bool, EvalError> {
        let _ = (resource, schema);
        Ok(false)
    }

    /// Checks every comparison's operator against the attribute's type once, before
    /// evaluating, so that the outcome never depends on the stored data.
    pub fn check<S: AttrSchema + ?Sized>(&self, schema: &S) -> Result<(), EvalError> {
        let _ = schema;
        Ok(())
    }
}
