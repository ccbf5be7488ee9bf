//! The SQL compiler against SQLite itself: for hundreds of generated filters over a
//! generated population of users, the compiled clause (plus the in-memory recheck where it
//! asks for one) selects exactly the users that `Filter::matches_with` matches. Then the
//! emitted text of key cases.

use std::borrow::Cow;
use std::collections::BTreeSet;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlParam, ValueRef};
use rusqlite::{Connection, params_from_iter};
use scim_filter::sql::{
    ColumnForm, Compiler, FOLD_FUNCTION, INSTANT_FUNCTION, Location, SqlDialect, SqlError,
    SqlFilter, SqlMapping, SqlValue, compile, fold, instant_key,
};
use scim_filter::{AttrSchema, AttrType, Characteristics, Filter, parse};
use serde_json::{Map, Value, json};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// ---- The schema and the mapping. ----

/// One attribute: extension URN (or core), name, sub-attribute, characteristics, and its
/// dedicated column if it has one.
struct Attr {
    ext: bool,
    name: &'static str,
    sub: Option<&'static str>,
    attr_type: AttrType,
    multi: bool,
    case_exact: bool,
    column: Option<(&'static str, ColumnForm)>,
}

const fn a(
    name: &'static str,
    sub: Option<&'static str>,
    attr_type: AttrType,
    multi: bool,
    case_exact: bool,
) -> Attr {
    Attr {
        ext: false,
        name,
        sub,
        attr_type,
        multi,
        case_exact,
        column: None,
    }
}

const fn col(mut attr: Attr, name: &'static str, form: ColumnForm) -> Attr {
    attr.column = Some((name, form));
    attr
}

const fn ext(mut attr: Attr) -> Attr {
    attr.ext = true;
    attr
}

use AttrType::{Boolean, Complex, DateTime, Decimal, Integer, String as Str};

const ATTRS: &[Attr] = &[
    col(a("id", None, Str, false, true), "id", ColumnForm::Text),
    col(
        a("userName", None, Str, false, false),
        "user_name_folded",
        ColumnForm::FoldedText,
    ),
    a("displayName", None, Str, false, false),
    a("title", None, Str, false, false),
    a("externalId", None, Str, false, true),
    col(
        a("nickName", None, Str, false, true),
        "nick_folded",
        ColumnForm::FoldedText,
    ),
    col(
        a("active", None, Boolean, false, false),
        "active",
        ColumnForm::Boolean,
    ),
    a("verified", None, Boolean, false, false),
    col(
        a("loginCount", None, Integer, false, false),
        "login_count",
        ColumnForm::Number,
    ),
    a("score", None, Decimal, false, false),
    a("name", None, Complex, false, false),
    a("name", Some("givenName"), Str, false, false),
    a("name", Some("familyName"), Str, false, false),
    a("emails", None, Complex, true, false),
    a("emails", Some("value"), Str, false, false),
    a("emails", Some("type"), Str, false, false),
    a("emails", Some("primary"), Boolean, false, false),
    a("phoneNumbers", None, Complex, true, false),
    a("phoneNumbers", Some("value"), Str, false, false),
    a("phoneNumbers", Some("type"), Str, false, false),
    a("tags", None, Str, true, false),
    a("meta", None, Complex, false, false),
    col(
        a("meta", Some("created"), DateTime, false, false),
        "created",
        ColumnForm::DateTime,
    ),
    a("meta", Some("lastModified"), DateTime, false, false),
    ext(a("employeeNumber", None, Str, false, false)),
    ext(a("department", None, Str, false, false)),
    ext(a("manager", None, Complex, false, false)),
    ext(a("manager", Some("value"), Str, false, false)),
    ext(a("manager", Some("displayName"), Str, false, false)),
];

struct Users;

impl Users {
    fn find(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<&'static Attr> {
        let core_ok = urn.is_none_or(|u| u.eq_ignore_ascii_case(CORE));
        let ext_ok = urn.is_none_or(|u| u.eq_ignore_ascii_case(ENT));
        ATTRS.iter().find(|at| {
            (if at.ext { ext_ok } else { core_ok })
                && at.name.eq_ignore_ascii_case(name)
                && match (at.sub, sub) {
                    (None, None) => true,
                    (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                    _ => false,
                }
        })
    }
}

impl AttrSchema for Users {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Characteristics> {
        self.find(urn, name, sub).map(|at| Characteristics {
            attr_type: at.attr_type,
            multi_valued: at.multi,
            case_exact: at.case_exact,
        })
    }
}

impl SqlMapping for Users {
    fn locate(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<Location<'_>> {
        let at = self.find(urn, name, sub)?;
        if let Some((column, form)) = at.column {
            return Some(Location::Column {
                column: Cow::Borrowed(column),
                form,
            });
        }
        let mut path = Vec::new();
        if at.ext {
            path.push(Cow::Borrowed(ENT));
        }
        path.push(Cow::Borrowed(at.name));
        if let Some(sub) = at.sub {
            path.push(Cow::Borrowed(sub));
        }
        Some(Location::Json {
            column: Cow::Borrowed("data"),
            path,
        })
    }
}

// ---- A deterministic generator. ----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "bjensen",
    "BJensen",
    "Ǆemal",
    "ǆemal",
    "ÉLODIE",
    "élodie",
    "straße",
    "STRASSE",
    "Straße",
    "ΟΔΟΣ",
    "οδος",
    "100%_sure",
    "100%-sure",
    "back\\slash",
    "under_score",
    "underXscore",
    "",
    "Zoë Ångström",
    "\u{212A}elvin",
    "kelvin",
    "a",
    "A",
    "mixed Case",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "EXAMPLE.org",
    "exämple.net",
    "x_y.com",
    "50%.io",
];
const TYPES: &[&str] = &["work", "home", "Work", "other", ""];
const DATES: &[&str] = &[
    "2011-05-13T04:42:34Z",
    "2011-05-13T04:42:34.5Z",
    "2011-05-13T06:42:34+02:00",
    "2011-05-13T04:42:34",
    "2015-10-10T14:38:21.8617979-07:00",
    "2020-02-29T00:00:00Z",
    "1999-12-31T23:59:59.999999999Z",
    "not a date",
];

fn string_value(rng: &mut Rng) -> Value {
    json!(*rng.pick(NAMES))
}

/// A value, or absent (`None`), null, or an empty container.
fn maybe(rng: &mut Rng, v: Value) -> Option<Value> {
    match rng.below(10) {
        0 => None,
        1 => Some(Value::Null),
        _ => Some(v),
    }
}

fn user(rng: &mut Rng, i: usize) -> Value {
    let mut u = Map::new();
    u.insert("id".into(), json!(format!("u{i:03}")));
    let put = |u: &mut Map<String, Value>, k: &str, v: Option<Value>| {
        if let Some(v) = v {
            u.insert(k.into(), v);
        }
    };
    let user_name = {
        let base = *rng.pick(NAMES);
        if base.is_empty() {
            json!(format!("user{i}"))
        } else {
            json!(format!(
                "{base}{}",
                if rng.chance(50) {
                    String::new()
                } else {
                    i.to_string()
                }
            ))
        }
    };
    put(&mut u, "userName", Some(user_name));
    let v = string_value(rng);
    put(&mut u, "displayName", maybe(rng, v));
    let v = string_value(rng);
    put(&mut u, "title", maybe(rng, v));
    let v = string_value(rng);
    put(&mut u, "externalId", maybe(rng, v));
    let v = string_value(rng);
    put(&mut u, "nickName", maybe(rng, v));
    let active = match rng.below(6) {
        0 => json!("True"),
        1 => json!("false"),
        2 => json!(true),
        3 => json!(false),
        _ => json!(rng.chance(50)),
    };
    put(&mut u, "active", maybe(rng, active));
    let verified = match rng.below(4) {
        0 => json!("TRUE"),
        1 => json!("maybe"),
        _ => json!(rng.chance(50)),
    };
    put(&mut u, "verified", maybe(rng, verified));
    let login = json!(rng.below(20) as i64 - 5);
    put(&mut u, "loginCount", maybe(rng, login));
    let score = match rng.below(4) {
        0 => json!(rng.below(10)),
        1 => json!(rng.below(100) as f64 / 8.0),
        2 => json!(-1.5),
        _ => json!(2.5),
    };
    put(&mut u, "score", maybe(rng, score));
    if rng.chance(80) {
        let mut name = Map::new();
        let v = string_value(rng);
        put(&mut name, "givenName", maybe(rng, v));
        let v = string_value(rng);
        put(&mut name, "familyName", maybe(rng, v));
        u.insert("name".into(), Value::Object(name));
    }
    let emails = match rng.below(8) {
        0 => None,
        1 => Some(Value::Null),
        2 => Some(json!([])),
        3 => Some(json!([null, {}])),
        _ => {
            let n = 1 + rng.below(3);
            let mut list = Vec::new();
            for _ in 0..n {
                let mut e = Map::new();
                let local = *rng.pick(NAMES);
                let v = json!(format!("{local}@{}", rng.pick(DOMAINS)));
                put(&mut e, "value", maybe(rng, v));
                let t = json!(*rng.pick(TYPES));
                put(&mut e, "type", maybe(rng, t));
                let p = json!(rng.chance(30));
                put(&mut e, "primary", maybe(rng, p));
                list.push(Value::Object(e));
            }
            Some(Value::Array(list))
        }
    };
    put(&mut u, "emails", emails);
    if rng.chance(60) {
        let n = rng.below(3);
        let list: Vec<Value> = (0..n)
            .map(|_| {
                json!({"value": format!("+1 555 {:04}", rng.below(20)), "type": *rng.pick(TYPES)})
            })
            .collect();
        u.insert("phoneNumbers".into(), Value::Array(list));
    }
    if rng.chance(60) {
        let n = rng.below(4);
        let list: Vec<Value> = (0..n).map(|_| string_value(rng)).collect();
        u.insert("tags".into(), Value::Array(list));
    }
    let mut meta = Map::new();
    // A dedicated column's attribute holds only values of its type (the store validates).
    let created = json!(DATES[rng.below(7)]);
    put(&mut meta, "created", maybe(rng, created));
    let modified = json!(*rng.pick(DATES));
    put(&mut meta, "lastModified", maybe(rng, modified));
    u.insert("meta".into(), Value::Object(meta));
    if rng.chance(70) {
        let mut e = Map::new();
        let v = json!(format!("{}", rng.below(50)));
        put(&mut e, "employeeNumber", maybe(rng, v));
        let v = string_value(rng);
        put(&mut e, "department", maybe(rng, v));
        let manager = match rng.below(6) {
            0 => json!({}),
            // A bare id, as some identity providers send it: `manager.value` still reads it.
            5 => json!(format!("u{:03}", rng.below(50))),
            1 => {
                json!({"value": format!("u{:03}", rng.below(50)), "displayName": *rng.pick(NAMES)})
            }
            2 => json!({"displayName": *rng.pick(NAMES)}),
            _ => json!({"value": format!("u{:03}", rng.below(50))}),
        };
        put(&mut e, "manager", maybe(rng, manager));
        u.insert(ENT.into(), Value::Object(e));
    }
    Value::Object(u)
}

fn population(n: usize) -> Vec<Value> {
    let mut rng = Rng(0x5EED_5C1F);
    (0..n).map(|i| user(&mut rng, i)).collect()
}

// ---- SQLite. ----

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn database(users: &[Value]) -> Connection {
    let db = Connection::open_in_memory().expect("in-memory SQLite");
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    db.create_scalar_function(FOLD_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().map(fold),
            _ => None,
        })
    })
    .expect("register the fold function");
    db.create_scalar_function(INSTANT_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(instant_key),
            _ => None,
        })
    })
    .expect("register the instant function");
    db.execute_batch(
        "CREATE TABLE users (id TEXT PRIMARY KEY, user_name_folded TEXT, nick_folded TEXT,
         active INTEGER, login_count, created TEXT, data TEXT NOT NULL);
         CREATE INDEX users_created ON users (created); CREATE INDEX users_user_name ON users (user_name_folded);",
    )
    .expect("create the table");
    for u in users {
        let text = |v: &Value| v.as_str().map(fold);
        let number = |v: &Value| -> SqlParam {
            match v {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => SqlParam::Integer(i),
                    None => SqlParam::Real(n.as_f64().unwrap_or(f64::NAN)),
                },
                _ => SqlParam::Null,
            }
        };
        db.execute(
            "INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                u["id"].as_str(),
                text(&u["userName"]),
                text(&u["nickName"]),
                bool_of(&u["active"]),
                number(&u["loginCount"]),
                u["meta"]["created"].as_str().and_then(instant_key),
                u.to_string(),
            ],
        )
        .expect("insert a user");
    }
    db
}

fn bind(v: &SqlValue) -> SqlParam {
    match v {
        SqlValue::Text(s) => SqlParam::Text(s.clone()),
        SqlValue::Integer(i) => SqlParam::Integer(*i),
        SqlValue::Real(f) => SqlParam::Real(*f),
        SqlValue::Bool(b) => SqlParam::Integer(i64::from(*b)),
        other => panic!("unexpected parameter {other:?}"),
    }
}

/// The ids SQL selects, after the recheck if one is asked for.
fn select(db: &Connection, compiled: &SqlFilter, filter: &Filter<'_>) -> BTreeSet<String> {
    let query = format!("SELECT id, data FROM users WHERE {}", compiled.sql);
    let mut stmt = db
        .prepare(&query)
        .unwrap_or_else(|e| panic!("{e}: {query}"));
    let rows = stmt
        .query_map(params_from_iter(compiled.params.iter().map(bind)), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap_or_else(|e| panic!("{e}: {query}"));
    let mut out = BTreeSet::new();
    for row in rows {
        let (id, data) = row.unwrap_or_else(|e| panic!("{e}: {query}"));
        if compiled.needs_recheck {
            let doc: Value = serde_json::from_str(&data).expect("stored JSON");
            if filter.matches_with(&doc, &Users) != Ok(true) {
                continue;
            }
        }
        out.insert(id);
    }
    out
}

fn expected(users: &[Value], filter: &Filter<'_>) -> BTreeSet<String> {
    users
        .iter()
        .filter(|u| filter.matches_with(u, &Users) == Ok(true))
        .map(|u| u["id"].as_str().expect("an id").to_owned())
        .collect()
}

// ---- Filter generation. ----

/// Attribute paths to compare, with the kind of literal that fits.
#[derive(Clone, Copy, PartialEq)]
enum Lit {
    Text,
    Bool,
    Int,
    Dec,
    Date,
    /// A complex attribute: only `pr`, `eq null`, `ne null` (or through `value`).
    None,
}

const PATHS: &[(&str, Lit)] = &[
    ("id", Lit::Text),
    ("userName", Lit::Text),
    ("USERNAME", Lit::Text),
    ("displayName", Lit::Text),
    ("title", Lit::Text),
    ("externalId", Lit::Text),
    ("nickName", Lit::Text),
    ("active", Lit::Bool),
    ("verified", Lit::Bool),
    ("loginCount", Lit::Int),
    ("score", Lit::Dec),
    ("name", Lit::None),
    ("name.givenName", Lit::Text),
    ("name.FAMILYNAME", Lit::Text),
    ("emails", Lit::Text),
    ("emails.value", Lit::Text),
    ("emails.type", Lit::Text),
    ("emails.primary", Lit::Bool),
    ("phoneNumbers", Lit::Text),
    ("phoneNumbers.type", Lit::Text),
    ("tags", Lit::Text),
    ("meta", Lit::None),
    ("meta.created", Lit::Date),
    ("meta.lastModified", Lit::Date),
    (
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        Lit::Text,
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        Lit::Text,
    ),
    ("department", Lit::Text),
    ("manager", Lit::Text),
    ("manager.value", Lit::Text),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
        Lit::Text,
    ),
];

/// Sub-attributes usable inside `emails[...]` and `phoneNumbers[...]`.
const ELEMENT_PATHS: &[(&str, Lit)] = &[
    ("value", Lit::Text),
    ("type", Lit::Text),
    ("TYPE", Lit::Text),
    ("primary", Lit::Bool),
];

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn text_literal(rng: &mut Rng, op: &str) -> String {
    let base: String = match rng.below(6) {
        0 => rng.pick(DOMAINS).to_string(),
        1 => rng.pick(TYPES).to_string(),
        2 => format!("u{:03}", rng.below(60)),
        3 => [
            "%", "_", "\\", "%_", "0%", "r_s", "x_y", "Ǆ", "SS", "ß", "Σ", "ς", "@",
        ][rng.below(13)]
        .to_owned(),
        _ => rng.pick(NAMES).to_string(),
    };
    let mut s: String = match (op, rng.below(3)) {
        ("co" | "ew", 0) => base.chars().skip(base.chars().count() / 2).collect(),
        ("co" | "sw", 1) => base
            .chars()
            .take(base.chars().count().div_ceil(2))
            .collect(),
        _ => base,
    };
    if rng.chance(30) {
        s = s.to_uppercase();
    }
    json_string(&s)
}

fn literal(rng: &mut Rng, lit: Lit, op: &str) -> String {
    match lit {
        Lit::Text | Lit::None => text_literal(rng, op),
        Lit::Bool => ["true", "false", "\"True\"", "\"FALSE\""][rng.below(4)].to_owned(),
        Lit::Int => format!("{}", rng.below(20) as i64 - 6),
        Lit::Dec => {
            ["2.5", "0", "3", "-1.5", "1e1", "6.125", "9007199254740993"][rng.below(7)].to_owned()
        }
        Lit::Date => json_string(DATES[rng.below(7)]),
    }
}

fn comparison(rng: &mut Rng, paths: &[(&str, Lit)]) -> String {
    let (path, lit) = *rng.pick(paths);
    match rng.below(12) {
        0 => return format!("{path} pr"),
        1 => return format!("{path} eq null"),
        2 => return format!("{path} ne null"),
        _ => {}
    }
    let ops: &[&str] = match lit {
        Lit::Text => &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"],
        Lit::Bool => &["eq", "ne"],
        Lit::Int | Lit::Dec | Lit::Date => &["eq", "ne", "gt", "ge", "lt", "le"],
        Lit::None => return format!("{path} pr"),
    };
    let op = *rng.pick(ops);
    let op_text = if rng.chance(10) {
        op.to_uppercase()
    } else {
        op.to_owned()
    };
    format!("{path} {op_text} {}", literal(rng, lit, op))
}

/// Value paths: the attribute, and the sub-attributes its filter may name.
const VALUE_PATHS: &[(&str, &[(&str, Lit)])] = &[
    ("emails", ELEMENT_PATHS),
    ("phoneNumbers", &[("value", Lit::Text), ("type", Lit::Text)]),
    (
        "name",
        &[("givenName", Lit::Text), ("familyName", Lit::Text)],
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        &[("value", Lit::Text), ("displayName", Lit::Text)],
    ),
];

fn element_filter(rng: &mut Rng, paths: &[(&str, Lit)], depth: usize) -> String {
    if depth == 0 || rng.chance(50) {
        return comparison(rng, paths);
    }
    match rng.below(3) {
        0 => format!("not ({})", element_filter(rng, paths, depth - 1)),
        1 => format!(
            "{} and {}",
            element_filter(rng, paths, depth - 1),
            element_filter(rng, paths, depth - 1)
        ),
        _ => format!(
            "({} or {})",
            element_filter(rng, paths, depth - 1),
            element_filter(rng, paths, depth - 1)
        ),
    }
}

fn gen_filter(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.chance(35) {
        return if rng.chance(20) {
            let (attr, paths) = if rng.chance(50) {
                VALUE_PATHS[0]
            } else {
                *rng.pick(VALUE_PATHS)
            };
            format!("{attr}[{}]", element_filter(rng, paths, 2))
        } else {
            comparison(rng, PATHS)
        };
    }
    match rng.below(4) {
        0 => format!("not ({})", gen_filter(rng, depth - 1)),
        1 => format!(
            "{} and {}",
            gen_filter(rng, depth - 1),
            gen_filter(rng, depth - 1)
        ),
        2 => format!(
            "({} or {})",
            gen_filter(rng, depth - 1),
            gen_filter(rng, depth - 1)
        ),
        _ => format!(
            "{} or not ({})",
            gen_filter(rng, depth - 1),
            gen_filter(rng, depth - 1)
        ),
    }
}

#[test]
fn sql_selects_what_memory_matches() {
    let users = population(250);
    let db = database(&users);
    let mut rng = Rng(0xF1_17E5);
    let (mut run, mut nontrivial, mut rechecked) = (0, 0, 0);
    let mut failures = Vec::new();
    while run < 1000 {
        let text = gen_filter(&mut rng, 3);
        let filter = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        if filter.check(&Users).is_err() {
            assert!(
                compile(&filter, &Users, SqlDialect::Sqlite).is_err(),
                "{text}"
            );
            continue;
        }
        run += 1;
        let compiled =
            compile(&filter, &Users, SqlDialect::Sqlite).unwrap_or_else(|e| panic!("{text}: {e}"));
        let want = expected(&users, &filter);
        let got = select(&db, &compiled, &filter);
        if !want.is_empty() && want.len() < users.len() {
            nontrivial += 1;
        }
        rechecked += usize::from(compiled.needs_recheck);
        if want != got {
            let extra: Vec<_> = got.difference(&want).take(3).collect();
            let missing: Vec<_> = want.difference(&got).take(3).collect();
            failures.push(format!(
                "{text}\n  sql: {}\n  extra {extra:?} missing {missing:?}",
                compiled.sql
            ));
        }
    }
    eprintln!("{run} filters: {nontrivial} select some but not all users, {rechecked} rechecked");
    assert!(
        failures.is_empty(),
        "{} of {run} filters differ:\n{}",
        failures.len(),
        failures[..failures.len().min(8)].join("\n")
    );
    // The generator must give filters that select some but not all users, and most
    // filters must compile exactly.
    assert!(
        nontrivial > run / 3,
        "only {nontrivial} of {run} filters discriminate"
    );
    assert!(
        rechecked < run / 10,
        "{rechecked} of {run} filters need a recheck"
    );
}

/// Every operator on every path shape, exhaustively, with a literal drawn from the data.
#[test]
fn every_operator_on_every_path() {
    let users = population(120);
    let db = database(&users);
    let mut rng = Rng(42);
    let mut count = 0;
    for &(path, lit) in PATHS {
        for op in [
            "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "null",
        ] {
            for _ in 0..4 {
                let text = match op {
                    "pr" => format!("{path} pr"),
                    "null" => format!("not ({path} eq null) and {path} ne null"),
                    _ => format!("not ({path} {op} {})", literal(&mut rng, lit, op)),
                };
                let filter = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                if filter.check(&Users).is_err() {
                    continue;
                }
                count += 1;
                let compiled = compile(&filter, &Users, SqlDialect::Sqlite)
                    .unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(
                    select(&db, &compiled, &filter),
                    expected(&users, &filter),
                    "{text}\n{}",
                    compiled.sql
                );
            }
        }
    }
    assert!(count > 400, "only {count} filters");
}

// ---- The emitted text. ----

fn sql_of(text: &str) -> SqlFilter {
    let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    compile(&f, &Users, SqlDialect::Sqlite).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn texts(params: &[SqlValue]) -> Vec<String> {
    params
        .iter()
        .map(|p| match p {
            SqlValue::Text(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn indexed_column_equality() {
    let c = sql_of(r#"userName eq "ÉLODIE""#);
    assert_eq!(
        c.sql,
        "(user_name_folded IS NOT NULL AND user_name_folded = ?1)"
    );
    assert_eq!(texts(&c.params), ["élodie"]);
    assert!(!c.needs_recheck);
    // Case-exact id: no folding.
    let c = sql_of(r#"id eq "U001""#);
    assert_eq!(c.sql, "(id IS NOT NULL AND id = ?1)");
    assert_eq!(texts(&c.params), ["U001"]);
}

#[test]
fn like_wildcards_are_escaped() {
    let c = sql_of(r#"userName co "100%_\\x""#);
    assert_eq!(
        c.sql,
        "(user_name_folded IS NOT NULL AND user_name_folded LIKE ?1 ESCAPE '\\')"
    );
    assert_eq!(texts(&c.params), ["%100\\%\\_\\\\x%"]);
    let c = sql_of(r#"title sw "A_""#);
    assert_eq!(
        c.sql,
        "(json_type(data, '$.\"title\"') IS 'text' AND scim_fold(json_extract(data, '$.\"title\"')) LIKE ?1 ESCAPE '\\')"
    );
    assert_eq!(texts(&c.params), ["a\\_%"]);
    let c = sql_of(r#"title ew "%""#);
    assert_eq!(texts(&c.params), ["%\\%"]);
}

#[test]
fn case_exact_substrings_avoid_like() {
    let c = sql_of(r#"externalId sw "Ab""#);
    assert!(
        c.sql
            .contains("substr(json_extract(data, '$.\"externalId\"'), 1, length(?1)) = ?1"),
        "{}",
        c.sql
    );
    let c = sql_of(r#"externalId co "Ab""#);
    assert!(
        c.sql
            .contains("instr(json_extract(data, '$.\"externalId\"'), ?1) > 0"),
        "{}",
        c.sql
    );
    assert_eq!(texts(&c.params), ["Ab"]);
}

#[test]
fn precedence_is_parenthesised() {
    let c = sql_of(r#"title eq "a" or title eq "b" and not (id eq "c")"#);
    let t = "(json_type(data, '$.\"title\"') IS 'text' AND scim_fold(json_extract(data, '$.\"title\"')) = ";
    assert_eq!(
        c.sql,
        format!("({t}?1) OR ({t}?2) AND NOT ((id IS NOT NULL AND id = ?3))))")
    );
}

#[test]
fn ne_and_eq_null_negate_the_positive_form() {
    let c = sql_of(r#"emails.value ne "a@b""#);
    assert!(
        c.sql.starts_with(
            "NOT (EXISTS (SELECT 1 FROM json_each(data, '$.\"emails\"') AS sf_e1 WHERE "
        ),
        "{}",
        c.sql
    );
    let c = sql_of("title eq null");
    assert!(
        c.sql
            .starts_with("NOT (CASE WHEN json_type(data, '$.\"title\"') IS 'text' THEN 1"),
        "{}",
        c.sql
    );
    let c = sql_of("nickName pr");
    assert_eq!(c.sql, "(nick_folded IS NOT NULL AND nick_folded <> '')");
}

#[test]
fn value_paths_correlate_in_one_element() {
    let c = sql_of(r#"emails[type eq "work" and value co "@x"]"#);
    assert!(c.sql.starts_with("EXISTS (SELECT 1 FROM json_each(data, '$.\"emails\"') AS sf_e1 WHERE (CASE WHEN sf_e1.type IS 'text'"), "{}", c.sql);
    assert!(
        c.sql
            .contains("CASE WHEN sf_e1.type IS 'object' THEN sf_e1.value END, '$.\"type\"'"),
        "{}",
        c.sql
    );
    assert_eq!(
        c.sql
            .matches("EXISTS (SELECT 1 FROM json_each(data")
            .count(),
        1
    );
}

#[test]
fn datetimes_compare_as_instants() {
    let c = sql_of(r#"meta.created gt "2011-05-13T06:42:34+02:00""#);
    assert_eq!(c.sql, "(created IS NOT NULL AND created > ?1)");
    assert_eq!(texts(&c.params), ["2011-05-13T04:42:34.000000000Z"]);
    let c = sql_of(r#"meta.lastModified le "2011-05-13T04:42:34Z""#);
    assert!(
        c.sql.contains(
            "COALESCE(scim_instant(json_extract(data, '$.\"meta\".\"lastModified\"')) <= ?1, 0)"
        ),
        "{}",
        c.sql
    );
}

#[test]
fn numbers_and_booleans() {
    let c = sql_of("loginCount ge 3");
    assert_eq!(c.sql, "(login_count IS NOT NULL AND login_count >= ?1)");
    assert_eq!(c.params, [SqlValue::Integer(3)]);
    let c = sql_of("score lt 2.5");
    assert!(
        c.sql
            .contains("CAST(json_extract(data, '$.\"score\"') AS REAL) < ?1"),
        "{}",
        c.sql
    );
    assert_eq!(c.params, [SqlValue::Real(2.5)]);
    let c = sql_of(r#"active eq "True""#);
    assert_eq!(c.sql, "(active IS NOT NULL AND active = ?1)");
    assert_eq!(c.params, [SqlValue::Bool(true)]);
}

#[test]
fn recheck_cases_widen() {
    // A case-exact comparison over a column that holds only the folded form.
    let c = sql_of(r#"nickName eq "Bob""#);
    assert!(c.needs_recheck);
    assert_eq!(c.sql, "(nick_folded IS NOT NULL AND nick_folded = ?1)");
    // Under a negation the widened test cannot be used: the piece becomes false.
    let c = sql_of(r#"not (nickName eq "Bob")"#);
    assert!(c.needs_recheck);
    assert_eq!(c.sql, "NOT (0)");
    let c = sql_of(r#"nickName ne "Bob""#);
    assert_eq!(c.sql, "NOT (0)");
    // An integer literal past 2^53.
    let c = sql_of("score gt 9007199254740993");
    assert!(c.needs_recheck);
    assert_eq!(c.sql, "1");
    // NUL in a literal.
    let c = sql_of(r#"title co "a\u0000b""#);
    assert!(c.needs_recheck);
    assert_eq!(c.sql, "1");
}

#[test]
fn placeholders_can_start_later() {
    let f = parse(r#"userName eq "a" and title eq "b""#).expect("a filter");
    let c = Compiler::new(SqlDialect::Sqlite)
        .first_param(3)
        .compile(&f, &Users)
        .expect("compiles");
    assert!(
        c.sql.contains("?3") && c.sql.contains("?4") && !c.sql.contains("?1"),
        "{}",
        c.sql
    );
}

#[test]
fn invalid_filters_are_errors() {
    for text in [
        "active gt true",
        "loginCount co 1",
        r#"meta.created eq "yesterday""#,
        "nope pr",
        r#"manager.nope eq "x""#,
        r#"name eq "x""#,
    ] {
        let f = parse(text).expect("a filter");
        assert!(
            matches!(
                compile(&f, &Users, SqlDialect::Sqlite),
                Err(SqlError::Invalid(_))
            ),
            "{text}"
        );
    }
}

/// A mapping that hands out hostile names: they are refused, never emitted.
struct Hostile(&'static str, &'static str);

impl AttrSchema for Hostile {
    fn characteristics(
        &self,
        _: Option<&str>,
        _: &str,
        _: Option<&str>,
    ) -> Option<Characteristics> {
        Some(Characteristics {
            attr_type: AttrType::String,
            multi_valued: false,
            case_exact: false,
        })
    }
}

impl SqlMapping for Hostile {
    fn locate(&self, _: Option<&str>, _: &str, _: Option<&str>) -> Option<Location<'_>> {
        Some(Location::Json {
            column: Cow::Borrowed(self.0),
            path: vec![Cow::Borrowed(self.1)],
        })
    }
}

#[test]
fn hostile_names_are_refused() {
    let f = parse(r#"title eq "x""#).expect("a filter");
    for (column, member) in [
        ("data", "a'b"),
        ("data", "a\"b"),
        ("data", "a\\b"),
        ("data", "a\nb"),
        ("data", ""),
        ("data; DROP TABLE users", "title"),
        ("da'ta", "title"),
        ("1data", "title"),
    ] {
        assert!(
            matches!(
                compile(&f, &Hostile(column, member), SqlDialect::Sqlite),
                Err(SqlError::UnsafeName { .. })
            ),
            "{column} {member}"
        );
    }
    let ok = compile(
        &f,
        &Hostile("users.data", "urn:x:y:2.0:User"),
        SqlDialect::Sqlite,
    )
    .expect("compiles");
    assert!(
        ok.sql
            .contains("json_extract(users.data, '$.\"urn:x:y:2.0:User\"')"),
        "{}",
        ok.sql
    );
    // The grammar itself forbids quotes in names and URNs.
    for text in [r#"a'b eq "x""#, r#"urn:x'y:a eq "x""#, r#"a"b eq "x""#] {
        assert!(parse(text).is_err(), "{text}");
    }
}

/// The plan SQLite makes for a compiled clause.
fn plan(db: &Connection, compiled: &SqlFilter) -> String {
    let query = format!(
        "EXPLAIN QUERY PLAN SELECT id FROM users WHERE {}",
        compiled.sql
    );
    let mut stmt = db
        .prepare(&query)
        .unwrap_or_else(|e| panic!("{e}: {query}"));
    let rows = stmt
        .query_map(params_from_iter(compiled.params.iter().map(bind)), |r| {
            r.get::<_, String>(3)
        })
        .expect("a plan");
    rows.map(|r| r.expect("a plan row"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn dedicated_columns_use_their_index() {
    let db = database(&population(20));
    let c = sql_of(r#"userName eq "Élodie""#);
    let p = plan(&db, &c);
    assert!(
        p.contains("SEARCH users USING INDEX users_user_name"),
        "{p}"
    );
    let c = sql_of(r#"meta.created gt "2011-05-13T04:42:34Z" and title pr"#);
    let p = plan(&db, &c);
    assert!(p.contains("SEARCH users USING INDEX users_created"), "{p}");
    let c = sql_of(r#"id eq "u001""#);
    let p = plan(&db, &c);
    assert!(
        p.contains("SEARCH users USING COVERING INDEX sqlite_autoindex_users_1"),
        "{p}"
    );
    // A JSON attribute scans.
    let c = sql_of(r#"title eq "x""#);
    assert!(plan(&db, &c).contains("SCAN users"));
}

/// A mapping built from a function, for the mapping's own failure modes.
struct Mapped(fn(Option<&str>, &str, Option<&str>) -> Option<Location<'static>>);

impl AttrSchema for Mapped {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Characteristics> {
        Users.characteristics(urn, name, sub)
    }
}

impl SqlMapping for Mapped {
    fn locate(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<Location<'_>> {
        (self.0)(urn, name, sub)
    }
}

#[test]
fn what_the_mapping_cannot_locate_is_rechecked() {
    let users = population(120);
    let db = database(&users);
    // Nothing is located: every comparison is unknown.
    let nowhere = Mapped(|_, _, _| None);
    // The sub-attributes of `emails` in columns: not usable inside a value path.
    let columns = Mapped(|urn, name, sub| match sub {
        Some(_) if name.eq_ignore_ascii_case("emails") => Some(Location::Column {
            column: Cow::Borrowed("no_such_column"),
            form: ColumnForm::Text,
        }),
        _ => Users.locate(urn, name, sub),
    });
    for text in [
        r#"title eq "a" or not (userName sw "b")"#,
        r#"not (emails[type eq "work"]) and title pr"#,
        r#"emails[not (type eq "work")] or not (displayName ne null)"#,
        r#"not (emails[type eq "work" or value co "x"])"#,
    ] {
        let filter = parse(text).expect("a filter");
        for (i, mapping) in [&nowhere, &columns].into_iter().enumerate() {
            let compiled = compile(&filter, mapping, SqlDialect::Sqlite).expect("compiles");
            assert!(compiled.needs_recheck || i == 1, "{text}");
            // The rows SQL selects are a superset; after the recheck, exactly right.
            assert_eq!(
                select(&db, &compiled, &filter),
                expected(&users, &filter),
                "{text}\n{}",
                compiled.sql
            );
        }
    }
    let c = compile(
        &parse(r#"emails[type eq "work"]"#).expect("a filter"),
        &columns,
        SqlDialect::Sqlite,
    )
    .expect("compiles");
    assert!(c.needs_recheck);
    assert!(c.sql.ends_with(" AND 1))"), "{}", c.sql);
}

#[test]
fn mappings_that_contradict_the_schema_are_errors() {
    let multi_column = Mapped(|_, _, _| {
        Some(Location::Column {
            column: Cow::Borrowed("emails"),
            form: ColumnForm::Text,
        })
    });
    let wrong_form = Mapped(|_, _, _| {
        Some(Location::Column {
            column: Cow::Borrowed("x"),
            form: ColumnForm::Number,
        })
    });
    let no_parent = Mapped(|_, _, _| {
        Some(Location::Json {
            column: Cow::Borrowed("data"),
            path: vec![Cow::Borrowed("value")],
        })
    });
    for (mapping, text) in [
        (&multi_column, r#"emails.value eq "x""#),
        (&wrong_form, r#"title eq "x""#),
        (&no_parent, r#"emails.value eq "x""#),
    ] {
        let filter = parse(text).expect("a filter");
        assert!(
            matches!(
                compile(&filter, mapping, SqlDialect::Sqlite),
                Err(SqlError::Mapping { .. })
            ),
            "{text}"
        );
    }
}

#[test]
fn long_literals_avoid_the_like_pattern_limit() {
    let mut users = population(10);
    let long = "ab%".repeat(20_000);
    users[3]["title"] = json!(format!("x{}y", long.to_uppercase()));
    users[4]["title"] = json!(long[1..].to_owned());
    let db = database(&users);
    for op in ["co", "sw", "ew"] {
        let text = format!("title {op} {}", json!(long));
        let filter = parse(&text).expect("a filter");
        let compiled = compile(&filter, &Users, SqlDialect::Sqlite).expect("compiles");
        assert!(!compiled.sql.contains("LIKE"), "{op}");
        let want = expected(&users, &filter);
        assert_eq!(select(&db, &compiled, &filter), want, "{op}");
        assert_eq!(want.len(), usize::from(op == "co"), "{op}");
    }
}

/// A JSON value of nested arrays and objects down to `depth`, with empty and unassigned
/// leaves.
fn shape(rng: &mut Rng, depth: usize) -> Value {
    let leaf = |rng: &mut Rng| match rng.below(6) {
        0 => Value::Null,
        1 => json!(""),
        2 => json!("x"),
        3 => json!(0),
        4 => json!(false),
        _ => json!([]),
    };
    if depth == 0 || rng.chance(30) {
        return leaf(rng);
    }
    let n = rng.below(3);
    if rng.chance(50) {
        Value::Array((0..n).map(|_| shape(rng, depth - 1)).collect())
    } else {
        Value::Object(
            (0..n)
                .map(|i| (format!("k{i}"), shape(rng, depth - 1)))
                .collect(),
        )
    }
}

/// `pr` and `eq null` follow the evaluator's emptiness rules (null, "", [], {} and
/// containers of only those, looked into to a bounded depth) on any nesting.
#[test]
fn emptiness_on_any_nesting() {
    let mut rng = Rng(0xE111);
    let mut users = population(200);
    for u in &mut users {
        u["tags"] = Value::Array((0..rng.below(3)).map(|_| shape(&mut rng, 4)).collect());
        u["name"] = Value::Object(
            (0..rng.below(3))
                .map(|i| (format!("k{i}"), shape(&mut rng, 4)))
                .collect(),
        );
    }
    let db = database(&users);
    let mut outcomes = BTreeSet::new();
    for text in [
        "tags pr",
        "not (tags pr)",
        "tags eq null",
        "tags ne null",
        "name pr",
        "name eq null",
        "not (name ne null)",
        "tags pr and not (name pr)",
    ] {
        let filter = parse(text).expect("a filter");
        let compiled = compile(&filter, &Users, SqlDialect::Sqlite).expect("compiles");
        assert!(!compiled.needs_recheck, "{text}");
        let want = expected(&users, &filter);
        outcomes.insert(want.len());
        assert_eq!(
            select(&db, &compiled, &filter),
            want,
            "{text}\n{}",
            compiled.sql
        );
    }
    assert!(outcomes.len() > 4, "{outcomes:?}");
}
