//! Compiling a filter to a parameterised SQL `WHERE` clause (cargo feature `sql`).
//!
//! [`compile`] turns a [`Filter`] into a [`SqlFilter`]: the text of a boolean SQL expression,
//! the values bound to its placeholders ([`SqlValue`]), and whether the rows it selects must
//! be checked again in memory ([`SqlFilter::needs_recheck`]). The store describes where each
//! attribute lives through the [`SqlMapping`] trait: in a dedicated column ([`Location::Column`],
//! such as a `user_name_folded` column with an index), or inside a JSON document column
//! ([`Location::Json`]). The attribute characteristics come from the same trait, through
//! its supertrait [`AttrSchema`], so the compiled clause and [`Filter::matches_with`] read
//! the attributes alike.
//!
//! # Semantics
//!
//! The clause selects exactly the rows whose document [`Filter::matches_with`] matches with
//! the mapping as schema (see the evaluator's rules in [`Filter::matches`]), given that the
//! stored documents follow the mapping, as a store that validates what it writes ensures
//! (validation against the schema canonicalises names and turns the tolerated identity
//! provider forms, such as a single object for an array, into the schema's shape):
//!
//! - member names are in the case the mapping gives (the canonical case);
//! - an attribute the schema calls multi-valued is a JSON array (or absent or null); a
//!   single-valued attribute or sub-attribute is not an array;
//! - a dedicated column holds the attribute's value in the [`ColumnForm`] the mapping names,
//!   and SQL `NULL` exactly where the attribute is unassigned: only attributes whose stored
//!   values always have the schema's type (a string for a text column, an xsd:dateTime for a
//!   dateTime column, ...) get a column.
//!
//! Where the clause cannot say exactly, it says more: [`SqlFilter::needs_recheck`] is then
//! `true` and the clause selects a superset of the matching rows (at worst every row), which
//! the store must narrow with [`Filter::matches_with`]. The cases: an attribute the mapping
//! cannot locate ([`SqlMapping::locate`] gives `None`), a dedicated column inside a value
//! path, a case-exact comparison of a column that holds only the folded form, a string
//! literal containing U+0000, an integer literal beyond ±2^53, a multi-valued `value`
//! sub-attribute, and a value path whose attribute has a sub-attribute (which only a tree
//! built by hand can have). Such a piece becomes `1` where it stands positively and `0` under a
//! negation, or a wider comparison where one exists (the folded form of a case-exact test).
//!
//! Every piece of the clause is two-valued: it is `0` or `1`, never SQL `NULL`, whatever
//! the row holds, so `NOT` and `ne` over absent attributes behave as in memory, and the
//! clause may itself be negated or combined by the store.
//!
//! # The SQL emitted (SQLite)
//!
//! `and`, `or` and `not` become `(a AND b)`, `(a OR b)` and `NOT (a)`. A comparison of a
//! dedicated column is a direct test that keeps an index usable:
//!
//! - `userName eq "Bjensen"` over a [`ColumnForm::FoldedText`] column:
//!   `(user_name_folded IS NOT NULL AND user_name_folded = ?1)`, `?1` = `"bjensen"`;
//! - `meta.created gt "2011-05-13T04:42:34Z"` over a [`ColumnForm::DateTime`] column:
//!   `(created IS NOT NULL AND created > ?1)`, `?1` being the [`instant_key`] of the literal;
//! - `pr` is `col IS NOT NULL` (and `col <> ''` for text), `eq null` its negation.
//!
//! A comparison of an attribute inside a JSON document reads the value with
//! `json_extract(data, '$."title"')` and its type with `json_type(...)`; a multi-valued
//! attribute (or the elements of a value path) is read with
//! `EXISTS (SELECT 1 FROM json_each(data, '$."emails"') AS sf_e1 WHERE ...)`, conditions on
//! `sf_e1.value` and `sf_e1.type`. `ne` and `eq null` are `NOT EXISTS` / `NOT (...)` of the
//! positive form, as the evaluator defines them. Each test checks the JSON type first
//! (`json_type(...) IS 'text' AND ...`). Text compares through the fold function
//! ([`FOLD_FUNCTION`]) unless the attribute is `caseExact`: `scim_fold(v) = ?1`; `co`, `sw`
//! and `ew` are `scim_fold(v) LIKE ?1 ESCAPE '\'` with `%`, `_` and `\` in the folded literal
//! escaped; case-exact `co`, `sw`, `ew` use `instr` and `substr` (SQLite's `LIKE` ignores
//! ASCII case). Numbers compare numerically, booleans by JSON type (or the strings `"true"`
//! and `"false"`, in any case), dateTime values through the instant function
//! ([`INSTANT_FUNCTION`]). `pr` and `eq null` reproduce the evaluator's emptiness rules
//! (null, `""`, `[]`, `{}` and containers of only such values) with nested `json_each`.
//!
//! Values are never written into the SQL text: every literal is a bound parameter
//! (`?1`, `?2`, ... from [`Compiler::first_param`]). Names are: column names must be plain
//! identifiers (optionally qualified, `users.data`) and JSON member names are written
//! double-quoted in a JSON path; a name that could break out of either (a quote, a
//! backslash, a control character) is refused with [`SqlError::UnsafeName`] rather than
//! emitted. The filter grammar cannot produce such names; the check guards the mapping.
//! The clause's subqueries name their rows `sf_e1`, `sf_x2`, ... and read SQLite's
//! `json_each` columns; a store whose table has a column named like one of those (`key`,
//! `value`, `type`, `atom`, `id`, `parent`, `fullkey`, `path`, `json`, `root`) and used as a
//! JSON document column should give it qualified (`users.value`).
//!
//! # What the store provides (SQLite)
//!
//! Two deterministic scalar functions, implemented with this module's Rust code so that
//! SQL and memory agree to the character:
//!
//! - `scim_fold(x)` ([`FOLD_FUNCTION`]): [`fold`] of a text argument, `NULL` for anything else;
//! - `scim_instant(x)` ([`INSTANT_FUNCTION`]): [`instant_key`] of a text argument, `NULL` when
//!   it is not an xsd:dateTime or not text.
//!
//! Folded text columns hold [`fold`] of the value (so the `userName` uniqueness index is on
//! the same folding as the comparisons: SQLite's `lower()` and `NOCASE` fold ASCII only);
//! dateTime columns hold [`instant_key`], whose text order is the order of instants.
//!
//! # PostgreSQL
//!
//! [`SqlDialect::Postgres`] emits the same clause with PostgreSQL's constructs, for a
//! document column of type `jsonb`: a member is read with `(data) #>> '{"name","givenName"}'`
//! (text) and typed with [`PG_TYPE_FUNCTION`] (which names JSON types as SQLite does, so the
//! tests are shared); arrays and value paths iterate with [`PG_ITEMS_FUNCTION`] in
//! `EXISTS (SELECT 1 FROM scim_json_items(...) AS sf_e1(value) WHERE ...)`; booleans are
//! `TRUE`/`FALSE`; placeholders carry their type (`$1::text`, `$2::int8`, `$3::float8`,
//! `$4::boolean`); ordering comparisons of text use `COLLATE "C"` (code point order, as the
//! evaluator, whatever the database's locale). Caseless comparisons use `scim_fold`, which
//! [`postgres_functions`] generates from [`fold`] itself, so it agrees with Rust to the
//! character. PostgreSQL has no function for [`instant_key`]: a dateTime inside a document is
//! left to the recheck (a dedicated [`ColumnForm::DateTime`] column is compared in SQL).
//!
//! # Example
//!
//! ```
//! use std::borrow::Cow;
//! use scim_filter::sql::{ColumnForm, Location, SqlDialect, SqlMapping, SqlValue, compile};
//! use scim_filter::{AttrSchema, AttrType, Characteristics, parse};
//!
//! struct Users;
//! impl AttrSchema for Users {
//!     fn characteristics(&self, _: Option<&str>, name: &str, sub: Option<&str>) -> Option<Characteristics> {
//!         let (attr_type, multi_valued) = match (name.to_ascii_lowercase().as_str(), sub) {
//!             ("username", None) => (AttrType::String, false),
//!             ("emails", None) => (AttrType::Complex, true),
//!             ("emails", Some(_)) => (AttrType::String, false),
//!             _ => return None,
//!         };
//!         Some(Characteristics { attr_type, multi_valued, case_exact: false })
//!     }
//! }
//! impl SqlMapping for Users {
//!     fn locate(&self, _: Option<&str>, name: &str, sub: Option<&str>) -> Option<Location<'_>> {
//!         if name.eq_ignore_ascii_case("userName") {
//!             return Some(Location::Column { column: "user_name_folded".into(), form: ColumnForm::FoldedText });
//!         }
//!         let mut path = vec![Cow::Borrowed("emails")];
//!         path.extend(sub.map(|s| Cow::Owned(s.to_ascii_lowercase())));
//!         Some(Location::Json { column: "data".into(), path })
//!     }
//! }
//!
//! let f = parse(r#"userName eq "BJensen" or emails[type eq "work"]"#)?;
//! let sql = compile(&f, &Users, SqlDialect::Sqlite)?;
//! assert!(sql.sql.starts_with("((user_name_folded IS NOT NULL AND user_name_folded = ?1) OR EXISTS (SELECT 1 FROM json_each(data, '$.\"emails\"') AS sf_e1 WHERE"));
//! assert_eq!(sql.params, [SqlValue::Text("bjensen".into()), SqlValue::Text("work".into())]);
//! assert!(!sql.needs_recheck);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

use jiff::tz::Offset;

use crate::ast::{AttrPath, CompValue, CompareOp, Comparison, Filter, FilterRef, Node as FNode};
use crate::eval::{AttrSchema, AttrType, Characteristics, EvalError};

/// The name of the SQL function that folds text for caseless comparison: the store
/// registers it as a deterministic scalar function computing [`fold`] of a text argument
/// (and `NULL` for any other argument).
pub const FOLD_FUNCTION: &str = "scim_fold";

/// The name of the SQL function that reads an xsd:dateTime: the store registers it as a
/// deterministic scalar function computing [`instant_key`] of a text argument (`NULL` when
/// that is `None`, or for any other argument).
pub const INSTANT_FUNCTION: &str = "scim_instant";

/// The name of the PostgreSQL function that names the JSON type of a `jsonb` value the way
/// SQLite's `json_type` does (`'text'`, `'number'`, `'true'`, `'false'`, `'null'`,
/// `'array'`, `'object'`; `NULL` for SQL `NULL`). Created by [`postgres_functions`].
pub const PG_TYPE_FUNCTION: &str = "scim_json_type";

/// The name of the PostgreSQL set-returning function that yields the items of a `jsonb`
/// array, the member values of an object, or a scalar itself (nothing for SQL `NULL`), as
/// SQLite's `json_each` does. Created by [`postgres_functions`].
pub const PG_ITEMS_FUNCTION: &str = "scim_json_items";

/// The SQL that creates (or replaces) the functions a PostgreSQL database needs for
/// [`SqlDialect::Postgres`] clauses: [`FOLD_FUNCTION`], [`PG_TYPE_FUNCTION`] and
/// [`PG_ITEMS_FUNCTION`], all `IMMUTABLE`, `PARALLEL SAFE` and not `STRICT` (so that PostgreSQL inlines them into the queries; each gives `NULL` or no rows for `NULL`).
///
/// `scim_fold(text)` computes [`fold`] exactly: it is generated from the same Unicode
/// lowercase mapping [`fold`] uses (a `translate` over every character whose lowercase is
/// one other character, `replace` for the few whose lowercase is longer), so folded text
/// in the database and in Rust agree to the character. Run it at start, in the migration's
/// transaction, so that the function always matches the running program. The text is
/// generated from Unicode tables, never from input.
pub fn postgres_functions() -> String {
    let mut from = String::new();
    let mut to = String::new();
    let mut longer: Vec<(char, String)> = Vec::new();
    for c in (0..=0x10_FFFF_u32).filter_map(char::from_u32) {
        let lower: String = crate::eval::fold(c.encode_utf8(&mut [0; 4]));
        let mut chars = lower.chars();
        match (chars.next(), chars.next()) {
            (Some(l), None) if l == c => {}
            (Some(l), None) => {
                from.push(c);
                to.push(l);
            }
            _ => longer.push((c, lower)),
        }
    }
    // Characters mapped to more than one are replaced first; what they become (lowercase
    // letters and combining marks) is left alone by the translation.
    let mut unicode = String::from("$1");
    for (c, lower) in &longer {
        unicode = format!("replace({unicode}, '{c}', '{lower}')");
    }
    format!(
        "CREATE OR REPLACE FUNCTION {FOLD_FUNCTION}(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $scim$
  SELECT CASE WHEN octet_length($1) = length($1)
    THEN translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    ELSE translate({unicode}, '{from}', '{to}') END
$scim$;
CREATE OR REPLACE FUNCTION {PG_TYPE_FUNCTION}(jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $scim$
  SELECT CASE jsonb_typeof($1) WHEN 'string' THEN 'text'
    WHEN 'boolean' THEN $1 #>> '{{}}' ELSE jsonb_typeof($1) END
$scim$;
CREATE OR REPLACE FUNCTION {PG_ITEMS_FUNCTION}(jsonb) RETURNS SETOF jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $scim$
  SELECT e FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1) = 'array' THEN $1 END) AS e
  UNION ALL
  SELECT o.value FROM jsonb_each(CASE WHEN jsonb_typeof($1) = 'object' THEN $1 END) AS o
  UNION ALL
  SELECT $1 WHERE jsonb_typeof($1) NOT IN ('array', 'object')
$scim$;
"
    )
}

/// The SQL dialect to emit.
///
/// The compiler keeps everything dialect-specific (JSON member access, iteration over JSON
/// arrays, placeholders, booleans, the text functions) in one place; the translation of the
/// filter's semantics is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SqlDialect {
    /// SQLite (JSON functions built in since 3.38): `json_extract`, `json_type`,
    /// `json_each`; placeholders `?1`, `?2`, ...; the store registers [`FOLD_FUNCTION`] and
    /// [`INSTANT_FUNCTION`].
    #[default]
    Sqlite,
    /// PostgreSQL with JSON documents in `jsonb` columns: `#>` and `#>>`, typed placeholders
    /// `$1::text`, `$2::int8`, ...; the store creates the functions of
    /// [`postgres_functions`].
    Postgres,
}

/// How a dedicated column holds an attribute's value. The column is SQL `NULL` exactly where
/// the attribute is unassigned (absent or null), so only attributes whose stored values
/// always have the column's type can have one. Text columns keep SQLite's default `BINARY`
/// collation (byte order is the evaluator's order; `NOCASE` would fold ASCII only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnForm {
    /// The string as stored (for `caseExact` attributes such as `id` and `externalId`;
    /// caseless comparisons fold it with [`FOLD_FUNCTION`] at query time).
    Text,
    /// [`fold`] of the string: caseless comparisons become plain `=` and `LIKE` on the
    /// column, so an index on it serves `userName eq "..."`.
    FoldedText,
    /// A JSON number as an SQL `INTEGER` or `REAL`.
    Number,
    /// A boolean as `0` or `1` (the strings `"true"` and `"false"`, in any case, count as the
    /// booleans they name, as the evaluator reads them).
    Boolean,
    /// [`instant_key`] of an xsd:dateTime string.
    DateTime,
}

/// Where an attribute's value is stored, as [`SqlMapping::locate`] describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location<'m> {
    /// A dedicated column holding the single value of a single-valued, non-complex
    /// attribute (or sub-attribute of a single-valued complex attribute).
    Column {
        /// The column name, optionally qualified (`users.created`). Names that are not
        /// plain SQL identifiers are refused.
        column: Cow<'m, str>,
        /// How the column holds the value.
        form: ColumnForm,
    },
    /// A member inside a JSON document column.
    Json {
        /// The column holding the JSON document (one object per resource).
        column: Cow<'m, str>,
        /// The member names from the document's root to the attribute, in the stored
        /// (canonical) case: `["emails"]`, `["name", "givenName"]`,
        /// `["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager"]`. For a
        /// sub-attribute, the path to the parent attribute followed by the sub-attribute's
        /// name (`["emails", "value"]`), also when the parent is multi-valued: the last
        /// name is then looked up in each element.
        path: Vec<Cow<'m, str>>,
    },
}

/// Where a store keeps each attribute, and (through [`AttrSchema`]) its characteristics.
pub trait SqlMapping: AttrSchema {
    /// Where `urn:name.sub_attr` is stored (names as written in the filter, to be matched
    /// case-insensitively), or `None` if it cannot be queried in SQL, in which case the
    /// compiled clause is widened and marked for recheck.
    ///
    /// Inside a value path (`emails[type eq "work"]`) the compiler asks for the value
    /// path's attribute with the condition's attribute as `sub_attr`.
    fn locate(&self, urn: Option<&str>, name: &str, sub_attr: Option<&str>)
    -> Option<Location<'_>>;
}

/// A value bound to a placeholder of the compiled clause.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SqlValue {
    /// Text (literals, folded literals, `LIKE` patterns, instant keys).
    Text(String),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// A boolean (SQLite stores it as `0` or `1`).
    Bool(bool),
}

/// A compiled filter: a boolean SQL expression for a `WHERE` clause, and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    /// The expression, fully parenthesised, two-valued (never `NULL`).
    pub sql: String,
    /// The values of the placeholders, in order: `params[i]` binds placeholder
    /// `first_param + i`.
    pub params: Vec<SqlValue>,
    /// Whether the expression selects a superset of the matching rows, so that each row it
    /// selects must be checked with [`Filter::matches_with`].
    pub needs_recheck: bool,
}

/// Why a filter could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The filter is not valid for the schema (what [`Filter::check`] reports); a service
    /// answers 400 `invalidFilter`.
    #[error(transparent)]
    Invalid(#[from] EvalError),
    /// A column or JSON member name from the mapping could break out of its quoting.
    #[error("name unsafe to put in SQL: {name:?}")]
    UnsafeName {
        /// The name.
        name: String,
    },
    /// The mapping contradicts the schema (a column for a multi-valued or complex
    /// attribute, a column form that does not fit the type, an empty JSON path).
    #[error("the SQL mapping of `{attr}` does not fit its schema: {reason}")]
    Mapping {
        /// The attribute path as written.
        attr: String,
        /// What is wrong.
        reason: &'static str,
    },
}

pub use crate::eval::fold;

/// The instant an xsd:dateTime names (RFC 7643 §2.3.5, read as the evaluator reads it),
/// as text whose byte order is the order of instants: UTC, nanoseconds,
/// `2011-05-13T04:42:34.000000000Z`. `None` if `s` is not an xsd:dateTime.
pub fn instant_key(s: &str) -> Option<String> {
    let ts = crate::eval::datetime::parse(s)?;
    let dt = Offset::UTC.to_datetime(ts);
    let year = i32::from(dt.year());
    let sign = if year < 0 { "-" } else { "" };
    Some(format!(
        "{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        year.unsigned_abs(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond()
    ))
}

/// Compiles `filter` for `mapping` in `dialect`, placeholders numbered from 1.
///
/// The filter is checked against the mapping's schema first ([`Filter::check`]).
pub fn compile<M: SqlMapping + ?Sized>(
    filter: &Filter<'_>,
    mapping: &M,
    dialect: SqlDialect,
) -> Result<SqlFilter, SqlError> {
    Compiler::new(dialect).compile(filter, mapping)
}

/// The compiler's options: the dialect, and the number of the first placeholder (for a
/// clause appended to a query that binds parameters of its own, such as a tenant id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compiler {
    dialect: SqlDialect,
    first_param: usize,
}

impl Compiler {
    /// A compiler for `dialect` numbering placeholders from 1.
    pub fn new(dialect: SqlDialect) -> Self {
        Compiler {
            dialect,
            first_param: 1,
        }
    }

    /// Numbers placeholders from `n` (at least 1).
    pub fn first_param(mut self, n: usize) -> Self {
        self.first_param = n.max(1);
        self
    }

    /// Compiles `filter` for `mapping` (see [`compile`]).
    pub fn compile<M: SqlMapping + ?Sized>(
        &self,
        filter: &Filter<'_>,
        mapping: &M,
    ) -> Result<SqlFilter, SqlError> {
        filter.check(mapping)?;
        let mut emit = Emit {
            mapping,
            dialect: self.dialect,
            first_param: self.first_param,
            sql: String::with_capacity(64),
            params: Vec::new(),
            recheck: false,
            aliases: 0,
        };
        emit.filter(filter.as_ref(), &Scope::Root, true)?;
        Ok(SqlFilter {
            sql: emit.sql,
            params: emit.params,
            needs_recheck: emit.recheck,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Internals.

/// Integers whose conversion to `f64` is exact: the evaluator compares an integer literal
/// with a decimal value as `f64`, SQLite exactly; they agree within this range.
const EXACT_F64_INT: i128 = 1 << 53;

/// SQLite's default limit on a `LIKE` pattern's length in bytes; longer patterns use
/// `instr` / `substr`.
const MAX_LIKE_PATTERN: usize = 50_000;

/// The JSON types the tests tell apart.
#[derive(Debug, Clone, Copy)]
enum JsonKind {
    Text,
    Number,
    True,
    False,
    Object,
    Array,
    /// A number or a boolean.
    Scalar,
    /// An array or an object.
    Container,
}

/// Everything that differs between dialects: each method writes one construct, and the
/// compiler composes them. The expressions for JSON values come in pairs: the value (text
/// for strings, a number for numbers) and its type, which [`SqlDialect::is_kind`] tests.
/// The PostgreSQL forms name the type as SQLite's `json_type` does (through
/// [`PG_TYPE_FUNCTION`]), so one set of tests serves both.
impl SqlDialect {
    /// The placeholder of parameter `n` (1-based) bound to `v`. PostgreSQL's placeholders
    /// carry their type, so that a parameter never takes its type from its context.
    fn placeholder(self, n: usize, v: &SqlValue) -> String {
        match self {
            SqlDialect::Sqlite => format!("?{n}"),
            SqlDialect::Postgres => {
                let ty = match v {
                    SqlValue::Text(_) => "text",
                    SqlValue::Integer(_) => "int8",
                    SqlValue::Real(_) => "float8",
                    SqlValue::Bool(_) => "boolean",
                };
                format!("${n}::{ty}")
            }
        }
    }

    /// A boolean constant.
    fn truth(self, b: bool) -> &'static str {
        match (self, b) {
            (SqlDialect::Sqlite, true) => "1",
            (SqlDialect::Sqlite, false) => "0",
            (SqlDialect::Postgres, true) => "TRUE",
            (SqlDialect::Postgres, false) => "FALSE",
        }
    }

    /// A JSON path to the member `path` of a document, as an SQL string literal. The names
    /// are checked by [`checked_member`].
    fn json_path(self, path: &[String]) -> String {
        let mut out = String::new();
        match self {
            SqlDialect::Sqlite => {
                out.push_str("'$");
                for name in path {
                    out.push_str(".\"");
                    out.push_str(name);
                    out.push('"');
                }
                out.push('\'');
            }
            SqlDialect::Postgres => {
                // A text array literal of double-quoted names.
                out.push_str("'{");
                for (i, name) in path.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(name);
                    out.push('"');
                }
                out.push_str("}'");
            }
        }
        out
    }

    /// The value of the member at `path` in the JSON document `doc` (`NULL` if absent).
    fn doc_value(self, doc: &str, path: &[String]) -> String {
        match self {
            SqlDialect::Sqlite => format!("json_extract({doc}, {})", self.json_path(path)),
            SqlDialect::Postgres => format!("(({doc}) #>> {})", self.json_path(path)),
        }
    }

    /// The JSON type of the member at `path` in `doc` (`NULL` if absent).
    fn doc_type(self, doc: &str, path: &[String]) -> String {
        match self {
            SqlDialect::Sqlite => format!("json_type({doc}, {})", self.json_path(path)),
            SqlDialect::Postgres => {
                format!("{PG_TYPE_FUNCTION}(({doc}) #> {})", self.json_path(path))
            }
        }
    }

    /// A table-valued source over the items of the array (or members of the object) at
    /// `path` in `doc`; a scalar there yields itself, an absent member nothing.
    fn doc_items(self, doc: &str, path: &[String]) -> String {
        match self {
            SqlDialect::Sqlite => format!("json_each({doc}, {})", self.json_path(path)),
            SqlDialect::Postgres => {
                format!("{PG_ITEMS_FUNCTION}(({doc}) #> {})", self.json_path(path))
            }
        }
    }

    /// A source named `alias` in a `FROM` list.
    fn source(self, source: &str, alias: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("{source} AS {alias}"),
            SqlDialect::Postgres => format!("{source} AS {alias}(value)"),
        }
    }

    /// A row of an items source named `alias`, as a JSON document (SQLite: its value, JSON
    /// text for a container).
    fn item_json(self, alias: &str) -> String {
        format!("{alias}.value")
    }

    /// The value of a row of an items source named `alias`.
    fn item_value(self, alias: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("{alias}.value"),
            SqlDialect::Postgres => format!("({alias}.value #>> '{{}}')"),
        }
    }

    /// The JSON type of a row of an items source.
    fn item_type(self, alias: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("{alias}.type"),
            SqlDialect::Postgres => format!("{PG_TYPE_FUNCTION}({alias}.value)"),
        }
    }

    /// A row's value as a JSON document when it is an object, else `NULL`.
    fn item_object(self, alias: &str) -> String {
        let is_object = self.is_kind(&self.item_type(alias), JsonKind::Object);
        format!("CASE WHEN {is_object} THEN {} END", self.item_json(alias))
    }

    /// A source over the items of a row's value when it is a container (else no rows).
    fn item_items(self, alias: &str) -> String {
        let is_container = self.is_kind(&self.item_type(alias), JsonKind::Container);
        let items = match self {
            SqlDialect::Sqlite => "json_each",
            SqlDialect::Postgres => PG_ITEMS_FUNCTION,
        };
        format!(
            "{items}(CASE WHEN {is_container} THEN {} END)",
            self.item_json(alias)
        )
    }

    /// Whether the type expression `ty` is of `kind`: `0` or `1`, also when `ty` is `NULL`.
    fn is_kind(self, ty: &str, kind: JsonKind) -> String {
        let names: &[&str] = match kind {
            JsonKind::Text => &["text"],
            JsonKind::True => &["true"],
            JsonKind::False => &["false"],
            JsonKind::Object => &["object"],
            JsonKind::Array => &["array"],
            JsonKind::Number => match self {
                SqlDialect::Sqlite => &["integer", "real"],
                SqlDialect::Postgres => &["number"],
            },
            JsonKind::Scalar => match self {
                SqlDialect::Sqlite => &["integer", "real", "true", "false"],
                SqlDialect::Postgres => &["number", "true", "false"],
            },
            JsonKind::Container => &["array", "object"],
        };
        match self {
            SqlDialect::Sqlite => {
                let tests: Vec<String> = names.iter().map(|n| format!("{ty} IS '{n}'")).collect();
                if tests.len() == 1 {
                    tests.join("")
                } else {
                    format!("({})", tests.join(" OR "))
                }
            }
            SqlDialect::Postgres => {
                let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                format!("COALESCE({ty} IN ({}), FALSE)", list.join(", "))
            }
        }
    }

    /// `x` folded with [`fold`] (the function the store registers).
    fn fold(self, x: &str) -> String {
        format!("{FOLD_FUNCTION}({x})")
    }

    /// The [`instant_key`] of `x`, when the dialect has a function for it (SQLite: the
    /// function the store registers; PostgreSQL: none, so a dateTime inside a document is
    /// checked in memory).
    fn instant(self, x: &str) -> Option<String> {
        match self {
            SqlDialect::Sqlite => Some(format!("{INSTANT_FUNCTION}({x})")),
            SqlDialect::Postgres => None,
        }
    }

    /// `x` with ASCII letters lowercased (only), as `eq_ignore_ascii_case` compares.
    fn ascii_lower(self, x: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("lower({x})"),
            // `lower()` follows the database's locale; only ASCII is wanted.
            SqlDialect::Postgres => format!(
                "translate({x}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
            ),
        }
    }

    /// The number a JSON value `v` of type `ty` holds (`NULL` unless it is a number).
    fn number(self, v: &str, ty: &str) -> String {
        match self {
            SqlDialect::Sqlite => v.to_owned(),
            SqlDialect::Postgres => format!(
                "(CASE WHEN {} THEN ({v})::numeric END)",
                self.is_kind(ty, JsonKind::Number)
            ),
        }
    }

    /// A number as a floating-point value.
    fn as_real(self, x: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("CAST({x} AS REAL)"),
            SqlDialect::Postgres => format!("({x})::float8"),
        }
    }

    /// `a <op> b` for text, ordered by code point (PostgreSQL: the `C` collation, byte
    /// order of UTF-8, whatever the database's locale).
    fn text_cmp(self, a: &str, op: CompareOp, b: &str) -> String {
        match self {
            SqlDialect::Postgres if op.is_ordering() => {
                format!("{a} COLLATE \"C\" {} {b}", sql_op(op))
            }
            _ => format!("{a} {} {b}", sql_op(op)),
        }
    }

    /// `hay` matches the `LIKE` pattern `p` with `\` as the escape character. Only used on
    /// folded text, so a dialect whose `LIKE` ignores ASCII case gives the same answer.
    fn like(self, hay: &str, p: &str) -> String {
        format!("{hay} LIKE {p} ESCAPE '\\'")
    }

    /// Case-exact substring tests (SQLite's `LIKE` ignores ASCII case).
    fn contains(self, hay: &str, p: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("instr({hay}, {p}) > 0"),
            SqlDialect::Postgres => format!("strpos({hay}, {p}) > 0"),
        }
    }

    fn starts_with(self, hay: &str, p: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("substr({hay}, 1, length({p})) = {p}"),
            SqlDialect::Postgres => format!("left({hay}, length({p})) = {p}"),
        }
    }

    fn ends_with(self, hay: &str, p: &str) -> String {
        match self {
            SqlDialect::Sqlite => format!("substr({hay}, -length({p})) = {p}"),
            SqlDialect::Postgres => format!("right({hay}, length({p})) = {p}"),
        }
    }
}

/// Where names in a comparison are resolved.
enum Scope<'f> {
    Root,
    /// Inside a value path over `parent`, whose current element is `node`.
    Element {
        parent: &'f AttrPath<'f>,
        node: Node,
    },
}

/// A JSON value in SQL: expressions for its SQL value and its JSON type (`'text'`,
/// `'integer'`, `'real'`, `'true'`, `'false'`, `'null'`, `'array'`, `'object'`, or `NULL`
/// when absent), and how to reach further into it.
#[derive(Clone)]
struct Node {
    val: String,
    ty: String,
    /// A table-valued source iterating its items or members, when it is a container.
    each: Option<String>,
    /// How to name a member of it.
    base: Base,
}

#[derive(Clone)]
enum Base {
    /// The member at a JSON path in a document expression.
    Doc { doc: String, path: Vec<String> },
    /// A row of `json_each` under an alias.
    Elem(String),
    /// Computed (a `CASE`): no further members.
    Derived,
}

/// The values a comparison tests: a column, or JSON values enumerated by `from`
/// (table-valued sources, empty for a single value).
enum Values {
    Column { column: String, form: ColumnForm },
    Json { from: Vec<String>, node: Node },
}

/// What one comparison tests on each value (the evaluator's plan, re-derived).
enum Test<'f> {
    Text {
        lit: &'f str,
        case_exact: bool,
    },
    Bool(bool),
    Int(i64),
    Real(f64),
    Instant(String),
    /// Not expressible exactly (an integer literal beyond ±2^53).
    Unknown,
}

struct Emit<'m, M: ?Sized> {
    mapping: &'m M,
    dialect: SqlDialect,
    first_param: usize,
    sql: String,
    params: Vec<SqlValue>,
    recheck: bool,
    aliases: usize,
}

impl<M: SqlMapping + ?Sized> Emit<'_, M> {
    /// Emits `f`. `pos` says whether `f` stands positively (under an even number of
    /// negations): an approximation must then be wider than `f`, else narrower.
    fn filter<'f>(
        &mut self,
        f: FilterRef<'f, 'f>,
        scope: &Scope<'f>,
        pos: bool,
    ) -> Result<(), SqlError> {
        let node = f.node();
        match node {
            FNode::Compare(cmp) => self.compare(cmp, scope, pos),
            FNode::Present(path) => self.present(path, scope, pos),
            FNode::Not(inner) => {
                self.sql.push_str("NOT (");
                self.filter(inner, scope, !pos)?;
                self.sql.push(')');
                Ok(())
            }
            FNode::And(fs) | FNode::Or(fs) => {
                let joiner = if matches!(node, FNode::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.sql.push('(');
                for (i, f) in fs.enumerate() {
                    if i > 0 {
                        self.sql.push_str(joiner);
                    }
                    self.filter(f, scope, pos)?;
                }
                self.sql.push(')');
                Ok(())
            }
            FNode::ValuePath(attr, inner) => self.value_path(attr, inner, scope, pos),
        }
    }

    /// An unknown piece: true where it stands positively, false under a negation.
    fn unknown(&mut self, pos: bool) {
        self.recheck = true;
        self.sql.push_str(self.dialect.truth(pos));
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("sf_{prefix}{}", self.aliases)
    }

    fn param(&mut self, v: SqlValue) -> String {
        let n = self.first_param + self.params.len();
        let p = self.dialect.placeholder(n, &v);
        self.params.push(v);
        p
    }

    fn chars(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
        attr: &dyn Fn() -> String,
    ) -> Result<Characteristics, SqlError> {
        self.mapping
            .characteristics(urn, name, sub)
            .ok_or_else(|| SqlError::Invalid(EvalError::UnknownAttribute { attr: attr() }))
    }

    // ---- Values. ----

    /// The values `attr` names in `scope`, or `None` if the mapping cannot locate them.
    fn values(
        &mut self,
        attr: &AttrPath<'_>,
        scope: &Scope<'_>,
    ) -> Result<Option<Values>, SqlError> {
        let shown = || crate::eval::render(scope_parent(scope), attr);
        match scope {
            Scope::Element { parent, node } => {
                let chars = self.chars(parent.urn(), parent.name(), Some(attr.name()), &shown)?;
                let Some(loc) = self
                    .mapping
                    .locate(parent.urn(), parent.name(), Some(attr.name()))
                else {
                    return Ok(None);
                };
                let key = match loc {
                    Location::Column { .. } => return Ok(None),
                    Location::Json { path, .. } => match path.last() {
                        Some(k) => checked_member(k)?.to_owned(),
                        None => return Err(mapping_error(&shown(), "empty JSON path")),
                    },
                };
                let mut from = Vec::new();
                let Some(node) = self.sub_value(node, &key, attr.name()) else {
                    return Ok(None);
                };
                let node = if chars.multi_valued {
                    match self.each(&node, &mut from) {
                        Some(n) => n,
                        None => return Ok(None),
                    }
                } else {
                    node
                };
                Ok(Some(Values::Json { from, node }))
            }
            Scope::Root => {
                let urn = attr.urn();
                let sub = attr.sub_attr();
                let top = self.chars(urn, attr.name(), None, &shown)?;
                let own = match sub {
                    None => top,
                    Some(s) => self.chars(urn, attr.name(), Some(s), &shown)?,
                };
                let Some(loc) = self.mapping.locate(urn, attr.name(), sub) else {
                    return Ok(None);
                };
                match loc {
                    Location::Column { column, form } => {
                        if top.multi_valued || own.multi_valued {
                            return Err(mapping_error(
                                &shown(),
                                "a column for a multi-valued attribute",
                            ));
                        }
                        if !form_fits(form, own.attr_type) {
                            return Err(mapping_error(
                                &shown(),
                                "the column form does not fit the attribute's type",
                            ));
                        }
                        Ok(Some(Values::Column {
                            column: checked_column(&column)?.to_owned(),
                            form,
                        }))
                    }
                    Location::Json { column, path } => {
                        let column = checked_column(&column)?;
                        let mut from = Vec::new();
                        let (parent_path, key) = match sub {
                            None => (&path[..], None),
                            Some(_) => match path.split_last() {
                                Some((k, rest)) if !rest.is_empty() => (rest, Some(k)),
                                _ => {
                                    return Err(mapping_error(
                                        &shown(),
                                        "a sub-attribute's JSON path needs the parent's",
                                    ));
                                }
                            },
                        };
                        if parent_path.is_empty() {
                            return Err(mapping_error(&shown(), "empty JSON path"));
                        }
                        let mut json_path = Vec::with_capacity(parent_path.len() + 1);
                        for seg in parent_path {
                            json_path.push(checked_member(seg)?.to_owned());
                        }
                        let node = self.doc_node(column.to_owned(), json_path);
                        let node = if top.multi_valued {
                            match self.each(&node, &mut from) {
                                Some(n) => n,
                                None => return Ok(None),
                            }
                        } else {
                            node
                        };
                        let node = match (key, sub) {
                            (Some(key), Some(sub)) => {
                                let Some(n) = self.sub_value(&node, checked_member(key)?, sub)
                                else {
                                    return Ok(None);
                                };
                                if own.multi_valued {
                                    match self.each(&n, &mut from) {
                                        Some(n) => n,
                                        None => return Ok(None),
                                    }
                                } else {
                                    n
                                }
                            }
                            _ => node,
                        };
                        Ok(Some(Values::Json { from, node }))
                    }
                }
            }
        }
    }

    fn doc_node(&self, doc: String, path: Vec<String>) -> Node {
        let d = self.dialect;
        Node {
            val: d.doc_value(&doc, &path),
            ty: d.doc_type(&doc, &path),
            each: Some(d.doc_items(&doc, &path)),
            base: Base::Doc { doc, path },
        }
    }

    fn elem_node(&self, alias: String) -> Node {
        let d = self.dialect;
        Node {
            val: d.item_value(&alias),
            ty: d.item_type(&alias),
            each: Some(d.item_items(&alias)),
            base: Base::Elem(alias),
        }
    }

    /// The member `key` of `node` (when it is an object).
    fn member(&self, node: &Node, key: &str) -> Option<Node> {
        match &node.base {
            Base::Doc { doc, path } => {
                let mut path = path.clone();
                path.push(key.to_owned());
                Some(self.doc_node(doc.clone(), path))
            }
            Base::Elem(alias) => {
                let doc = self.dialect.item_object(alias);
                Some(self.doc_node(doc, vec![key.to_owned()]))
            }
            Base::Derived => None,
        }
    }

    /// The evaluator's `sub_value`: the member `key` of an object; for the sub-attribute
    /// `value`, a simple (non-null, non-array) value stands for itself.
    fn sub_value(&self, node: &Node, key: &str, written: &str) -> Option<Node> {
        let member = self.member(node, key)?;
        if !written.eq_ignore_ascii_case("value") {
            return Some(member);
        }
        let object = self.dialect.is_kind(&node.ty, JsonKind::Object);
        let array = self.dialect.is_kind(&node.ty, JsonKind::Array);
        Some(Node {
            val: format!(
                "CASE WHEN {object} THEN {} WHEN {array} THEN NULL ELSE {} END",
                member.val, node.val
            ),
            ty: format!(
                "CASE WHEN {object} THEN {} WHEN {array} THEN NULL ELSE {} END",
                member.ty, node.ty
            ),
            // A container here can only be the member of an object.
            each: member.each,
            base: Base::Derived,
        })
    }

    /// What a complex value stands for in a comparison: its `value` member, or itself.
    fn comparable(&self, node: &Node) -> Option<Node> {
        let member = self.member(node, "value")?;
        let object = self.dialect.is_kind(&node.ty, JsonKind::Object);
        Some(Node {
            val: format!(
                "CASE WHEN {object} THEN {} ELSE {} END",
                member.val, node.val
            ),
            ty: format!("CASE WHEN {object} THEN {} ELSE {} END", member.ty, node.ty),
            each: None,
            base: Base::Derived,
        })
    }

    /// Iterates the items of `node` (an array; a scalar yields itself), adding the source to
    /// `from`.
    fn each(&mut self, node: &Node, from: &mut Vec<String>) -> Option<Node> {
        let source = node.each.clone()?;
        let alias = self.alias("e");
        from.push(self.dialect.source(&source, &alias));
        Some(self.elem_node(alias))
    }

    // ---- Filters. ----

    fn value_path<'f>(
        &mut self,
        attr: &'f AttrPath<'f>,
        filter: FilterRef<'f, 'f>,
        scope: &Scope<'f>,
        pos: bool,
    ) -> Result<(), SqlError> {
        let shown = || crate::eval::render(scope_parent(scope), attr);
        if !matches!(scope, Scope::Root) {
            return Err(SqlError::Invalid(EvalError::UnknownAttribute {
                attr: shown(),
            }));
        }
        let chars = self.chars(attr.urn(), attr.name(), None, &shown)?;
        if attr.sub_attr().is_some() {
            // The grammar puts no sub-attribute before `[`; a tree built by hand may.
            self.unknown(pos);
            return Ok(());
        }
        let loc = self.mapping.locate(attr.urn(), attr.name(), None);
        let (column, path) = match loc {
            Some(Location::Json { column, path }) if !path.is_empty() => (column, path),
            Some(Location::Json { .. }) => return Err(mapping_error(&shown(), "empty JSON path")),
            _ => {
                self.unknown(pos);
                return Ok(());
            }
        };
        let column = checked_column(&column)?.to_owned();
        let mut json_path = Vec::with_capacity(path.len());
        for seg in &path {
            json_path.push(checked_member(seg)?.to_owned());
        }
        let node = self.doc_node(column, json_path);
        let mut from = Vec::new();
        let node = if chars.multi_valued {
            match self.each(&node, &mut from) {
                Some(n) => n,
                None => {
                    self.unknown(pos);
                    return Ok(());
                }
            }
        } else {
            node
        };
        let open = self.open(&from);
        self.sql.push('(');
        self.nonempty(&node, false);
        self.sql.push_str(" AND ");
        let inner = Scope::Element { parent: attr, node };
        self.filter(filter, &inner, pos)?;
        self.sql.push(')');
        self.close(open);
        Ok(())
    }

    /// Opens `EXISTS (SELECT 1 FROM ... WHERE ` if there are sources; returns whether it did.
    fn open(&mut self, from: &[String]) -> bool {
        if from.is_empty() {
            return false;
        }
        self.sql.push_str("EXISTS (SELECT 1 FROM ");
        self.sql.push_str(&from.join(", "));
        self.sql.push_str(" WHERE ");
        true
    }

    fn close(&mut self, opened: bool) {
        if opened {
            self.sql.push(')');
        }
    }

    fn present<'f>(
        &mut self,
        path: &'f AttrPath<'f>,
        scope: &Scope<'f>,
        pos: bool,
    ) -> Result<(), SqlError> {
        match self.values(path, scope)? {
            None => self.unknown(pos),
            Some(Values::Column { column, form }) => {
                if matches!(form, ColumnForm::Text | ColumnForm::FoldedText) {
                    let _ = write!(self.sql, "({column} IS NOT NULL AND {column} <> '')");
                } else {
                    let _ = write!(self.sql, "({column} IS NOT NULL)");
                }
            }
            Some(Values::Json { from, node }) => {
                let open = self.open(&from);
                self.nonempty(&node, true);
                self.close(open);
            }
        }
        Ok(())
    }

    /// The evaluator's `has_value` (`strings` false) or `is_present` (`strings` true) of one
    /// value: two levels of containers are looked into, then a container counts if non-empty.
    fn nonempty(&mut self, node: &Node, strings: bool) {
        self.nonempty_at(&node.val, &node.ty, node.each.as_deref(), strings, 2);
    }

    fn nonempty_at(&mut self, val: &str, ty: &str, each: Option<&str>, strings: bool, depth: u8) {
        let d = self.dialect;
        let _ = write!(
            self.sql,
            "CASE WHEN {} THEN ",
            d.is_kind(ty, JsonKind::Text)
        );
        if strings {
            let _ = write!(self.sql, "{val} <> ''");
        } else {
            self.sql.push_str(d.truth(true));
        }
        let _ = write!(
            self.sql,
            " WHEN {} THEN {} WHEN {} THEN ",
            d.is_kind(ty, JsonKind::Scalar),
            d.truth(true),
            d.is_kind(ty, JsonKind::Container)
        );
        match (each, depth) {
            (Some(each), 1..) => {
                let alias = self.alias("x");
                let _ = write!(
                    self.sql,
                    "EXISTS (SELECT 1 FROM {} WHERE ",
                    d.source(each, &alias)
                );
                let (v, t) = (d.item_value(&alias), d.item_type(&alias));
                let inner = d.item_items(&alias);
                self.nonempty_at(&v, &t, Some(&inner), strings, depth - 1);
                self.sql.push(')');
            }
            (Some(each), 0) => {
                let alias = self.alias("x");
                let _ = write!(
                    self.sql,
                    "EXISTS (SELECT 1 FROM {})",
                    d.source(each, &alias)
                );
            }
            (None, _) => {
                // Not reachable for the nodes built here; a container then counts.
                self.recheck = true;
                self.sql.push_str(d.truth(true));
            }
        }
        let _ = write!(self.sql, " ELSE {} END", d.truth(false));
    }

    fn compare<'f>(
        &mut self,
        cmp: &'f Comparison<'f>,
        scope: &Scope<'f>,
        pos: bool,
    ) -> Result<(), SqlError> {
        let parent = scope_parent(scope);
        let shown = || crate::eval::render(parent, &cmp.attr);
        // The characteristics compared, as the evaluator derives them.
        let own = match parent {
            None => self.chars(cmp.attr.urn(), cmp.attr.name(), cmp.attr.sub_attr(), &shown)?,
            Some(p) => self.chars(p.urn(), p.name(), Some(cmp.attr.name()), &shown)?,
        };
        let complex = own.attr_type == AttrType::Complex;
        let value_chars = if complex {
            match (parent, cmp.attr.sub_attr()) {
                (None, None) => self
                    .mapping
                    .characteristics(cmp.attr.urn(), cmp.attr.name(), Some("value"))
                    .filter(|c| c.attr_type != AttrType::Complex),
                _ => None,
            }
        } else {
            Some(own)
        };
        let values = self.values(&cmp.attr, scope)?;
        if let CompValue::Null = cmp.value {
            // `eq null`: no assigned value; `ne null`: some.
            let assigned = match cmp.op {
                CompareOp::Eq => false,
                CompareOp::Ne => true,
                op => {
                    return Err(SqlError::Invalid(EvalError::InvalidValue {
                        attr: shown(),
                        op,
                        reason: "null can only be compared with `eq` or `ne`",
                    }));
                }
            };
            if !assigned {
                self.sql.push_str("NOT (");
            }
            match values {
                None => self.unknown(pos == assigned),
                Some(Values::Column { column, .. }) => {
                    let _ = write!(self.sql, "({column} IS NOT NULL)");
                }
                Some(Values::Json { from, node }) => {
                    let open = self.open(&from);
                    self.nonempty(&node, false);
                    self.close(open);
                }
            }
            if !assigned {
                self.sql.push(')');
            }
            return Ok(());
        }
        let negate = cmp.op == CompareOp::Ne;
        let op = if negate { CompareOp::Eq } else { cmp.op };
        let Some(chars) = value_chars else {
            return Err(SqlError::Invalid(EvalError::UnsupportedOperator {
                attr: shown(),
                op: cmp.op,
            }));
        };
        let test = test_of(chars, &cmp.value, op, &shown, cmp.op)?;
        // The test stands positively iff the comparison does and is not `ne`.
        let test_pos = pos != negate;
        if negate {
            self.sql.push_str("NOT (");
        }
        match values {
            None => self.unknown(test_pos),
            Some(Values::Column { column, form }) => {
                self.column_test(&column, form, &test, op, test_pos)
            }
            Some(Values::Json { from, node }) => {
                let node = if complex && parent.is_none() {
                    self.comparable(&node)
                } else {
                    Some(node)
                };
                match node {
                    None => self.unknown(test_pos),
                    Some(node) => {
                        let open = self.open(&from);
                        self.json_test(&node, &test, op, test_pos);
                        self.close(open);
                    }
                }
            }
        }
        if negate {
            self.sql.push(')');
        }
        Ok(())
    }

    fn json_test(&mut self, node: &Node, test: &Test<'_>, op: CompareOp, pos: bool) {
        let d = self.dialect;
        let (v, t) = (&node.val, &node.ty);
        match test {
            Test::Unknown => self.unknown(pos),
            Test::Text { lit, case_exact } => {
                if lit.contains('\0') {
                    return self.unknown(pos);
                }
                let guard = d.is_kind(t, JsonKind::Text);
                self.text_test(&guard, v, lit, *case_exact, false, op);
            }
            Test::Bool(b) => {
                let (kind, text) = if *b {
                    (JsonKind::True, "true")
                } else {
                    (JsonKind::False, "false")
                };
                let _ = write!(
                    self.sql,
                    "({} OR ({} AND {} = '{text}'))",
                    d.is_kind(t, kind),
                    d.is_kind(t, JsonKind::Text),
                    d.ascii_lower(v)
                );
            }
            Test::Int(i) => {
                let p = self.param(SqlValue::Integer(*i));
                let _ = write!(
                    self.sql,
                    "({} AND {} {} {p})",
                    d.is_kind(t, JsonKind::Number),
                    d.number(v, t),
                    sql_op(op)
                );
            }
            Test::Real(f) => {
                let p = self.param(SqlValue::Real(*f));
                let _ = write!(
                    self.sql,
                    "({} AND {} {} {p})",
                    d.is_kind(t, JsonKind::Number),
                    d.as_real(&d.number(v, t)),
                    sql_op(op)
                );
            }
            Test::Instant(key) => {
                let Some(instant) = d.instant(v) else {
                    return self.unknown(pos);
                };
                let p = self.param(SqlValue::Text(key.clone()));
                let _ = write!(
                    self.sql,
                    "({} AND COALESCE({}, {}))",
                    d.is_kind(t, JsonKind::Text),
                    d.text_cmp(&instant, op, &p),
                    d.truth(false)
                );
            }
        }
    }

    fn column_test(
        &mut self,
        c: &str,
        form: ColumnForm,
        test: &Test<'_>,
        op: CompareOp,
        pos: bool,
    ) {
        let guard = format!("{c} IS NOT NULL");
        match (test, form) {
            (Test::Unknown, _) => self.unknown(pos),
            (Test::Text { lit, .. }, _) if lit.contains('\0') => self.unknown(pos),
            (Test::Text { lit, case_exact }, ColumnForm::Text) => {
                self.text_test(&guard, c, lit, *case_exact, false, op);
            }
            (
                Test::Text {
                    lit,
                    case_exact: false,
                },
                ColumnForm::FoldedText,
            ) => {
                self.text_test(&guard, c, lit, false, true, op);
            }
            (
                Test::Text {
                    lit,
                    case_exact: true,
                },
                ColumnForm::FoldedText,
            ) => {
                // Only the folded form is stored: a case-exact match implies a caseless one.
                if pos && !op.is_ordering() {
                    self.recheck = true;
                    self.text_test(&guard, c, lit, false, true, op);
                } else {
                    self.unknown(pos);
                }
            }
            (Test::Bool(b), ColumnForm::Boolean) => {
                let p = self.param(SqlValue::Bool(*b));
                let _ = write!(self.sql, "({guard} AND {c} = {p})");
            }
            (Test::Int(i), ColumnForm::Number) => {
                let p = self.param(SqlValue::Integer(*i));
                let _ = write!(self.sql, "({guard} AND {c} {} {p})", sql_op(op));
            }
            (Test::Real(f), ColumnForm::Number) => {
                let p = self.param(SqlValue::Real(*f));
                let _ = write!(
                    self.sql,
                    "({guard} AND {} {} {p})",
                    self.dialect.as_real(c),
                    sql_op(op)
                );
            }
            (Test::Instant(key), ColumnForm::DateTime) => {
                let p = self.param(SqlValue::Text(key.clone()));
                let _ = write!(
                    self.sql,
                    "({guard} AND {})",
                    self.dialect.text_cmp(c, op, &p)
                );
            }
            // `form_fits` rules the rest out.
            _ => self.unknown(pos),
        }
    }

    /// A text test of `v` (after `guard`, which makes `v` non-null text). `folded` says `v`
    /// already holds the folded form.
    fn text_test(
        &mut self,
        guard: &str,
        v: &str,
        lit: &str,
        case_exact: bool,
        folded: bool,
        op: CompareOp,
    ) {
        let d = self.dialect;
        let _ = write!(self.sql, "({guard} AND ");
        let (hay, lit) = if case_exact {
            (v.to_owned(), lit.to_owned())
        } else if folded {
            (v.to_owned(), fold(lit))
        } else {
            (d.fold(v), fold(lit))
        };
        match op {
            // Every string contains the empty string.
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew if lit.is_empty() => {
                self.sql.push_str(d.truth(true));
            }
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let pattern = (!case_exact).then(|| like_pattern(&lit, op));
                match pattern {
                    Some(pattern) if pattern.len() <= MAX_LIKE_PATTERN => {
                        let p = self.param(SqlValue::Text(pattern));
                        self.sql.push_str(&d.like(&hay, &p));
                    }
                    _ => {
                        let p = self.param(SqlValue::Text(lit));
                        let test = match op {
                            CompareOp::Co => d.contains(&hay, &p),
                            CompareOp::Sw => d.starts_with(&hay, &p),
                            _ => d.ends_with(&hay, &p),
                        };
                        self.sql.push_str(&test);
                    }
                }
            }
            _ => {
                let p = self.param(SqlValue::Text(lit));
                self.sql.push_str(&d.text_cmp(&hay, op, &p));
            }
        }
        self.sql.push(')');
    }
}

/// The `LIKE` pattern of a `co`, `sw` or `ew` test of `lit`, with `%`, `_` and `\` escaped
/// by `\`.
fn like_pattern(lit: &str, op: CompareOp) -> String {
    let mut pattern = String::with_capacity(lit.len() + 2);
    if op != CompareOp::Sw {
        pattern.push('%');
    }
    for c in lit.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    if op != CompareOp::Ew {
        pattern.push('%');
    }
    pattern
}

/// The test a comparison makes on each value, from the compared characteristics (the
/// evaluator's typed plan; `op` is never `ne`). `written_op` is the operator as written.
fn test_of<'f>(
    c: Characteristics,
    value: &'f CompValue<'f>,
    op: CompareOp,
    attr: &dyn Fn() -> String,
    written_op: CompareOp,
) -> Result<Test<'f>, SqlError> {
    let unsupported = || {
        SqlError::Invalid(EvalError::UnsupportedOperator {
            attr: attr(),
            op: written_op,
        })
    };
    let invalid = |reason: &'static str| {
        SqlError::Invalid(EvalError::InvalidValue {
            attr: attr(),
            op: written_op,
            reason,
        })
    };
    match c.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            if c.attr_type == AttrType::Binary && op.is_ordering() {
                return Err(unsupported());
            }
            match value {
                CompValue::String(s) => Ok(Test::Text {
                    lit: s,
                    case_exact: c.case_exact || c.attr_type == AttrType::Binary,
                }),
                _ => Err(invalid("expected a string")),
            }
        }
        AttrType::Boolean => {
            if op != CompareOp::Eq {
                return Err(unsupported());
            }
            match value {
                CompValue::Bool(b) => Ok(Test::Bool(*b)),
                CompValue::String(s) if s.eq_ignore_ascii_case("true") => Ok(Test::Bool(true)),
                CompValue::String(s) if s.eq_ignore_ascii_case("false") => Ok(Test::Bool(false)),
                _ => Err(invalid("expected a boolean")),
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            if op.is_substring() {
                return Err(unsupported());
            }
            let CompValue::Number(n) = value else {
                return Err(invalid("expected a number"));
            };
            match n.as_str().parse::<i128>() {
                Ok(i) if (-EXACT_F64_INT..=EXACT_F64_INT).contains(&i) => {
                    // In range, so the conversion cannot fail.
                    Ok(Test::Int(i64::try_from(i).unwrap_or_default()))
                }
                // Beyond 2^53 the evaluator and SQLite may round differently.
                Ok(_) => Ok(Test::Unknown),
                Err(_) => Ok(Test::Real(n.as_f64())),
            }
        }
        AttrType::DateTime => {
            if op.is_substring() {
                return Err(unsupported());
            }
            match value {
                CompValue::String(s) => instant_key(s)
                    .map(Test::Instant)
                    .ok_or_else(|| invalid("expected an xsd:dateTime string")),
                _ => Err(invalid("expected an xsd:dateTime string")),
            }
        }
        AttrType::Complex => Err(unsupported()),
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Ne => "<>",
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

fn form_fits(form: ColumnForm, t: AttrType) -> bool {
    match form {
        ColumnForm::Text | ColumnForm::FoldedText => {
            matches!(t, AttrType::String | AttrType::Reference | AttrType::Binary)
        }
        ColumnForm::Number => matches!(t, AttrType::Integer | AttrType::Decimal),
        ColumnForm::Boolean => t == AttrType::Boolean,
        ColumnForm::DateTime => t == AttrType::DateTime,
    }
}

fn mapping_error(attr: &str, reason: &'static str) -> SqlError {
    SqlError::Mapping {
        attr: attr.to_owned(),
        reason,
    }
}

/// A column name: identifiers (`[A-Za-z_][A-Za-z0-9_]*`) joined by `.`.
fn checked_column(name: &str) -> Result<&str, SqlError> {
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            let mut b = part.bytes();
            b.next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
    if ok {
        Ok(name)
    } else {
        Err(SqlError::UnsafeName {
            name: name.to_owned(),
        })
    }
}

/// A JSON member name that can be written double-quoted in a JSON path inside a
/// single-quoted SQL string: no quotes, backslashes or control characters.
fn checked_member(name: &str) -> Result<&str, SqlError> {
    let ok = !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '\'' | '"' | '\\') || c.is_control());
    if ok {
        Ok(name)
    } else {
        Err(SqlError::UnsafeName {
            name: name.to_owned(),
        })
    }
}

fn scope_parent<'f>(scope: &Scope<'f>) -> Option<&'f AttrPath<'f>> {
    match scope {
        Scope::Root => None,
        Scope::Element { parent, .. } => Some(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use proptest::prelude::*;
    use serde_json::json;

    /// One attribute `x` of the given type, as a schema.
    struct One(AttrType);

    impl AttrSchema for One {
        fn characteristics(
            &self,
            _: Option<&str>,
            _: &str,
            _: Option<&str>,
        ) -> Option<Characteristics> {
            Some(Characteristics {
                attr_type: self.0,
                multi_valued: false,
                case_exact: false,
            })
        }
    }

    /// What the evaluator says of `x <op> lit` for a resource whose `x` is `value`.
    fn eval(t: AttrType, value: &str, op: &str, lit: &str) -> bool {
        let text = format!("x {op} {}", json!(lit));
        let f = parse(&text).expect("a filter");
        f.matches_with(&json!({ "x": value }), &One(t)) == Ok(true)
    }

    const SAMPLES: &[&str] = &[
        "", "a", "A", "ß", "SS", "ss", "ẞ", "Σ", "σ", "ς", "ΟΔΟΣ", "οδος", "Ǆ", "ǆ", "ǅ",
        "\u{212A}", "k", "İ", "i̇", "i", "ﬁ", "FI", "Ω", "\u{2126}", "ω", "Élodie", "éLODIE",
    ];

    #[test]
    fn fold_agrees_with_the_evaluator() {
        for a in SAMPLES {
            for b in SAMPLES {
                assert_eq!(
                    fold(a) == fold(b),
                    eval(AttrType::String, a, "eq", b),
                    "{a} {b}"
                );
                assert_eq!(
                    fold(a) > fold(b),
                    eval(AttrType::String, a, "gt", b),
                    "{a} {b}"
                );
                assert_eq!(
                    fold(a).contains(&fold(b)),
                    eval(AttrType::String, a, "co", b),
                    "{a} {b}"
                );
                assert_eq!(
                    fold(a).starts_with(&fold(b)),
                    eval(AttrType::String, a, "sw", b),
                    "{a} {b}"
                );
                assert_eq!(
                    fold(a).ends_with(&fold(b)),
                    eval(AttrType::String, a, "ew", b),
                    "{a} {b}"
                );
            }
        }
    }

    const DATES: &[&str] = &[
        "2011-05-13T04:42:34Z",
        "2011-05-13T04:42:34.000000001Z",
        "2011-05-13T04:42:33.999999999999Z",
        "2011-05-13T06:42:34+02:00",
        "2011-05-13T04:42:34",
        "2011-05-13t04:42:34z",
        "0000-01-01T00:00:00+01:00",
        "0000-01-01T00:00:00Z",
        "9999-12-30T21:00:00Z",
        "1970-01-01T00:00:00-00:30",
        "2015-02-30T14:38:21Z",
        "yesterday",
    ];

    #[test]
    fn instant_keys_order_as_instants() {
        assert_eq!(
            instant_key("2015-10-10T14:38:21.8617979-07:00").as_deref(),
            Some("2015-10-10T21:38:21.861797900Z")
        );
        assert_eq!(
            instant_key("0000-01-01T00:00:00+01:00").as_deref(),
            Some("-0001-12-31T23:00:00.000000000Z")
        );
        assert_eq!(instant_key("2015-02-30T14:38:21Z"), None);
        for a in DATES {
            for b in DATES {
                let (ka, kb) = (instant_key(a), instant_key(b));
                let (Some(ka), Some(kb)) = (ka, kb) else {
                    // Not a dateTime: the evaluator matches nothing.
                    if instant_key(b).is_some() {
                        assert!(!eval(AttrType::DateTime, a, "ge", b), "{a} {b}");
                    }
                    continue;
                };
                assert_eq!(ka == kb, eval(AttrType::DateTime, a, "eq", b), "{a} {b}");
                assert_eq!(ka > kb, eval(AttrType::DateTime, a, "gt", b), "{a} {b}");
                assert_eq!(ka < kb, eval(AttrType::DateTime, a, "lt", b), "{a} {b}");
            }
        }
    }

    proptest! {
        #[test]
        fn fold_agrees_on_any_text(a in "\\PC{0,6}", b in "\\PC{0,6}") {
            prop_assert_eq!(fold(&a) == fold(&b), eval(AttrType::String, &a, "eq", &b));
            prop_assert_eq!(fold(&a) < fold(&b), eval(AttrType::String, &a, "lt", &b));
            prop_assert_eq!(fold(&a).contains(&fold(&b)), eval(AttrType::String, &a, "co", &b));
        }

        #[test]
        fn instant_keys_agree(
            y in 0u32..3000, mo in 1u32..13, d in 1u32..29, h in 0u32..24, mi in 0u32..60,
            frac in proptest::option::of(0u64..1_000_000_000_000),
            off in proptest::option::of(-14i32..15),
            y2 in 0u32..3000, h2 in 0u32..24,
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let off = off.map(|o| format!("{}{:02}:30", if o < 0 { '-' } else { '+' }, o.unsigned_abs())).unwrap_or_default();
            let a = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:07{frac}{off}");
            let b = format!("{y2:04}-{mo:02}-{d:02}T{h2:02}:{mi:02}:07Z");
            let (ka, kb) = (instant_key(&a), instant_key(&b));
            prop_assert!(kb.is_some());
            match ka {
                Some(ka) => {
                    prop_assert_eq!(Some(&ka) > kb.as_ref(), eval(AttrType::DateTime, &a, "gt", &b));
                    prop_assert_eq!(Some(&ka) == kb.as_ref(), eval(AttrType::DateTime, &a, "eq", &b));
                }
                None => prop_assert!(!eval(AttrType::DateTime, &a, "ge", &b)),
            }
        }
    }

    /// A document column `data` with `userName` in a folded column and multi-valued
    /// `emails`.
    struct Doc;

    impl AttrSchema for Doc {
        fn characteristics(
            &self,
            _: Option<&str>,
            name: &str,
            sub: Option<&str>,
        ) -> Option<Characteristics> {
            let (attr_type, multi_valued) = match (name.to_ascii_lowercase().as_str(), sub) {
                ("emails", None) => (AttrType::Complex, true),
                ("count", None) => (AttrType::Integer, false),
                _ => (AttrType::String, false),
            };
            Some(Characteristics {
                attr_type,
                multi_valued,
                case_exact: false,
            })
        }
    }

    impl SqlMapping for Doc {
        fn locate(&self, _: Option<&str>, name: &str, sub: Option<&str>) -> Option<Location<'_>> {
            if name.eq_ignore_ascii_case("userName") {
                return Some(Location::Column {
                    column: "user_name_folded".into(),
                    form: ColumnForm::FoldedText,
                });
            }
            let mut path = vec![Cow::Owned(name.to_owned())];
            path.extend(sub.map(|s| Cow::Owned(s.to_owned())));
            Some(Location::Json {
                column: "data".into(),
                path,
            })
        }
    }

    #[test]
    fn postgres_dialect_binds_typed_values_and_orders_by_code_point() {
        let f = parse(
            r#"userName eq "BJensen" or (title gt "Ö'; DROP" and emails[value co "%X_"]) or count ge 3 or title pr"#,
        )
        .expect("filter");
        let c = Compiler::new(SqlDialect::Postgres)
            .first_param(3)
            .compile(&f, &Doc)
            .expect("compiles");
        assert!(!c.needs_recheck, "{}", c.sql);
        assert!(c.sql.contains("user_name_folded = $3::text"), "{}", c.sql);
        assert!(c.sql.contains("COLLATE \"C\" > $4::text"), "{}", c.sql);
        assert!(
            c.sql
                .contains("scim_json_items((data) #> '{\"emails\"}') AS sf_e1(value)"),
            "{}",
            c.sql
        );
        assert!(c.sql.contains("$6::int8"), "{}", c.sql);
        assert!(
            !c.sql.contains("DROP") && !c.sql.contains("BJensen"),
            "{}",
            c.sql
        );
        assert_eq!(
            c.params,
            [
                SqlValue::Text("bjensen".into()),
                SqlValue::Text("ö'; drop".into()),
                SqlValue::Text("%\\%x\\_%".into()),
                SqlValue::Integer(3),
            ]
        );
        // Booleans are SQL booleans, never 0 or 1.
        let f = parse(r#"not (nothing eq "x") and title co """#).expect("filter");
        let c = compile(&f, &Doc, SqlDialect::Postgres).expect("compiles");
        assert!(c.sql.contains("TRUE"), "{}", c.sql);
        assert!(
            !c.sql.contains(" 1)") && !c.sql.contains("(1 "),
            "{}",
            c.sql
        );
    }

    #[test]
    fn postgres_fold_function_covers_every_mapping() {
        let sql = postgres_functions();
        for (upper, lower) in [
            ('Ω', 'ω'),
            ('Σ', 'σ'),
            ('ς', 'σ'),
            ('\u{212A}', 'k'),
            ('Ä', 'ä'),
        ] {
            assert_eq!(fold(&upper.to_string()), lower.to_string());
            assert!(sql.contains(upper), "{upper}");
        }
        assert!(sql.contains("replace($1, 'İ', 'i\u{307}')"));
        assert!(
            !sql.contains("STRICT"),
            "non-strict, so PostgreSQL inlines them"
        );
    }

    #[test]
    fn names_are_checked() {
        for ok in ["data", "users.data", "_x1"] {
            assert!(checked_column(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a b", "a;b", "a'", "a.", ".a", "a\"b", "é"] {
            assert!(checked_column(bad).is_err(), "{bad}");
        }
        for ok in [
            "emails",
            "$ref",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "ä b",
        ] {
            assert!(checked_member(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a'b", "a\"b", "a\\b", "a\u{0}b", "a\nb"] {
            assert!(checked_member(bad).is_err(), "{bad}");
        }
    }
}
