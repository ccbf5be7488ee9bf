//! Shared inputs for the criterion benchmarks in `benches/benches/`: the filter corpus and
//! generated populations. See `BENCHMARKS.md` at the workspace root for the figures.
//!
//! The filter corpus lives in one file, `benches/corpus/filters.json`, so that the
//! side-by-side benchmarks in `benches/peers/` (a separate cargo workspace) run exactly the
//! same strings: they include the same file. [`corpus`] reads it here.
//!
//! [`users`] generates a deterministic population of SCIM User resources for the evaluation
//! benchmarks, and [`reference_matches`] is a hand-written oracle for [`REFERENCE_FILTER`]
//! over that population, used by the tests to check that the evaluator measured gives the
//! right answers.
#![forbid(unsafe_code)]

use serde_json::{Map, Value, json};

/// The corpus file, verbatim: a JSON array of `{"name", "source", "filter", "dialects"?}`.
pub const CORPUS_JSON: &str = include_str!("../corpus/filters.json");

/// The reference filter of the performance targets: a user lookup combined with a value path,
/// a grouped `or` and a `not`.
pub const REFERENCE_FILTER: &str = r#"userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#;

/// The right-hand side of [`REFERENCE_FILTER`]: it visits every node for every user (the
/// full filter stops at `userName` for all users but one).
pub const REFERENCE_RHS_FILTER: &str =
    r#"emails[type eq "work" and value co "@example.com"] or not (title pr)"#;

/// A single comparison, the case that must parse without touching the heap.
pub const SINGLE_COMPARISON: &str = r#"userName eq "bjensen""#;

/// The number of users the evaluation benchmarks run over.
pub const POPULATION: usize = 100_000;

/// Where a corpus filter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A lookup identity providers send (Entra ID, Okta, ...).
    Idp,
    /// An example from RFC 7644 §3.4.2.2.
    Rfc,
    /// The reference filter of the performance targets ([`REFERENCE_FILTER`]).
    Reference,
    /// A large (about 1 KB) filter of or-ed terms.
    Large,
}

/// One filter of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusFilter {
    /// A short identifier, used as the benchmark name.
    pub name: String,
    /// Where the filter comes from.
    pub source: Source,
    /// The filter text.
    pub filter: String,
    /// Whether the filter needs the identity-provider dialects
    /// (`scim_filter::Parser::with_dialects()`) rather than the strict grammar.
    pub dialects: bool,
}

impl CorpusFilter {
    /// Parses this filter with the parser it is meant for: strict, or with dialects.
    pub fn parse(&self) -> Result<scim_filter::Filter<'_>, scim_filter::ParseError> {
        if self.dialects {
            scim_filter::Parser::with_dialects().parse(&self.filter)
        } else {
            scim_filter::parse(&self.filter)
        }
    }
}

/// Why the corpus file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusError(String);

impl std::fmt::Display for CorpusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid corpus file: {}", self.0)
    }
}

impl std::error::Error for CorpusError {}

/// The filter corpus, in file order.
pub fn corpus() -> Result<Vec<CorpusFilter>, CorpusError> {
    parse_corpus(CORPUS_JSON)
}

/// Reads a corpus in the format of `benches/corpus/filters.json`.
pub fn parse_corpus(text: &str) -> Result<Vec<CorpusFilter>, CorpusError> {
    let value: Value = serde_json::from_str(text).map_err(|e| CorpusError(e.to_string()))?;
    let entries = value
        .as_array()
        .ok_or_else(|| CorpusError("the top level is not an array".into()))?;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let field = |key: &str| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| CorpusError(format!("entry {i} has no string `{key}`")))
            };
            let source = match field("source")? {
                "idp" => Source::Idp,
                "rfc" => Source::Rfc,
                "reference" => Source::Reference,
                "large" => Source::Large,
                other => return Err(CorpusError(format!("entry {i}: unknown source {other:?}"))),
            };
            let dialects = match entry.get("dialects") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(CorpusError(format!("entry {i}: `dialects` not a bool"))),
            };
            Ok(CorpusFilter {
                name: field("name")?.to_owned(),
                source,
                filter: field("filter")?.to_owned(),
                dialects,
            })
        })
        .collect()
}

/// SplitMix64: a small, fast, deterministic generator; good enough to vary test data.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0); the slight modulo bias does not matter here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or_default()
    }
}

const GIVEN: &[&str] = &[
    "Barbara", "James", "Aiko", "Olufemi", "Marta", "Chen", "Priya", "Lars", "Sofia", "Mateo",
    "Fatima", "Noah", "Ines", "Kwame", "Elena", "Tomasz",
];
const FAMILY: &[&str] = &[
    "Jensen", "O'Malley", "Tanaka", "Adeyemi", "Kowalski", "Wei", "Raman", "Nilsson", "Rossi",
    "Garcia", "Haddad", "Smith", "Moreau", "Mensah", "Petrova", "Novak",
];
const TITLES: &[&str] = &["Engineer", "Tour Guide", "Manager", "Analyst", "Designer"];

/// The index in a population of [`users`] of the one user named `bjensen`.
pub fn bjensen_index(count: usize) -> usize {
    count / 2
}

/// A deterministic population of `count` SCIM User resources (the same for the same `count`
/// on every machine).
///
/// Each user has `schemas`, `id`, `externalId`, `userName` (unique; the user at
/// [`bjensen_index`] is `bjensen`), `name` (`givenName`, `familyName`, `formatted`), one or
/// two `emails` (`value`, `type` work or home, `primary` on the first) with domains
/// `example.com` or `example.org`, `title` on about 60% of users, and `active` (false for
/// about 10%).
pub fn users(count: usize) -> Vec<Value> {
    let mut rng = SplitMix64(0x5c1a_b3e2_c4f0_0001);
    (0..count)
        .map(|i| {
            let given = rng.pick(GIVEN);
            let family = rng.pick(FAMILY);
            let local = format!(
                "{}.{}{i}",
                given.to_ascii_lowercase(),
                family.to_ascii_lowercase().replace('\'', "")
            );
            let user_name = if i == bjensen_index(count) {
                "bjensen".to_owned()
            } else {
                format!("{local}@example.com")
            };
            let domain = |rng: &mut SplitMix64| {
                if rng.below(2) == 0 {
                    "example.com"
                } else {
                    "example.org"
                }
            };
            let mut first_type = if rng.below(4) == 0 { "home" } else { "work" };
            let mut first_domain = domain(&mut rng);
            if i == bjensen_index(count) {
                // bjensen matches the reference filter.
                (first_type, first_domain) = ("work", "example.com");
            }
            let mut emails = vec![json!({
                "value": format!("{local}@{first_domain}"),
                "type": first_type,
                "primary": true,
            })];
            if rng.below(2) == 0 {
                let second_type = if first_type == "work" { "home" } else { "work" };
                let second_domain = domain(&mut rng);
                emails.push(json!({
                    "value": format!("{}.{}@{second_domain}", given.to_ascii_lowercase(), i + 1),
                    "type": second_type,
                }));
            }
            let id = rng.next();
            let mut user = Map::new();
            user.insert(
                "schemas".into(),
                json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
            );
            user.insert(
                "id".into(),
                json!(format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    id >> 32,
                    (id >> 16) & 0xffff,
                    id & 0xfff,
                    (id >> 12) & 0xfff,
                    i
                )),
            );
            user.insert("externalId".into(), json!(format!("ext-{i:06}")));
            user.insert("userName".into(), json!(user_name));
            user.insert(
                "name".into(),
                json!({
                    "givenName": given,
                    "familyName": family,
                    "formatted": format!("{given} {family}"),
                }),
            );
            user.insert("emails".into(), Value::Array(emails));
            if rng.below(10) < 6 {
                user.insert("title".into(), json!(rng.pick(TITLES)));
            }
            user.insert("active".into(), json!(rng.below(10) != 0));
            Value::Object(user)
        })
        .collect()
}

/// Whether a `title` value is present in the sense of `pr`: not null, `""`, `[]` or `{}`.
fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// The right-hand side of [`REFERENCE_FILTER`] ([`REFERENCE_RHS_FILTER`]), written by hand
/// for users shaped like those of [`users`]: strings compare case-insensitively.
pub fn reference_rhs_matches(user: &Value) -> bool {
    let work_at_example = user
        .get("emails")
        .and_then(Value::as_array)
        .is_some_and(|emails| {
            emails.iter().any(|email| {
                let text = |key: &str| email.get(key).and_then(Value::as_str);
                text("type").is_some_and(|t| t.eq_ignore_ascii_case("work"))
                    && text("value")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("@example.com"))
            })
        });
    work_at_example || !present(user.get("title"))
}

/// [`REFERENCE_FILTER`] written by hand for users shaped like those of [`users`].
pub fn reference_matches(user: &Value) -> bool {
    let is_bjensen = user
        .get("userName")
        .and_then(Value::as_str)
        .is_some_and(|name| name.eq_ignore_ascii_case("bjensen"));
    is_bjensen && reference_rhs_matches(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_file_reads_and_has_what_the_benchmarks_need() {
        let corpus = corpus().expect("corpus");
        assert!(corpus.len() >= 20, "{} filters", corpus.len());
        let names: std::collections::BTreeSet<_> = corpus.iter().map(|f| &f.name).collect();
        assert_eq!(names.len(), corpus.len(), "names are unique");
        let reference: Vec<_> = corpus
            .iter()
            .filter(|f| f.source == Source::Reference)
            .collect();
        assert_eq!(reference.len(), 1);
        assert_eq!(reference[0].filter, REFERENCE_FILTER);
        assert!(REFERENCE_FILTER.contains(REFERENCE_RHS_FILTER));
        assert_eq!(
            corpus.iter().filter(|f| f.source == Source::Rfc).count(),
            17
        );
        let large = corpus
            .iter()
            .find(|f| f.source == Source::Large)
            .expect("a large filter");
        assert!(
            (900..=1100).contains(&large.filter.len()),
            "{}",
            large.filter.len()
        );
    }

    #[test]
    fn a_malformed_corpus_is_an_error() {
        assert!(parse_corpus("{}").is_err());
        assert!(parse_corpus(r#"[{"name":"a","source":"x","filter":"f"}]"#).is_err());
        assert!(parse_corpus(r#"[{"name":"a","source":"rfc"}]"#).is_err());
        assert!(
            parse_corpus(r#"[{"name":"a","source":"rfc","filter":"f","dialects":1}]"#).is_err()
        );
        let ok = parse_corpus(r#"[{"name":"a","source":"rfc","filter":"f","dialects":true}]"#)
            .expect("valid");
        assert!(ok[0].dialects);
    }

    #[test]
    fn users_are_deterministic_and_varied() {
        let a = users(1000);
        assert_eq!(a, users(1000));
        assert_eq!(a[bjensen_index(1000)]["userName"], "bjensen");
        let names: std::collections::BTreeSet<_> = a
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names.len(), 1000, "userName is unique");
        let with_title = a.iter().filter(|u| u.get("title").is_some()).count();
        assert!((500..700).contains(&with_title), "{with_title}");
        let two_emails = a
            .iter()
            .filter(|u| u["emails"].as_array().map_or(0, Vec::len) == 2)
            .count();
        assert!((400..600).contains(&two_emails), "{two_emails}");
        let inactive = a.iter().filter(|u| u["active"] == false).count();
        assert!((50..150).contains(&inactive), "{inactive}");
        let rhs = a.iter().filter(|u| reference_rhs_matches(u)).count();
        assert!((300..900).contains(&rhs), "{rhs}");
        assert_eq!(a.iter().filter(|u| reference_matches(u)).count(), 1);
    }
}
