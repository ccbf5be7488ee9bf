//! One comparison: what its literal means for the attribute's type (decided once per
//! evaluation of the comparison, with the errors `check` reports), then the test of each
//! value of the attribute against it.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde_json::Value;

use super::text;
use super::{AttrType, Characteristics, EvalError, Fallible, datetime, lookup};
use crate::ast::{CompValue, CompareOp, Comparison, Number};

/// A comparison made ready for testing values.
#[derive(Debug, Clone, Copy)]
pub(super) enum Plan<'f> {
    /// `eq null` / `ne null`: whether the attribute is assigned. `assigned` is what `true`
    /// requires.
    Assigned { assigned: bool },
    /// Test values with `test`; the comparison holds when some value passes, or, with
    /// `negate` (for `ne`), when none does.
    Test { test: Test<'f>, negate: bool },
}

/// The test of one value. Its operator is never `ne` (see [`Plan::Test`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Test<'f> {
    op: CompareOp,
    kind: Kind<'f>,
}

/// How values are compared with the literal.
#[derive(Debug, Clone, Copy)]
enum Kind<'f> {
    /// No schema: the value's JSON type decides.
    Infer(Literal<'f>),
    /// A `string`, `reference` or `binary` attribute.
    Text { lit: &'f str, case_exact: bool },
    /// A `boolean` attribute.
    Bool(bool),
    /// An `integer` or `decimal` attribute.
    Num(Num),
    /// A `dateTime` attribute.
    DateTime(Timestamp),
}

/// A literal without a schema to interpret it.
#[derive(Debug, Clone, Copy)]
enum Literal<'f> {
    /// A string; compared as an instant with a stored xsd:dateTime if it is one too (the
    /// instant is read once, when the comparison is planned; `None` for the substring
    /// operators and for a literal that is not an xsd:dateTime).
    Text(&'f str, Option<Timestamp>),
    Bool(bool),
    Num(Num),
}

/// A number literal, read once.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn from_literal(n: &Number<'_>) -> Num {
        match n.as_str().parse::<i128>() {
            Ok(i) => Num::Int(i),
            Err(_) => Num::Float(n.as_f64()),
        }
    }

    fn from_json(n: &serde_json::Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i.into())
        } else if let Some(u) = n.as_u64() {
            Num::Int(u.into())
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// The value compared with `other`; `None` if either is not a number (NaN).
    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss past 2^53 is accepted: such integers meet decimals rarely.
            #[allow(clippy::cast_precision_loss)]
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// The reason given when a literal does not fit the attribute's type.
const NEED_STRING: &str = "expected a string";
const NEED_NUMBER: &str = "expected a number";
const NEED_BOOL: &str = "expected a boolean";
const NEED_DATETIME: &str = "expected an xsd:dateTime string such as \"2011-05-13T04:42:34Z\"";
const NULL_ONLY_EQ: &str = "null can only be compared with `eq` or `ne`";

/// Plans `cmp`. `chars` are the characteristics of the attribute compared (for a complex
/// attribute, those of its `value` sub-attribute, or `None` if it has none), or `None`
/// altogether without a schema. `attr` renders the attribute for errors.
pub(super) fn plan<'f>(
    cmp: &'f Comparison<'f>,
    chars: Option<Option<Characteristics>>,
    attr: &dyn Fn() -> String,
) -> Fallible<Plan<'f>> {
    let op = cmp.op;
    let unsupported = || Box::new(EvalError::UnsupportedOperator { attr: attr(), op });
    let invalid = |reason: &'static str| {
        Box::new(EvalError::InvalidValue {
            attr: attr(),
            op,
            reason,
        })
    };
    if let CompValue::Null = cmp.value {
        return match op {
            CompareOp::Eq => Ok(Plan::Assigned { assigned: false }),
            CompareOp::Ne => Ok(Plan::Assigned { assigned: true }),
            _ => Err(invalid(NULL_ONLY_EQ)),
        };
    }
    let (test_op, negate) = match op {
        CompareOp::Ne => (CompareOp::Eq, true),
        other => (other, false),
    };
    let kind = match chars {
        None => Kind::Infer(infer_literal(cmp, test_op).ok_or_else(unsupported)?),
        // A complex attribute without a `value` sub-attribute: only presence tests.
        Some(None) => return Err(unsupported()),
        Some(Some(c)) => typed(c, &cmp.value, test_op, unsupported, invalid)?,
    };
    Ok(Plan::Test {
        test: Test { op: test_op, kind },
        negate,
    })
}

/// The literal of a comparison without a schema; `None` if the operator cannot apply to
/// it whatever the data (`co 5`, `gt true`).
fn infer_literal<'f>(cmp: &'f Comparison<'f>, op: CompareOp) -> Option<Literal<'f>> {
    match &cmp.value {
        CompValue::String(s) => Some(Literal::Text(
            s,
            if op.is_substring() {
                None
            } else {
                datetime::parse(s)
            },
        )),
        CompValue::Number(n) => (!op.is_substring()).then(|| Literal::Num(Num::from_literal(n))),
        CompValue::Bool(b) => (op == CompareOp::Eq).then_some(Literal::Bool(*b)),
        CompValue::Null => None,
    }
}

/// The comparison kind for an attribute of known type.
fn typed<'f>(
    c: Characteristics,
    value: &'f CompValue<'f>,
    op: CompareOp,
    unsupported: impl Fn() -> Box<EvalError>,
    invalid: impl Fn(&'static str) -> Box<EvalError>,
) -> Fallible<Kind<'f>> {
    match c.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            if c.attr_type == AttrType::Binary && op.is_ordering() {
                return Err(unsupported());
            }
            match value {
                CompValue::String(s) => Ok(Kind::Text {
                    lit: s,
                    case_exact: c.case_exact || c.attr_type == AttrType::Binary,
                }),
                _ => Err(invalid(NEED_STRING)),
            }
        }
        AttrType::Boolean => {
            if op != CompareOp::Eq {
                return Err(unsupported());
            }
            match value {
                CompValue::Bool(b) => Ok(Kind::Bool(*b)),
                CompValue::String(s) => text::parse_bool(s)
                    .map(Kind::Bool)
                    .ok_or_else(|| invalid(NEED_BOOL)),
                _ => Err(invalid(NEED_BOOL)),
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            if op.is_substring() {
                return Err(unsupported());
            }
            match value {
                CompValue::Number(n) => Ok(Kind::Num(Num::from_literal(n))),
                _ => Err(invalid(NEED_NUMBER)),
            }
        }
        AttrType::DateTime => {
            if op.is_substring() {
                return Err(unsupported());
            }
            match value {
                CompValue::String(s) => datetime::parse(s)
                    .map(Kind::DateTime)
                    .ok_or_else(|| invalid(NEED_DATETIME)),
                _ => Err(invalid(NEED_DATETIME)),
            }
        }
        AttrType::Complex => Err(unsupported()),
    }
}

/// A comparison that [`Filter::matches`](crate::Filter::matches) can test without planning:
/// a string literal with `eq`, `ne`, `co`, `sw` or `ew`, and for `eq` / `ne` a literal that
/// cannot be an xsd:dateTime (shorter than one, or not shaped like one). This is the
/// lookup identity providers send (`userName eq "bjensen"`), and without a schema its
/// outcome needs no literal other than the text itself: no error is possible, and a value
/// passes exactly when [`Test::value`] would pass it for the plan [`plan`] makes.
#[derive(Debug, Clone, Copy)]
pub(super) struct TextTest<'f> {
    /// The operator a value is tested with (`eq` for `ne`).
    op: CompareOp,
    /// Whether the comparison holds when no value passes (`ne`).
    pub(super) negate: bool,
    lit: &'f str,
}

impl<'f> TextTest<'f> {
    /// The test of `cmp`, if it is such a comparison.
    #[inline]
    pub(super) fn of(cmp: &'f Comparison<'f>) -> Option<TextTest<'f>> {
        let CompValue::String(lit) = &cmp.value else {
            return None;
        };
        let (op, negate) = match cmp.op {
            CompareOp::Eq => (CompareOp::Eq, false),
            CompareOp::Ne => (CompareOp::Eq, true),
            op @ (CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => (op, false),
            _ => return None,
        };
        if op == CompareOp::Eq && datetime::looks_like_datetime(lit) {
            return None;
        }
        Some(TextTest { op, negate, lit })
    }

    /// Whether one value passes (the value a complex value stands for already taken).
    #[inline]
    pub(super) fn value(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => text::compare_caseless(self.op, s, self.lit),
            Value::Bool(b) => self.op == CompareOp::Eq && text::parse_bool(self.lit) == Some(*b),
            _ => false,
        }
    }
}

impl Test<'_> {
    /// Whether one value of the attribute passes. Without a schema, ordering a boolean or a
    /// complex value is an error; with one, a value of the wrong JSON type just fails.
    pub(super) fn value(&self, v: &Value, attr: &dyn Fn() -> String) -> Fallible<bool> {
        let op = self.op;
        Ok(match (&self.kind, v) {
            (_, Value::Null) => false,
            (_, v @ (Value::Object(_) | Value::Array(_))) if !lookup::has_value(v) => false,
            (Kind::Infer(lit), v) => match (lit, v) {
                (_, Value::Bool(_) | Value::Object(_) | Value::Array(_)) if op.is_ordering() => {
                    return Err(Box::new(EvalError::UnsupportedOperator {
                        attr: attr(),
                        op,
                    }));
                }
                (Literal::Text(lit, instant), Value::String(s)) => {
                    match instant.and_then(|lit| Some((datetime::parse(s)?, lit))) {
                        Some((at, lit)) => text::ordering_holds(op, at.cmp(&lit)),
                        None => text::compare(op, s, lit, false),
                    }
                }
                (Literal::Text(lit, _), Value::Bool(b)) => {
                    op == CompareOp::Eq && text::parse_bool(lit) == Some(*b)
                }
                (Literal::Bool(lit), Value::Bool(b)) => lit == b,
                (Literal::Bool(lit), Value::String(s)) => text::parse_bool(s) == Some(*lit),
                (Literal::Num(lit), Value::Number(n)) => num_holds(op, n, *lit),
                _ => false,
            },
            (Kind::Text { lit, case_exact }, Value::String(s)) => {
                text::compare(op, s, lit, *case_exact)
            }
            (Kind::Bool(lit), Value::Bool(b)) => lit == b,
            (Kind::Bool(lit), Value::String(s)) => text::parse_bool(s) == Some(*lit),
            (Kind::Num(lit), Value::Number(n)) => num_holds(op, n, *lit),
            (Kind::DateTime(lit), Value::String(s)) => {
                datetime::parse(s).is_some_and(|at| text::ordering_holds(op, at.cmp(lit)))
            }
            _ => false,
        })
    }
}

fn num_holds(op: CompareOp, n: &serde_json::Number, lit: Num) -> bool {
    Num::from_json(n)
        .cmp(lit)
        .is_some_and(|ord| text::ordering_holds(op, ord))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::AttrPath;
    use serde_json::json;

    fn cmp(op: CompareOp, value: CompValue<'static>) -> Comparison<'static> {
        Comparison {
            attr: AttrPath::new("a"),
            op,
            value,
        }
    }

    fn num(s: &'static str) -> CompValue<'static> {
        CompValue::Number(Number::new(s).unwrap())
    }

    fn infer(c: &Comparison<'static>, v: Value) -> Result<bool, EvalError> {
        let name = || "a".to_owned();
        match plan(c, None, &name).map_err(|e| *e)? {
            Plan::Test { test, negate } => Ok(test.value(&v, &name).map_err(|e| *e)? != negate),
            Plan::Assigned { .. } => unreachable!("not a null literal"),
        }
    }

    #[test]
    fn numbers_compare_numerically() {
        assert_eq!(infer(&cmp(CompareOp::Eq, num("10.0")), json!(10)), Ok(true));
        assert_eq!(infer(&cmp(CompareOp::Eq, num("1e1")), json!(10)), Ok(true));
        assert_eq!(infer(&cmp(CompareOp::Gt, num("9")), json!(10)), Ok(true));
        assert_eq!(
            infer(&cmp(CompareOp::Lt, num("9.5")), json!(9.25)),
            Ok(true)
        );
        assert_eq!(
            infer(
                &cmp(CompareOp::Gt, num("9223372036854775807")),
                json!(u64::MAX)
            ),
            Ok(true)
        );
        assert_eq!(
            infer(&cmp(CompareOp::Eq, num("10")), json!("10")),
            Ok(false)
        );
        assert_eq!(infer(&cmp(CompareOp::Ne, num("10")), json!(11)), Ok(true));
    }

    #[test]
    fn literal_errors_without_schema() {
        let is_err = |c: Comparison<'static>| {
            let name = || "a".to_owned();
            plan(&c, None, &name).is_err()
        };
        assert!(is_err(cmp(CompareOp::Co, num("5"))));
        assert!(is_err(cmp(CompareOp::Gt, CompValue::Bool(true))));
        assert!(is_err(cmp(CompareOp::Sw, CompValue::Bool(true))));
        assert!(is_err(cmp(CompareOp::Le, CompValue::Null)));
        assert!(is_err(cmp(CompareOp::Co, CompValue::Null)));
        assert!(!is_err(cmp(CompareOp::Ne, CompValue::Bool(true))));
        assert!(!is_err(cmp(CompareOp::Ge, num("5"))));
    }

    #[test]
    fn ordering_needs_a_comparable_value() {
        let gt = cmp(CompareOp::Gt, CompValue::String("a".into()));
        assert!(infer(&gt, json!(true)).is_err());
        assert!(infer(&gt, json!({"display": "x"})).is_err());
        assert_eq!(infer(&gt, json!(5)), Ok(false));
        assert_eq!(infer(&gt, json!(null)), Ok(false));
        let co = cmp(CompareOp::Co, CompValue::String("1".into()));
        assert_eq!(infer(&co, json!(1)), Ok(false));
        assert_eq!(infer(&co, json!(true)), Ok(false));
    }

    #[test]
    fn typed_literals() {
        let name = || "a".to_owned();
        let chars = |attr_type| {
            Some(Some(Characteristics {
                attr_type,
                multi_valued: false,
                case_exact: false,
            }))
        };
        let ok = |t, c: Comparison<'static>| plan(&c, chars(t), &name).is_ok();
        assert!(ok(
            AttrType::Boolean,
            cmp(CompareOp::Eq, CompValue::String("True".into()))
        ));
        assert!(!ok(
            AttrType::Boolean,
            cmp(CompareOp::Eq, CompValue::String("yes".into()))
        ));
        assert!(!ok(
            AttrType::Boolean,
            cmp(CompareOp::Gt, CompValue::Bool(true))
        ));
        assert!(!ok(AttrType::String, cmp(CompareOp::Eq, num("1"))));
        assert!(!ok(AttrType::Integer, cmp(CompareOp::Co, num("1"))));
        assert!(!ok(
            AttrType::Integer,
            cmp(CompareOp::Eq, CompValue::String("1".into()))
        ));
        assert!(ok(AttrType::Decimal, cmp(CompareOp::Le, num("1.5"))));
        assert!(!ok(
            AttrType::DateTime,
            cmp(CompareOp::Gt, CompValue::String("today".into()))
        ));
        assert!(!ok(
            AttrType::DateTime,
            cmp(
                CompareOp::Sw,
                CompValue::String("2011-05-13T04:42:34Z".into())
            )
        ));
        assert!(ok(
            AttrType::DateTime,
            cmp(
                CompareOp::Gt,
                CompValue::String("2011-05-13T04:42:34Z".into())
            )
        ));
        assert!(!ok(
            AttrType::Binary,
            cmp(CompareOp::Gt, CompValue::String("AA==".into()))
        ));
        assert!(ok(
            AttrType::Binary,
            cmp(CompareOp::Eq, CompValue::String("AA==".into()))
        ));
        assert!(ok(
            AttrType::Reference,
            cmp(CompareOp::Sw, CompValue::String("https:".into()))
        ));
        assert!(!ok(
            AttrType::Complex,
            cmp(CompareOp::Eq, CompValue::String("x".into()))
        ));
        assert!(
            plan(
                &cmp(CompareOp::Eq, CompValue::String("x".into())),
                Some(None),
                &name
            )
            .is_err()
        );
        assert!(plan(&cmp(CompareOp::Eq, CompValue::Null), Some(None), &name).is_ok());
    }
}
