//! Property tests of the evaluator over generated resources and filters (ASTs built
//! directly, so these do not depend on the parser).

use std::borrow::Cow;

use proptest::prelude::*;
use scim_filter::{
    AttrPath, AttrSchema, AttrType, Characteristics, CompValue, CompareOp, Comparison, Filter,
    Number,
};
use serde_json::{Map, Value};

const NAMES: &[&str] = &["a", "b", "c", "value", "type", "A", "Value"];
const EXT: &str = "urn:ext:2.0:X";

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        prop_oneof![Just(0.5), Just(-1.25), Just(2.0)].prop_map(Value::from),
        prop_oneof![
            Just(""),
            Just("x"),
            Just("X"),
            Just("xy"),
            Just("Ünï"),
            Just("ünÏ"),
            Just("true"),
            Just("2011-05-13T04:42:34Z"),
            Just("2011-05-12T21:42:34-07:00"),
        ]
        .prop_map(Value::from),
    ]
}

fn object(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(NAMES), inner), 0..4).prop_map(|members| {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            object(inner),
        ]
    })
}

/// A resource: top-level attributes and sometimes an extension object.
fn resource() -> impl Strategy<Value = Value> {
    (object(json()), prop::option::of(object(json()))).prop_map(|(mut top, ext)| {
        if let (Value::Object(m), Some(ext)) = (&mut top, ext) {
            m.insert(EXT.to_owned(), ext);
        }
        top
    })
}

fn attr_path() -> impl Strategy<Value = AttrPath<'static>> {
    (
        prop::option::weighted(0.15, prop::sample::select(vec![EXT, "urn:core:2.0:X"])),
        prop::sample::select(NAMES),
        prop::option::weighted(0.3, prop::sample::select(NAMES)),
    )
        .prop_map(|(urn, name, sub)| {
            let mut p = AttrPath::new(name);
            if let Some(urn) = urn {
                p = p.with_urn(urn);
            }
            if let Some(sub) = sub {
                p = p.with_sub_attr(sub);
            }
            p
        })
}

fn comp_value() -> impl Strategy<Value = CompValue<'static>> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        prop::sample::select(vec!["0", "1", "-3", "2.0", "0.5", "1e0"])
            .prop_map(|n| CompValue::Number(Number::new(n).expect("a number"))),
        prop::sample::select(vec![
            "",
            "x",
            "X",
            "Y",
            "ÜNÏ",
            "True",
            "2011-05-13T04:42:34Z",
            "2011-05-13T04:42:35Z"
        ])
        .prop_map(|s| CompValue::String(Cow::Borrowed(s))),
    ]
}

fn comparison() -> impl Strategy<Value = Comparison<'static>> {
    (
        attr_path(),
        prop::sample::select(CompareOp::ALL.to_vec()),
        comp_value(),
    )
        .prop_map(|(attr, op, value)| Comparison { attr, op, value })
}

fn filter() -> impl Strategy<Value = Filter<'static>> {
    let atom = prop_oneof![
        4 => comparison().prop_map(Filter::from),
        1 => attr_path().prop_map(Filter::present),
    ];
    atom.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(Filter::not),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::and),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::or),
            (attr_path(), inner)
                .prop_map(|(attr, f)| { Filter::value_path(attr.without_sub_attr(), f) }),
        ]
    })
}

/// A small schema: `a` string, `b` integer, `c` complex with a case-exact `value`, `type`
/// boolean, `value` dateTime; every attribute may have the same sub-attributes.
struct Schema;

impl AttrSchema for Schema {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Characteristics> {
        if urn.is_some_and(|u| !u.eq_ignore_ascii_case(EXT)) {
            return None;
        }
        let of = |name: &str| {
            let (attr_type, case_exact) = match name.to_ascii_lowercase().as_str() {
                "a" => (AttrType::String, false),
                "b" => (AttrType::Integer, false),
                "c" => (AttrType::Complex, false),
                "type" => (AttrType::Boolean, false),
                "value" => (AttrType::DateTime, false),
                _ => return None,
            };
            Some(Characteristics {
                attr_type,
                multi_valued: false,
                case_exact,
            })
        };
        match sub {
            None => of(name),
            Some(sub) if name.eq_ignore_ascii_case("c") && sub.eq_ignore_ascii_case("value") => {
                Some(Characteristics {
                    attr_type: AttrType::String,
                    multi_valued: false,
                    case_exact: true,
                })
            }
            Some(sub) => of(name).and_then(|_| of(sub)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The batch API selects what `matches` (and `matches_with`) on each resource would, in
    /// order, or returns the first error they would; the lists cross `select`'s chunks.
    #[test]
    fn select_is_matches_on_each(
        f in filter(),
        pool in prop::collection::vec(resource(), 1..8),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..300),
    ) {
        let resources: Vec<Value> = picks.iter().map(|i| i.get(&pool).clone()).collect();
        let each = |m: &dyn Fn(&Value) -> Result<bool, scim_filter::EvalError>| {
            let mut selected = Vec::new();
            for (i, r) in resources.iter().enumerate() {
                if m(r)? {
                    selected.push(i);
                }
            }
            Ok(selected)
        };
        prop_assert_eq!(f.select(&resources), each(&|r| f.matches(r)));
        prop_assert_eq!(
            f.select_with(&resources, &Schema),
            each(&|r| f.matches_with(r, &Schema))
        );
    }

    /// Evaluation is deterministic, and `not` negates exactly (errors included).
    #[test]
    fn not_negates(f in filter(), r in resource()) {
        let once = f.matches(&r);
        prop_assert_eq!(&once, &f.matches(&r));
        let negated = Filter::not(f).matches(&r);
        prop_assert_eq!(negated, once.map(|b| !b));
    }

    /// `ne` is the negation of `eq`, with a value or with null.
    #[test]
    fn ne_is_not_eq(c in comparison(), r in resource()) {
        let with = |op| Filter::from(Comparison { op, ..c.clone() });
        let eq = with(CompareOp::Eq).matches(&r);
        let ne = with(CompareOp::Ne).matches(&r);
        prop_assert_eq!(ne, eq.map(|b| !b));
    }

    /// `pr` implies `ne null`, and `eq null` implies not `pr`.
    #[test]
    fn presence_and_null(attr in attr_path(), r in resource()) {
        let pr = Filter::present(attr.clone()).matches(&r);
        let ne_null = Filter::from(Comparison {
            attr,
            op: CompareOp::Ne,
            value: CompValue::Null,
        })
        .matches(&r);
        prop_assert!(pr.is_ok() && ne_null.is_ok());
        if pr == Ok(true) {
            prop_assert_eq!(ne_null, Ok(true));
        }
    }

    /// `and` and `or` agree with their operands, evaluated in order.
    #[test]
    fn connectives(fs in prop::collection::vec(filter(), 2..4), r in resource()) {
        let each: Vec<_> = fs.iter().map(|f| f.matches(&r)).collect();
        let mut and = Ok(true);
        for e in &each {
            match e {
                Ok(true) => {}
                other => { and = other.clone(); break; }
            }
        }
        let mut or = Ok(false);
        for e in &each {
            match e {
                Ok(false) => {}
                other => { or = other.clone(); break; }
            }
        }
        prop_assert_eq!(Filter::and(fs.clone()).matches(&r), and);
        prop_assert_eq!(Filter::or(fs).matches(&r), or);
    }

    /// With a schema, a filter that passes `check` evaluates without error on any data.
    #[test]
    fn checked_filters_never_fail(f in filter(), rs in prop::collection::vec(resource(), 1..4)) {
        if f.check(&Schema).is_ok() {
            for r in &rs {
                prop_assert!(f.matches_with(r, &Schema).is_ok(), "{:?} on {}", f, r);
            }
        }
    }

    /// Without a schema, string equality ignores ASCII case.
    #[test]
    fn ascii_case_ignored(attr in attr_path(), r in resource(), upper in any::<bool>()) {
        let f = |s: &'static str| Filter::from(Comparison {
            attr: attr.clone(),
            op: CompareOp::Eq,
            value: CompValue::String(Cow::Borrowed(s)),
        });
        let lit = if upper { "XY" } else { "Xy" };
        prop_assert_eq!(f(lit).matches(&r), f("xy").matches(&r));
    }

    /// Date-like text of any tail never panics, and an instant equals itself written with
    /// another offset.
    #[test]
    fn date_like_text(tail in ".{0,40}", digits in "[0-9]{1,30}", ahead in 0u8..24) {
        let stored = format!("2015-10-10T10:10:10{tail}");
        let r = serde_json::json!({"d": stored, "e": format!("2015-10-10T10:10:10.{digits}Z")});
        for op in CompareOp::ALL {
            for lit in [stored.as_str(), "2015-10-10T10:10:10Z", "2015-10-10T10:10:10.5"] {
                let f = Filter::from(Comparison {
                    attr: AttrPath::new("d"),
                    op,
                    value: CompValue::String(Cow::Borrowed(lit)),
                });
                prop_assert!(f.matches(&r).is_ok());
            }
        }
        // The same instant in another offset: 10:10:10Z is (10 + ahead):10:10+ahead:00
        // when that stays on the same day.
        let shifted = format!("2015-10-10T{:02}:10:10.{digits}+{ahead:02}:00", 10 + ahead % 14, ahead = ahead % 14);
        let f = Filter::from(Comparison {
            attr: AttrPath::new("e"),
            op: CompareOp::Eq,
            value: CompValue::String(Cow::Owned(shifted)),
        });
        prop_assert_eq!(f.matches(&r), Ok(true));
    }
}
