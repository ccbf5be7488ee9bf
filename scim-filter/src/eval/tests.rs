//! Evaluation over ASTs built by hand (the black-box tests in `tests/eval*.rs` parse).

use std::borrow::Cow;

use serde_json::{Value, json};

use super::*;
use crate::ast::{CompValue, Comparison, Number};

// ---- A small builder for filters. ----

/// `name`, `name.sub`, `urn:...:name` or `urn:...:name.sub`.
fn path(text: &'static str) -> AttrPath<'static> {
    let (urn, rest) = match text.rfind(':') {
        Some(i) if text.to_ascii_lowercase().starts_with("urn:") => {
            (Some(&text[..i]), &text[i + 1..])
        }
        _ => (None, text),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let mut p = AttrPath::new(name);
    if let Some(urn) = urn {
        p = p.with_urn(urn);
    }
    if let Some(sub) = sub {
        p = p.with_sub_attr(sub);
    }
    p
}

fn c(attr: &'static str, op: CompareOp, value: CompValue<'static>) -> Filter<'static> {
    Filter::from(Comparison {
        attr: path(attr),
        op,
        value,
    })
}

fn s(text: &'static str) -> CompValue<'static> {
    CompValue::String(Cow::Borrowed(text))
}

fn n(text: &'static str) -> CompValue<'static> {
    CompValue::Number(Number::new(text).expect("a JSON number"))
}

fn b(v: bool) -> CompValue<'static> {
    CompValue::Bool(v)
}

const NULL: CompValue<'static> = CompValue::Null;

fn pr(attr: &'static str) -> Filter<'static> {
    Filter::present(path(attr))
}

fn not(f: Filter<'static>) -> Filter<'static> {
    Filter::not(f)
}

fn and(fs: Vec<Filter<'static>>) -> Filter<'static> {
    Filter::and(fs)
}

fn or(fs: Vec<Filter<'static>>) -> Filter<'static> {
    Filter::or(fs)
}

fn vp(attr: &'static str, f: Filter<'static>) -> Filter<'static> {
    Filter::value_path(path(attr), f)
}

use CompareOp::{Co, Eq, Ew, Ge, Gt, Le, Lt, Ne, Sw};

// ---- A schema for the tests: core User and the enterprise extension. ----

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct TestSchema;

fn ch(attr_type: AttrType, multi_valued: bool, case_exact: bool) -> Characteristics {
    Characteristics {
        attr_type,
        multi_valued,
        case_exact,
    }
}

impl AttrSchema for TestSchema {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Characteristics> {
        use AttrType::*;
        let name = name.to_ascii_lowercase();
        let sub = sub.map(str::to_ascii_lowercase);
        let urn = urn.map(str::to_ascii_lowercase);
        let enterprise = match urn.as_deref() {
            None => None,
            Some(u) if u == CORE.to_ascii_lowercase() => Some(false),
            Some(u) if u == ENTERPRISE.to_ascii_lowercase() => Some(true),
            Some(_) => return None,
        };
        let core = enterprise != Some(true);
        let ext = enterprise != Some(false);
        Some(match (name.as_str(), sub.as_deref()) {
            ("id", None) if core => ch(String, false, true),
            ("username", None) if core => ch(String, false, false),
            ("externalid", None) if core => ch(String, false, true),
            ("active", None) if core => ch(Boolean, false, false),
            ("title", None) if core => ch(String, false, false),
            ("name", None) if core => ch(Complex, false, false),
            ("name", Some("givenname" | "familyname" | "formatted")) if core => {
                ch(String, false, false)
            }
            ("emails", None) if core => ch(Complex, true, false),
            ("emails", Some("value" | "type" | "display")) if core => ch(String, false, false),
            ("emails", Some("primary")) if core => ch(Boolean, false, false),
            ("x509certificates", None) if core => ch(Complex, true, false),
            ("x509certificates", Some("value")) if core => ch(Binary, false, true),
            ("profileurl", None) if core => ch(Reference, false, false),
            ("meta", None) if core => ch(Complex, false, false),
            ("meta", Some("created" | "lastmodified")) if core => ch(DateTime, false, false),
            ("meta", Some("resourcetype")) if core => ch(String, false, true),
            ("manager", None) if ext => ch(Complex, false, false),
            ("manager", Some("value")) if ext => ch(String, false, true),
            ("manager", Some("displayname")) if ext => ch(String, false, false),
            ("employeenumber", None) if ext => ch(String, false, false),
            ("costcenter", None) if ext => ch(Integer, false, false),
            ("weight", None) if core => ch(Decimal, false, false),
            _ => return None,
        })
    }
}

fn user() -> Value {
    json!({
        "schemas": [CORE, ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen-ext",
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAw"}],
        "profileUrl": "https://login.example.com/bjensen",
        "weight": 61.5,
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        },
        ENTERPRISE: {
            "employeeNumber": "701984",
            "costCenter": 4130,
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    })
}

fn eval(f: &Filter<'_>, v: &Value) -> Result<bool, EvalError> {
    f.matches(v)
}

fn eval_schema(f: &Filter<'_>, v: &Value) -> Result<bool, EvalError> {
    f.check(&TestSchema)?;
    f.matches_with(v, &TestSchema)
}

#[track_caller]
fn yes(f: Filter<'static>) {
    assert_eq!(eval(&f, &user()), Ok(true), "{f:?}");
}

#[track_caller]
fn no(f: Filter<'static>) {
    assert_eq!(eval(&f, &user()), Ok(false), "{f:?}");
}

// ---- Without a schema. ----

#[test]
fn simple_comparisons() {
    yes(c("userName", Eq, s("bjensen")));
    yes(c("userName", Eq, s("BJensen")));
    yes(c("USERNAME", Eq, s("bjensen")));
    no(c("userName", Eq, s("bjensen2")));
    yes(c("userName", Ne, s("bjensen2")));
    yes(c("userName", Sw, s("bj")));
    yes(c("userName", Ew, s("SEN")));
    yes(c("userName", Co, s("jen")));
    yes(c("name.GIVENNAME", Eq, s("barbara")));
    yes(c("userName", Gt, s("a")));
    yes(c("userName", Lt, s("C")));
    yes(c("userName", Ge, s("bjensen")));
    yes(c("userName", Le, s("BJENSEN")));
}

#[test]
fn multi_valued_any() {
    yes(c("emails.value", Eq, s("babs@jensen.org")));
    yes(c("emails.type", Eq, s("home")));
    yes(c("emails", Co, s("jensen.org")));
    yes(c("emails", Ew, s("@EXAMPLE.com")));
    no(c("emails", Co, s("nowhere")));
    yes(c("schemas", Eq, s(ENTERPRISE)));
}

#[test]
fn value_path_correlates_within_an_element() {
    yes(vp(
        "emails",
        and(vec![
            c("type", Eq, s("work")),
            c("value", Co, s("@example.com")),
        ]),
    ));
    // Each condition holds in some element, but not both in the same one.
    no(vp(
        "emails",
        and(vec![
            c("type", Eq, s("home")),
            c("value", Co, s("@example.com")),
        ]),
    ));
    yes(and(vec![
        c("emails.type", Eq, s("home")),
        c("emails.value", Co, s("@example.com")),
    ]));
    yes(vp("emails", c("primary", Eq, b(true))));
    yes(vp("emails", not(pr("primary"))));
    no(vp("addresses", pr("type")));
    yes(not(vp("addresses", pr("type"))));
    yes(vp("schemas", c("value", Ew, s(":User"))));
}

#[test]
fn complex_compares_value() {
    let v = json!({"manager": {"value": "26118915", "displayName": "John"}});
    assert_eq!(eval(&c("manager", Eq, s("26118915")), &v), Ok(true));
    assert_eq!(eval(&c("manager", Eq, s("John")), &v), Ok(false));
    assert_eq!(eval(&c("manager.value", Eq, s("26118915")), &v), Ok(true));
    // A manager stored as a bare string (the Entra dialect).
    let bare = json!({"manager": "26118915"});
    assert_eq!(
        eval(&c("manager.value", Eq, s("26118915")), &bare),
        Ok(true)
    );
    assert_eq!(eval(&c("manager", Eq, s("26118915")), &bare), Ok(true));
    assert_eq!(
        eval(&c("manager.displayName", pr_op(), NULL), &bare),
        Ok(true)
    );
    // A complex attribute without `value`: eq matches nothing, ordering is an error.
    no(c("name", Eq, s("Barbara")));
    assert!(matches!(
        eval(&c("name", Gt, s("a")), &user()),
        Err(EvalError::UnsupportedOperator { .. })
    ));
    // emails as a single object (OneLogin templates).
    let single = json!({"emails": {"value": "a@b.c", "type": "work"}});
    assert_eq!(eval(&c("emails.value", Eq, s("a@b.c")), &single), Ok(true));
    assert_eq!(eval(&c("emails", Eq, s("A@B.C")), &single), Ok(true));
    assert_eq!(
        eval(&vp("emails", c("type", Eq, s("work"))), &single),
        Ok(true)
    );
}

/// `eq null` on an attribute: the test helper spells it as an operator for readability.
fn pr_op() -> CompareOp {
    Eq
}

#[test]
fn urns() {
    yes(c(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        Eq,
        s("701984"),
    ));
    yes(c(
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.value",
        Eq,
        s("26118915-6090-4610-87e4-49d8ca9f808d"),
    ));
    yes(c(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        Eq,
        s("26118915-6090-4610-87e4-49d8ca9f808d"),
    ));
    yes(c(
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        Eq,
        s("bjensen"),
    ));
    yes(c("urn:scim:schemas:core:1.0:userName", Eq, s("bjensen")));
    yes(pr(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ));
    // Unqualified extension attributes.
    yes(c("employeeNumber", Eq, s("701984")));
    yes(c("manager", Eq, s("26118915-6090-4610-87e4-49d8ca9f808d")));
    // The core URN does not look into extensions.
    no(pr(
        "urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber",
    ));
}

#[test]
fn numbers_and_booleans() {
    yes(c("weight", Eq, n("61.5")));
    yes(c("weight", Gt, n("61")));
    yes(c("costCenter", Eq, n("4130.0")));
    yes(c("costCenter", Ge, n("4.13e3")));
    no(c("costCenter", Eq, s("4130")));
    no(c("costCenter", Co, s("41")));
    yes(c("active", Eq, b(true)));
    yes(c("active", Ne, b(false)));
    yes(c("active", Eq, s("True")));
    no(c("active", Co, s("t")));
    assert!(matches!(
        eval(&c("active", Gt, s("a")), &user()),
        Err(EvalError::UnsupportedOperator { .. })
    ));
    assert!(eval(&c("active", Gt, b(false)), &user()).is_err());
    assert_eq!(
        eval(&c("active", Eq, b(false)), &json!({"active": "False"})),
        Ok(true)
    );
}

#[test]
fn date_times() {
    yes(c("meta.lastModified", Gt, s("2011-05-13T04:42:33Z")));
    yes(c("meta.lastModified", Eq, s("2011-05-12T21:42:34-07:00")));
    yes(c(
        "meta.lastModified",
        Eq,
        s("2011-05-13T04:42:34.000000000000Z"),
    ));
    yes(c("meta.lastModified", Eq, s("2011-05-13T04:42:34")));
    no(c("meta.lastModified", Lt, s("2011-05-13T04:42:34Z")));
    yes(c("meta.lastModified", Le, s("2011-05-13T04:42:34Z")));
    yes(c("meta.created", Lt, s("2011-05-13T04:42:34Z")));
    // A literal that is not a date: the strings compare as text.
    yes(c("meta.lastModified", Sw, s("2011-05")));
    yes(c("meta.lastModified", Gt, s("2011")));
    let v = json!({"d": "2015-10-10T14:38:21.8617979-07:00"});
    assert_eq!(eval(&c("d", Gt, s("2015-10-10T21:38:21.8Z")), &v), Ok(true));
    assert_eq!(eval(&c("d", Lt, s("2015-10-10T21:38:21.9Z")), &v), Ok(true));
}

#[test]
fn unassigned() {
    let v = json!({
        "null": null, "empty": "", "arr": [], "obj": {}, "nulls": [null, {}],
        "blanks": [{"value": ""}], "zero": 0, "f": false
    });
    for attr in ["missing", "null", "arr", "obj", "nulls"] {
        let a = Box::leak(attr.to_owned().into_boxed_str());
        assert_eq!(eval(&pr(a), &v), Ok(false), "{attr} pr");
        assert_eq!(eval(&c(a, Eq, NULL), &v), Ok(true), "{attr} eq null");
        assert_eq!(eval(&c(a, Ne, NULL), &v), Ok(false), "{attr} ne null");
        assert_eq!(eval(&c(a, Ne, s("x")), &v), Ok(true), "{attr} ne x");
        assert_eq!(eval(&c(a, Eq, s("x")), &v), Ok(false), "{attr} eq x");
        assert_eq!(eval(&c(a, Gt, s("x")), &v), Ok(false), "{attr} gt x");
    }
    for attr in ["empty", "blanks"] {
        let a = Box::leak(attr.to_owned().into_boxed_str());
        assert_eq!(eval(&pr(a), &v), Ok(false), "{attr} pr");
        assert_eq!(eval(&c(a, Eq, NULL), &v), Ok(false), "{attr} eq null");
        assert_eq!(eval(&c(a, Ne, NULL), &v), Ok(true), "{attr} ne null");
    }
    for attr in ["zero", "f"] {
        let a = Box::leak(attr.to_owned().into_boxed_str());
        assert_eq!(eval(&pr(a), &v), Ok(true), "{attr} pr");
    }
    yes(not(pr("title")));
    no(pr("title"));
    yes(pr("emails"));
    yes(pr("emails.type"));
    no(pr("emails.display"));
    yes(c("title", Ne, s("x")));
    // Errors whatever the data.
    for op in [Gt, Ge, Lt, Le, Co, Sw, Ew] {
        assert!(matches!(
            eval(&c("title", op, NULL), &v),
            Err(EvalError::InvalidValue { .. })
        ));
    }
}

#[test]
fn ne_is_not_eq() {
    no(c("emails.type", Ne, s("work")));
    no(not(c("emails.type", Eq, s("work"))));
    yes(c("emails.type", Ne, s("other")));
    yes(not(c("emails.type", Eq, s("other"))));
    yes(c("emails.type", Ne, s("other")));
    let tags = json!({"tags": ["a", "b"]});
    assert_eq!(eval(&c("tags", Ne, s("a")), &tags), Ok(false));
    assert_eq!(eval(&c("tags", Eq, s("a")), &tags), Ok(true));
}

#[test]
fn logic_short_circuits_in_order() {
    let bad = c("active", Gt, s("x"));
    yes(or(vec![c("userName", Eq, s("bjensen")), bad.clone()]));
    no(and(vec![c("userName", Eq, s("nobody")), bad.clone()]));
    assert!(
        eval(
            &and(vec![c("userName", Eq, s("bjensen")), bad.clone()]),
            &user()
        )
        .is_err()
    );
    assert!(
        eval(
            &or(vec![bad.clone(), c("userName", Eq, s("bjensen"))]),
            &user()
        )
        .is_err()
    );
    assert!(eval(&not(bad), &user()).is_err());
    yes(and(vec![
        c("userName", Eq, s("bjensen")),
        or(vec![
            vp(
                "emails",
                and(vec![
                    c("type", Eq, s("work")),
                    c("value", Co, s("@example.com")),
                ]),
            ),
            not(pr("title")),
        ]),
    ]));
}

#[test]
fn non_object_resources() {
    for v in [json!(null), json!([]), json!("x"), json!(1)] {
        assert_eq!(eval(&c("a", Eq, s("x")), &v), Ok(false));
        assert_eq!(eval(&pr("a"), &v), Ok(false));
        assert_eq!(eval(&c("a", Ne, s("x")), &v), Ok(true));
    }
}

#[test]
fn nested_value_paths_do_not_panic() {
    let v = json!({"a": [{"b": [{"c": "x"}]}]});
    let f = vp("a", vp("b", c("c", Eq, s("x"))));
    assert_eq!(eval(&f, &v), Ok(true));
    assert!(matches!(
        f.check(&TestSchema),
        Err(EvalError::UnknownAttribute { .. })
    ));
}

// ---- With a schema. ----

#[test]
fn schema_case_exact() {
    let u = user();
    assert_eq!(eval_schema(&c("userName", Eq, s("BJENSEN")), &u), Ok(true));
    assert_eq!(
        eval_schema(&c("id", Eq, s("2819C223-7F76-453A-919D-413861904646")), &u),
        Ok(false)
    );
    assert_eq!(
        eval_schema(&c("id", Eq, s("2819c223-7f76-453a-919d-413861904646")), &u),
        Ok(true)
    );
    assert_eq!(eval_schema(&c("externalId", Sw, s("BJ")), &u), Ok(false));
    assert_eq!(
        eval_schema(
            &c("manager", Eq, s("26118915-6090-4610-87E4-49D8CA9F808D")),
            &u
        ),
        Ok(false)
    );
    assert_eq!(
        eval_schema(
            &c("x509Certificates", Eq, s("miidqzccaqygawibagicEAAw")),
            &u
        ),
        Ok(false)
    );
    assert_eq!(
        eval_schema(
            &c("x509Certificates", Eq, s("MIIDQzCCAqygAwIBAgICEAAw")),
            &u
        ),
        Ok(true)
    );
    assert_eq!(
        eval_schema(&c("profileUrl", Sw, s("HTTPS://")), &u),
        Ok(true)
    );
}

#[test]
fn schema_types() {
    let u = user();
    assert_eq!(
        eval_schema(&c("meta.lastModified", Gt, s("2011-05-13T04:42:33Z")), &u),
        Ok(true)
    );
    assert_eq!(
        eval_schema(&c("meta.created", Eq, s("2010-01-22T20:56:22-08:00")), &u),
        Ok(true)
    );
    assert_eq!(eval_schema(&c("active", Eq, s("TRUE")), &u), Ok(true));
    assert_eq!(eval_schema(&c("active", Ne, b(true)), &u), Ok(false));
    assert_eq!(eval_schema(&c("costCenter", Lt, n("5000")), &u), Ok(true));
    assert_eq!(eval_schema(&c("weight", Eq, n("61.50")), &u), Ok(true));
    assert_eq!(eval_schema(&c("emails.primary", Eq, b(true)), &u), Ok(true));
    assert_eq!(
        eval_schema(&vp("emails", c("primary", Eq, b(true))), &u),
        Ok(true)
    );
    assert_eq!(eval_schema(&c("manager", Eq, NULL), &u), Ok(false));
    assert_eq!(eval_schema(&pr("name"), &u), Ok(true));
    // A dateTime attribute whose stored value is not a date does not match.
    let odd = json!({"meta": {"lastModified": "yesterday"}});
    assert_eq!(
        eval_schema(&c("meta.lastModified", Lt, s("2030-01-01T00:00:00Z")), &odd),
        Ok(false)
    );
    // A string attribute holding a date compares as text with a schema.
    let t = json!({"title": "2011-05-13T04:42:34Z"});
    assert_eq!(
        eval_schema(&c("title", Eq, s("2011-05-12T21:42:34-07:00")), &t),
        Ok(false)
    );
    assert_eq!(
        eval(&c("title", Eq, s("2011-05-12T21:42:34-07:00")), &t),
        Ok(true)
    );
    // Stored data of the wrong type never errors with a schema.
    let wrong = json!({"active": {"x": 1}, "title": 5});
    assert_eq!(eval_schema(&c("active", Eq, b(true)), &wrong), Ok(false));
    assert_eq!(eval_schema(&c("title", Gt, s("a")), &wrong), Ok(false));
}

#[test]
fn schema_errors() {
    let unsupported = |f: Filter<'static>| {
        matches!(
            f.check(&TestSchema),
            Err(EvalError::UnsupportedOperator { .. })
        )
    };
    let invalid =
        |f: Filter<'static>| matches!(f.check(&TestSchema), Err(EvalError::InvalidValue { .. }));
    let unknown = |f: Filter<'static>| {
        matches!(
            f.check(&TestSchema),
            Err(EvalError::UnknownAttribute { .. })
        )
    };
    assert!(unsupported(c("active", Gt, b(true))));
    assert!(unsupported(c("active", Co, s("t"))));
    assert!(unsupported(c("costCenter", Sw, n("4"))));
    assert!(unsupported(c("meta.created", Co, s("2011"))));
    assert!(unsupported(c("x509Certificates", Gt, s("A"))));
    assert!(unsupported(c("name", Eq, s("Barbara"))));
    assert!(unsupported(c("meta", Gt, s("x"))));
    assert!(invalid(c("userName", Eq, n("5"))));
    assert!(invalid(c("userName", Eq, b(true))));
    assert!(invalid(c("active", Eq, s("yes"))));
    assert!(invalid(c("costCenter", Eq, s("4130"))));
    assert!(invalid(c("meta.created", Gt, s("2011"))));
    assert!(invalid(c("meta.created", Gt, n("2011"))));
    assert!(invalid(c("userName", Gt, NULL)));
    assert!(unknown(c("nickName", Eq, s("x"))));
    assert!(unknown(pr("name.middle")));
    assert!(unknown(vp("phones", pr("type"))));
    assert!(unknown(vp("emails", pr("label"))));
    assert!(unknown(c(
        "urn:example:custom:1.0:User:userName",
        Eq,
        s("x")
    )));
    assert!(unknown(vp("emails", c("type.x", Eq, s("x")))));
    // Every branch is checked, whatever short-circuiting would skip.
    assert!(invalid(or(vec![pr("userName"), c("userName", Eq, n("1"))])));
    assert!(unsupported(not(and(vec![
        pr("id"),
        c("active", Lt, b(true))
    ]))));
    // Presence and null tests apply to every type.
    for f in [
        pr("name"),
        c("name", Eq, NULL),
        c("active", Ne, NULL),
        pr("meta.created"),
    ] {
        assert_eq!(f.check(&TestSchema), Ok(()), "{f:?}");
    }
    // matches_with without check reports the same error when it reaches the comparison.
    assert!(
        c("nickName", Eq, s("x"))
            .matches_with(&user(), &TestSchema)
            .is_err()
    );
    assert!(
        c("active", Gt, b(true))
            .matches_with(&user(), &TestSchema)
            .is_err()
    );
}

#[test]
fn error_messages_name_attribute_and_operator() {
    let e = c("active", Gt, b(true)).check(&TestSchema).unwrap_err();
    assert_eq!(
        e.to_string(),
        "operator `gt` is not supported for attribute `active`"
    );
    let e = vp("emails", c("primary", Co, s("t")))
        .check(&TestSchema)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "operator `co` is not supported for attribute `emails.primary`"
    );
    let e = c("userName", Eq, n("5")).check(&TestSchema).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`userName`") && msg.contains("`eq`"), "{msg}");
    let e = c("urn:x:y:nick", Eq, s("x"))
        .check(&TestSchema)
        .unwrap_err();
    assert_eq!(e.to_string(), "unknown attribute `urn:x:y:nick` in filter");
    let e: Box<dyn std::error::Error> = Box::new(e);
    assert!(!e.to_string().is_empty());
}

// ---- The string fast path of `matches` against the planned path. ----

/// Resources for the fast path: case variants of keys, non-ASCII text, extension objects,
/// absent and null values, multi-valued and complex attributes, booleans and numbers.
fn fast_path_resources() -> Vec<Value> {
    vec![
        user(),
        json!({"UserName": "BJENSEN", "username": "other", "title": null, "emails": []}),
        json!({"userName": "\u{212A}elvin", "title": "STRAßE", "nickName": "ΟΔΥΣΣΕΎΣ"}),
        json!({"userName": ["a", "Bjensen", null], "title": {"value": "Boss"}, "nickName": true}),
        json!({"userName": {"value": "bjensen"}, "title": [{"value": "x"}, {"display": "y"}]}),
        json!({"userName": 7, "title": [["bjensen"]], "nickName": "True"}),
        json!({
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"userName": "ext", "Manager": {"value": "26118915"}, "title": "Ext"},
            "TITLE": "Upper"
        }),
        json!({"zeta": "z", "alpha": "a", "ZETA": "Z", "Alpha": "A", "zEta": "q"}),
        json!(["not", "an", "object"]),
        json!(null),
    ]
}

#[test]
fn text_fast_path_agrees_with_planned_comparison() {
    let attrs = [
        "userName",
        "USERNAME",
        "title",
        "Title",
        "nickName",
        "zeta",
        "ZETA",
        "alpha",
        "manager",
        "manager.value",
        "emails.value",
        "emails.type",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:title",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "absent",
    ];
    let literals = [
        "bjensen",
        "BJensen",
        "kelvin",
        "KELVIN",
        "k",
        "straße",
        "STRASSE",
        "οδυσσεύς",
        "",
        "true",
        "TRUE",
        "false",
        "a",
        "Z",
        "q",
        "work",
        "26118915",
        "x",
        "ext",
        "upper",
        "boss",
        "é",
    ];
    let ops = [Eq, Ne, Co, Sw, Ew];
    let ev = Eval::<NoSchema> { schema: None };
    let mut fast = 0;
    for resource in fast_path_resources() {
        for attr in attrs {
            for lit in literals {
                for op in ops {
                    let cmp = Comparison {
                        attr: path(attr),
                        op,
                        value: s(lit),
                    };
                    assert!(TextTest::of(&cmp).is_some(), "{cmp:?}");
                    fast += 1;
                    let f = Filter::from(cmp.clone());
                    let scope = Scope::Resource(&resource);
                    let planned = ev.compare(&cmp, scope).map_err(|e| *e);
                    assert_eq!(eval(&f, &resource), planned, "{f:?} on {resource}");
                    // The same comparison inside a value path's element.
                    let parent = path("emails");
                    if let Some(Value::Array(elements)) = resource.get("emails") {
                        for element in elements {
                            let scope = Scope::Element {
                                parent: &parent,
                                element,
                            };
                            assert_eq!(
                                ev.filter(f.as_ref(), scope).map_err(|e| *e),
                                ev.compare(&cmp, scope).map_err(|e| *e),
                                "{f:?} in {element}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(fast > 1000);
}

#[test]
fn text_fast_path_leaves_dates_and_other_literals_to_the_plan() {
    let date = Comparison {
        attr: path("meta.created"),
        op: Eq,
        value: s("2010-01-23T04:56:22Z"),
    };
    assert!(TextTest::of(&date).is_none());
    // A dateTime literal with a substring operator is text.
    let date_co = Comparison {
        op: Co,
        ..date.clone()
    };
    assert!(TextTest::of(&date_co).is_some());
    for (op, value) in [
        (Gt, s("a")),
        (Eq, n("1")),
        (Eq, b(true)),
        (Eq, NULL),
        (Ne, NULL),
    ] {
        let cmp = Comparison {
            attr: path("userName"),
            op,
            value,
        };
        assert!(TextTest::of(&cmp).is_none(), "{cmp:?}");
    }
    // The instant comparison still holds through the plan.
    yes(Filter::from(Comparison {
        value: s("2010-01-22T20:56:22-08:00"),
        ..date
    }));
}

#[test]
fn member_lookup_from_either_end_finds_the_same_member() {
    /// The member as a forward scan finds it: the exact match, else the first caseless one.
    fn reference<'v>(obj: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
        obj.get(key).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }
    let objects = [
        json!({"title": 1, "Title": 2, "TITLE": 3, "tItle": 4, "zz": 5, "a": 6}),
        json!({"Title": 2, "TITLE": 3, "userName": 7, "USERNAME": 8, "Username": 9}),
        json!({"alpha": 1, "ALPHA": 2, "Alpha": 3, "zulu": 4, "Zulu": 5, "ZULU": 6}),
        json!({"m": 1, "M": 2, "n": 3, "N": 4, "$ref": 5, "$REF": 6, "_x": 7, "": 8}),
        json!({"ünïcode": 1, "ÜNÏCODE": 2, "\u{212A}": 3, "k": 4, "K": 5}),
        json!({}),
    ];
    let keys = [
        "title",
        "TITLE",
        "Title",
        "tiTLE",
        "userName",
        "username",
        "USERNAME",
        "alpha",
        "Alpha",
        "ALPHA",
        "zulu",
        "ZULU",
        "zUlU",
        "m",
        "M",
        "n",
        "N",
        "$ref",
        "$Ref",
        "_X",
        "",
        "ünïcode",
        "ÜNÏCODE",
        "k",
        "K",
        "\u{212A}",
        "absent",
        "zz",
        "ZZ",
    ];
    for object in &objects {
        let obj = object.as_object().expect("an object");
        for key in keys {
            assert_eq!(
                lookup::get_ci(obj, key),
                reference(obj, key),
                "{key} in {object}"
            );
        }
    }
}
