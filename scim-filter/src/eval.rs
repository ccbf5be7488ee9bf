//! Evaluation of a filter against a JSON resource (RFC 7644 §3.4.2.2, RFC 7643 §2).
//!
//! [`Filter::matches`] evaluates without a schema, inferring each attribute's type from the
//! JSON; [`Filter::matches_with`] takes attribute characteristics from an [`AttrSchema`]
//! (type, `caseExact`), and [`Filter::check`] validates a filter against that schema once,
//! before any resource is seen.
//!
#![doc = include_str!("eval/semantics.md")]

use serde_json::Value;

use crate::ast::{AttrPath, CompareOp, Comparison, Filter, FilterRef, Node, Slot, SlotKind};

mod batch;
mod compare;
pub(crate) mod datetime;
mod lookup;
mod text;

pub use text::fold;

#[cfg(test)]
mod tests;

use compare::{Plan, TextTest};

/// Internal results box their error: a small `Result` travels in registers through the
/// recursion.
type Fallible<T> = Result<T, Box<EvalError>>;

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
///
/// For a complex attribute compared without a sub-attribute (`manager eq "x"`), the
/// evaluator also asks for its `value` sub-attribute.
pub trait AttrSchema {
    /// The characteristics of `urn:name.sub_attr`, if the attribute is known.
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics>;
}

/// Why a filter could not be evaluated. A service reports each as 400 `invalidFilter`.
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
    /// The literal does not fit the operator or the attribute's type (e.g. `gt null`, or a
    /// number compared with a string attribute).
    #[error("invalid value for operator `{}` on attribute `{attr}`: {reason}", op.as_str())]
    InvalidValue {
        /// The attribute path as written.
        attr: String,
        /// The operator.
        op: CompareOp,
        /// What the value should have been.
        reason: &'static str,
    },
    /// The schema does not know the attribute.
    #[error("unknown attribute `{attr}` in filter")]
    UnknownAttribute {
        /// The attribute path as written.
        attr: String,
    },
}

impl Filter<'_> {
    /// Whether `resource` matches the filter, inferring types from the JSON and treating
    /// every string as case-insensitive (`caseExact` false).
    ///
    /// Evaluation follows these rules:
    ///
    #[doc = include_str!("eval/semantics.md")]
    pub fn matches(&self, resource: &Value) -> Result<bool, EvalError> {
        Eval::<NoSchema> { schema: None }
            .filter(self.as_ref(), Scope::Resource(resource))
            .map_err(|e| *e)
    }

    /// Whether `resource` matches the filter, with attribute characteristics from `schema`.
    ///
    /// Call [`Filter::check`] first: then no error can come from evaluation.
    pub fn matches_with<S: AttrSchema + ?Sized>(
        &self,
        resource: &Value,
        schema: &S,
    ) -> Result<bool, EvalError> {
        Eval {
            schema: Some(schema),
        }
        .filter(self.as_ref(), Scope::Resource(resource))
        .map_err(|e| *e)
    }

    /// Checks every comparison's operator against the attribute's type once, before
    /// evaluating, so that the outcome never depends on the stored data.
    ///
    /// Reports the first error in the filter's written order.
    pub fn check<S: AttrSchema + ?Sized>(&self, schema: &S) -> Result<(), EvalError> {
        check(self.as_ref(), None, schema).map_err(|e| *e)
    }
}

/// The schema of [`Filter::matches`]: none.
enum NoSchema {}

impl AttrSchema for NoSchema {
    fn characteristics(
        &self,
        _: Option<&str>,
        _: &str,
        _: Option<&str>,
    ) -> Option<Characteristics> {
        match *self {}
    }
}

/// Where attribute names are resolved.
#[derive(Clone, Copy)]
enum Scope<'v, 'f> {
    /// At the top level of a resource.
    Resource(&'v Value),
    /// In one element of the value path attribute `parent`.
    Element {
        parent: &'f AttrPath<'f>,
        element: &'v Value,
    },
}

impl<'f> Scope<'_, 'f> {
    fn parent(&self) -> Option<&'f AttrPath<'f>> {
        match *self {
            Scope::Resource(_) => None,
            Scope::Element { parent, .. } => Some(parent),
        }
    }
}

struct Eval<'s, S: ?Sized> {
    schema: Option<&'s S>,
}

impl<S: AttrSchema + ?Sized> Eval<'_, S> {
    /// Evaluates `f`: the logic and the common string comparison here, the rest out of
    /// line, so that the recursion through `and` / `or` / `not` stays a small function.
    fn filter<'f>(&self, f: FilterRef<'f, 'f>, scope: Scope<'_, 'f>) -> Fallible<bool> {
        let (slots, at) = f.parts();
        self.slot(slots, at, scope)
    }

    /// Evaluates the subtree at `at` of a filter's buffer, walking the slots directly (the
    /// [`Node`] view costs a little more on this hot path).
    fn slot<'f>(&self, slots: &'f [Slot<'f>], at: usize, scope: Scope<'_, 'f>) -> Fallible<bool> {
        let Some(slot) = slots.get(at) else {
            return Ok(false);
        };
        match &slot.kind {
            SlotKind::Compare(cmp) => {
                if self.schema.is_none()
                    && let Some(test) = TextTest::of(cmp)
                {
                    return Ok(text_test(test, scope, &cmp.attr));
                }
                self.compare(cmp, scope)
            }
            SlotKind::And { first, len } => {
                let mut i = at.wrapping_sub(*first as usize);
                for _ in 0..*len {
                    if !self.slot(slots, i, scope)? {
                        return Ok(false);
                    }
                    i += slots.get(i).map_or(0, |s| s.next as usize);
                }
                Ok(true)
            }
            SlotKind::Or { first, len } => {
                let mut i = at.wrapping_sub(*first as usize);
                for _ in 0..*len {
                    if self.slot(slots, i, scope)? {
                        return Ok(true);
                    }
                    i += slots.get(i).map_or(0, |s| s.next as usize);
                }
                Ok(false)
            }
            SlotKind::Not => Ok(!self.slot(slots, at.wrapping_sub(1), scope)?),
            SlotKind::Present(path) => self.present(path, scope),
            SlotKind::ValuePath(attr) => {
                self.value_path(attr, FilterRef::new(slots, at.wrapping_sub(1)), scope)
            }
        }
    }

    #[inline(never)]
    fn compare<'f>(&self, cmp: &'f Comparison<'f>, scope: Scope<'_, 'f>) -> Fallible<bool> {
        let attr = || render(scope.parent(), &cmp.attr);
        // Without a schema any object compares through its `value`; with one, only
        // a complex attribute does.
        let (plan, through_value) = match self.schema {
            None => (compare::plan(cmp, None, &attr)?, true),
            Some(schema) => {
                let (chars, complex) = comparison_chars(schema, scope.parent(), &cmp.attr)?;
                (compare::plan(cmp, Some(chars), &attr)?, complex)
            }
        };
        let Some(value) = resolve(scope, &cmp.attr) else {
            return Ok(match plan {
                Plan::Assigned { assigned } => !assigned,
                Plan::Test { negate, .. } => negate,
            });
        };
        let sub = cmp.attr.sub_attr();
        match plan {
            Plan::Assigned { assigned } => {
                let has =
                    lookup::any_value::<Box<EvalError>>(value, sub, |v| Ok(lookup::has_value(v)))?;
                Ok(has == assigned)
            }
            Plan::Test { test, negate } => {
                let hit = lookup::any_value(value, sub, |v| {
                    let v = if through_value {
                        lookup::comparable(v)
                    } else {
                        v
                    };
                    test.value(v, &attr)
                })?;
                Ok(hit != negate)
            }
        }
    }

    #[inline(never)]
    fn present<'f>(&self, path: &'f AttrPath<'f>, scope: Scope<'_, 'f>) -> Fallible<bool> {
        if let Some(schema) = self.schema {
            attr_chars(schema, scope.parent(), path)?;
        }
        match resolve(scope, path) {
            None => Ok(false),
            Some(value) => lookup::any_value::<Box<EvalError>>(value, path.sub_attr(), |v| {
                Ok(lookup::is_present(v))
            }),
        }
    }

    #[inline(never)]
    fn value_path<'f>(
        &self,
        attr: &'f AttrPath<'f>,
        inner: FilterRef<'f, 'f>,
        scope: Scope<'_, 'f>,
    ) -> Fallible<bool> {
        if let Some(schema) = self.schema {
            value_path_chars(schema, scope.parent(), attr)?;
        }
        let Some(value) = resolve(scope, attr) else {
            return Ok(false);
        };
        lookup::any_value(value, attr.sub_attr(), |element| {
            if !lookup::has_value(element) {
                return Ok(false);
            }
            let scope = Scope::Element {
                parent: attr,
                element,
            };
            self.filter(inner, scope)
        })
    }
}

/// A string comparison without a schema (see [`TextTest`]): no plan, no error.
#[inline]
fn text_test(test: TextTest<'_>, scope: Scope<'_, '_>, path: &AttrPath<'_>) -> bool {
    let Some(value) = resolve(scope, path) else {
        return test.negate;
    };
    let hit = lookup::any_value::<std::convert::Infallible>(value, path.sub_attr(), |v| {
        Ok(test.value(lookup::comparable(v)))
    });
    matches!(hit, Ok(true)) != test.negate
}

/// The value `path` names in `scope`, before its sub-attribute is applied.
fn resolve<'v>(scope: Scope<'v, '_>, path: &AttrPath<'_>) -> Option<&'v Value> {
    match scope {
        Scope::Resource(resource) => lookup::resolve(resource, path),
        Scope::Element { element, .. } => lookup::sub_value(element, path.name()),
    }
}

/// Validates `f` against `schema`: every node, whatever the data.
fn check<S: AttrSchema + ?Sized>(
    f: FilterRef<'_, '_>,
    parent: Option<&AttrPath<'_>>,
    schema: &S,
) -> Fallible<()> {
    match f.node() {
        Node::Compare(cmp) => {
            let (chars, _) = comparison_chars(schema, parent, &cmp.attr)?;
            compare::plan(cmp, Some(chars), &|| render(parent, &cmp.attr)).map(drop)
        }
        Node::Present(path) => attr_chars(schema, parent, path).map(drop),
        Node::Not(inner) => check(inner, parent, schema),
        Node::And(mut fs) | Node::Or(mut fs) => fs.try_for_each(|f| check(f, parent, schema)),
        Node::ValuePath(attr, inner) => {
            value_path_chars(schema, parent, attr)?;
            check(inner, Some(attr), schema)
        }
    }
}

/// The characteristics of `attr` (inside the value path `parent`, if given).
fn attr_chars<S: AttrSchema + ?Sized>(
    schema: &S,
    parent: Option<&AttrPath<'_>>,
    attr: &AttrPath<'_>,
) -> Fallible<Characteristics> {
    let found = match parent {
        None => schema.characteristics(attr.urn(), attr.name(), attr.sub_attr()),
        // SCIM has two levels: `emails[type eq "work"]` is `emails.type`. A URN or a further
        // sub-attribute inside a value path names nothing.
        Some(p) if p.sub_attr().is_none() && attr.sub_attr().is_none() && attr.urn().is_none() => {
            schema.characteristics(p.urn(), p.name(), Some(attr.name()))
        }
        Some(_) => None,
    };
    found.ok_or_else(|| {
        Box::new(EvalError::UnknownAttribute {
            attr: render(parent, attr),
        })
    })
}

/// The characteristics a comparison of `attr` uses: the attribute's own, or for a complex
/// attribute those of its `value` sub-attribute (`None` if it has none); and whether the
/// attribute is complex.
fn comparison_chars<S: AttrSchema + ?Sized>(
    schema: &S,
    parent: Option<&AttrPath<'_>>,
    attr: &AttrPath<'_>,
) -> Fallible<(Option<Characteristics>, bool)> {
    let chars = attr_chars(schema, parent, attr)?;
    if chars.attr_type != AttrType::Complex {
        return Ok((Some(chars), false));
    }
    let value = match (parent, attr.sub_attr()) {
        (None, None) => schema
            .characteristics(attr.urn(), attr.name(), Some("value"))
            .filter(|c| c.attr_type != AttrType::Complex),
        _ => None,
    };
    Ok((value, true))
}

/// Checks the attribute of a value path: known, and not itself inside a value path.
fn value_path_chars<S: AttrSchema + ?Sized>(
    schema: &S,
    parent: Option<&AttrPath<'_>>,
    attr: &AttrPath<'_>,
) -> Fallible<Characteristics> {
    match parent {
        None => attr_chars(schema, None, attr),
        Some(p) => Err(Box::new(EvalError::UnknownAttribute {
            attr: render(Some(p), attr),
        })),
    }
}

/// The attribute path as written, for error messages (`emails.type` inside
/// `emails[...]`).
pub(crate) fn render(parent: Option<&AttrPath<'_>>, attr: &AttrPath<'_>) -> String {
    fn push(out: &mut String, p: &AttrPath<'_>) {
        if let Some(urn) = p.urn() {
            out.push_str(urn);
            out.push(':');
        }
        out.push_str(p.name());
        if let Some(sub) = p.sub_attr() {
            out.push('.');
            out.push_str(sub);
        }
    }
    let mut out = String::new();
    if let Some(p) = parent {
        push(&mut out, p);
        out.push('.');
    }
    push(&mut out, attr);
    out
}
