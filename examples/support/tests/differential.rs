//! Differential tests: the SQLite store (and the PostgreSQL store, when
//! `SCIM_TEST_POSTGRES_URL` names a database) and scim-core's `MemoryStore` fed the same
//! writes answer the same list queries (hundreds of generated filters over a generated
//! population with non-ASCII names and absent attributes), and keep membership alike.

use std::sync::Arc;

use scim_core::Registry;
use scim_core::message::SortOrder;
use scim_core::store::{
    ListQuery, MemberChange, MemoryStore, RequestContext, ResourceStore, StoreError,
};
use scim_example_support::db::Database;
use scim_example_support::pg::{PgStore, block_on, test_database};
use scim_example_support::store::SqliteStore;
use serde_json::{Map, Value, json};

fn sqlite() -> SqliteStore {
    SqliteStore::new(Arc::new(Database::open_in_memory().expect("db")))
}

/// The PostgreSQL store of `SCIM_TEST_POSTGRES_URL`, or `None` (the test is skipped).
fn postgres(test: &str) -> Option<PgStore> {
    test_database(test).map(PgStore::new)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
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
    "Björn",
    "ÖSTEN",
    "Οδυσσεύς",
    "ΟΔΥΣΣΕΥΣ",
    "Straße",
    "İlkay",
    "ilkay",
    "Zoë",
    "Émile",
    "bjensen",
    "BJensen",
    "jsmith",
    "a_b%c",
    "x\\y",
    "日本",
    "Ärger",
    "O'Brien",
    "",
];
const DOMAINS: &[&str] = &["example.com", "Example.ORG", "bücher.de", "x_y.net"];
const TITLES: &[&str] = &["Engineer", "engineer", "Tour Guide", "Ρόλος", "100%"];
const TYPES: &[&str] = &["work", "home", "Work", "other"];

fn user(rng: &mut Rng, i: usize) -> Map<String, Value> {
    let base = *rng.pick(NAMES);
    let mut u = Map::new();
    u.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
    );
    u.insert("userName".into(), json!(format!("{base}{i}")));
    if rng.chance(70) {
        let mut name = Map::new();
        if rng.chance(80) {
            name.insert("givenName".into(), json!(rng.pick(NAMES)));
        }
        if rng.chance(60) {
            name.insert("familyName".into(), json!(rng.pick(NAMES)));
        }
        u.insert("name".into(), Value::Object(name));
    }
    if rng.chance(60) {
        u.insert(
            "displayName".into(),
            json!(format!("{} {}", rng.pick(NAMES), rng.pick(NAMES))),
        );
    }
    if rng.chance(50) {
        u.insert("title".into(), json!(rng.pick(TITLES)));
    }
    if rng.chance(70) {
        u.insert("active".into(), json!(rng.chance(50)));
    }
    if rng.chance(40) {
        u.insert(
            "externalId".into(),
            json!(format!("{}-{}", rng.pick(&["ext", "EXT", "Ext"]), i % 7)),
        );
    }
    if rng.chance(75) {
        let n = rng.below(3) + 1;
        let emails: Vec<Value> = (0..n)
            .map(|k| {
                let mut e = Map::new();
                e.insert(
                    "value".into(),
                    json!(format!("{}{k}@{}", rng.pick(NAMES), rng.pick(DOMAINS))),
                );
                if rng.chance(80) {
                    e.insert("type".into(), json!(rng.pick(TYPES)));
                }
                if k == 0 && rng.chance(50) {
                    e.insert("primary".into(), json!(true));
                }
                Value::Object(e)
            })
            .collect();
        u.insert("emails".into(), Value::Array(emails));
    }
    if rng.chance(40) {
        let mut ent = Map::new();
        if rng.chance(70) {
            ent.insert("employeeNumber".into(), json!(format!("{}", rng.below(50))));
        }
        if rng.chance(70) {
            ent.insert("department".into(), json!(rng.pick(TITLES)));
        }
        if rng.chance(40) {
            ent.insert(
                "manager".into(),
                json!({"value": format!("m{}", rng.below(5))}),
            );
        }
        u.insert(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
            Value::Object(ent),
        );
    }
    u
}

const ATTRS: &[&str] = &[
    "userName",
    "name.givenName",
    "name.familyName",
    "displayName",
    "title",
    "externalId",
    "emails",
    "emails.value",
    "emails.type",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "groups.display",
    "meta.resourceType",
];
const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

fn string_value(rng: &mut Rng) -> String {
    let s: String = match rng.below(6) {
        0 => rng.pick(NAMES).to_string(),
        1 => rng.pick(DOMAINS).to_string(),
        2 => rng.pick(TITLES).to_string(),
        3 => rng.pick(TYPES).to_string(),
        4 => format!("{}", rng.below(12)),
        _ => {
            let n = *rng.pick(NAMES);
            n.chars().take(rng.below(3) + 1).collect()
        }
    };
    let s = if rng.chance(30) { s.to_uppercase() } else { s };
    serde_json::to_string(&s).unwrap_or_default()
}

fn comparison(rng: &mut Rng) -> String {
    let attr = *rng.pick(ATTRS);
    match rng.below(10) {
        0 => format!("{attr} pr"),
        1 => format!("{attr} eq null"),
        2 => format!("active eq {}", rng.chance(50)),
        3 => format!("active ne {}", rng.chance(50)),
        4 => format!(
            "emails[type eq {} and value {} {}]",
            string_value(rng),
            rng.pick(&["co", "sw", "ew"]),
            string_value(rng)
        ),
        5 => format!(
            "emails[primary eq true or type {} {}]",
            rng.pick(OPS),
            string_value(rng)
        ),
        _ => format!("{attr} {} {}", rng.pick(OPS), string_value(rng)),
    }
}

fn filter(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(35) {
        return comparison(rng);
    }
    match rng.below(4) {
        0 => format!("not ({})", filter(rng, depth - 1)),
        1 => format!("({}) or {}", filter(rng, depth - 1), filter(rng, depth - 1)),
        2 => format!("{} and {}", filter(rng, depth - 1), filter(rng, depth - 1)),
        _ => format!(
            "{} or {} and {}",
            filter(rng, depth - 1),
            comparison(rng),
            comparison(rng)
        ),
    }
}

struct Pair<S> {
    memory: MemoryStore,
    sqlite: S,
    ctx: RequestContext,
}

type Names = Result<(u64, Vec<String>), StoreError>;

fn names_of(
    store: &impl ResourceStore,
    ctx: &RequestContext,
    q: &ListQuery<'_>,
    key: &str,
) -> Result<(u64, Vec<String>), StoreError> {
    let page = block_on(store.list(ctx, q))?;
    Ok((
        page.total,
        page.resources
            .iter()
            .map(|r| {
                r.attributes
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            })
            .collect(),
    ))
}

/// A tenant name of its own for each run, so that runs on one PostgreSQL database do not
/// see each other.
fn tenant(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn population<S: ResourceStore>(seed: u64, users: usize, store: S) -> (Pair<S>, Rng) {
    let mut rng = Rng(seed);
    let pair = Pair {
        memory: MemoryStore::new(),
        sqlite: store,
        ctx: RequestContext::new(tenant("t1"), "i1", "Test"),
    };
    let other = RequestContext::new(tenant("t2"), "i2", "Other");
    let mut ids = Vec::new();
    for i in 0..users {
        let u = user(&mut rng, i);
        let a = block_on(pair.memory.create(&pair.ctx, "User", u.clone())).expect("memory");
        let b = block_on(pair.sqlite.create(&pair.ctx, "User", u.clone())).expect("sqlite");
        ids.push((a.id, b.id));
        // Another tenant's data must never show up.
        block_on(pair.sqlite.create(&other, "User", u)).expect("other tenant");
    }
    for g in 0..6 {
        let members: Vec<usize> = (0..rng.below(8)).map(|_| rng.below(users)).collect();
        let name = format!("{} group {g}", rng.pick(NAMES));
        let group = |side: usize| {
            let list: Vec<Value> = members
                .iter()
                .map(|&m| json!({"value": if side == 0 { &ids[m].0 } else { &ids[m].1 }}))
                .collect();
            let v = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name, "members": list});
            v.as_object().cloned().unwrap_or_default()
        };
        block_on(pair.memory.create(&pair.ctx, "Group", group(0))).expect("memory group");
        block_on(pair.sqlite.create(&pair.ctx, "Group", group(1))).expect("sqlite group");
    }
    (pair, rng)
}

#[test]
fn generated_filters_select_the_same_users() {
    filters_select_the_same_users(sqlite());
}

#[test]
fn postgres_generated_filters_select_the_same_users() {
    if let Some(store) = postgres("postgres_generated_filters_select_the_same_users") {
        filters_select_the_same_users(store);
    }
}

#[test]
fn group_filters_and_membership_agree() {
    groups_and_membership_agree(sqlite());
}

#[test]
fn postgres_group_filters_and_membership_agree() {
    if let Some(store) = postgres("postgres_group_filters_and_membership_agree") {
        groups_and_membership_agree(store);
    }
}

fn filters_select_the_same_users<S: ResourceStore>(store: S) {
    let registry = Registry::core();
    let schema = registry.resource_type("User").expect("User");
    let parser = scim_filter::Parser::new();
    let (pair, mut rng) = population(0x5eed_1234_abcd_0001, 100, store);
    let mut compared = 0;
    let mut nonempty = 0;
    for round in 0..500 {
        let text = filter(&mut rng, 3);
        let Ok(f) = parser.parse(&text) else {
            continue;
        };
        if f.check(&schema).is_err() {
            continue;
        }
        let sort_path;
        let sort_by = if round % 5 == 0 {
            let which = *rng.pick(&["userName", "name.familyName", "emails", "title"]);
            sort_path = scim_filter::parse_path(which).ok();
            sort_path.as_ref().map(|p: &scim_filter::Path<'_>| &p.attr)
        } else {
            None
        };
        let q = ListQuery {
            schema,
            filter: Some(&f),
            sort_by,
            sort_order: if round % 2 == 0 {
                SortOrder::Ascending
            } else {
                SortOrder::Descending
            },
            start_index: 1,
            count: 10_000,
            omit: &[],
        };
        let m = names_of(&pair.memory, &pair.ctx, &q, "userName");
        let s = names_of(&pair.sqlite, &pair.ctx, &q, "userName");
        assert_eq!(m, s, "filter: {text}");
        if m.as_ref().is_ok_and(|(n, _)| *n > 0) {
            nonempty += 1;
        }
        // Paging agrees too.
        let q = ListQuery {
            start_index: 3,
            count: 4,
            ..q
        };
        assert_eq!(
            names_of(&pair.memory, &pair.ctx, &q, "userName"),
            names_of(&pair.sqlite, &pair.ctx, &q, "userName"),
            "page of: {text}"
        );
        compared += 1;
    }
    assert!(compared >= 250, "only {compared} filters compared");
    assert!(nonempty >= 50, "only {nonempty} filters matched something");
}

fn groups_and_membership_agree<S: ResourceStore>(store: S) {
    let registry = Registry::core();
    let schema = registry.resource_type("Group").expect("Group");
    let (pair, _) = population(0x5eed_0000_0000_0002, 40, store);
    let list = |store: &dyn Fn(&ListQuery<'_>) -> Names, text: &str| {
        let f = scim_filter::parse(text).expect("filter");
        let q = ListQuery {
            schema,
            filter: Some(&f),
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: 100,
            omit: &[],
        };
        store(&q)
    };
    let mem = |q: &ListQuery<'_>| names_of(&pair.memory, &pair.ctx, q, "displayName");
    let sql = |q: &ListQuery<'_>| names_of(&pair.sqlite, &pair.ctx, q, "displayName");
    for text in [
        "members pr",
        "not (members pr)",
        r#"members.display co "1""#,
        r#"displayName sw "ö""#,
        r#"displayName co "GROUP""#,
        r#"members[display sw "b"]"#,
    ] {
        assert_eq!(list(&mem, text), list(&sql, text), "{text}");
    }

    // Membership edits and deletions: the users' derived groups agree afterwards.
    let snapshot = |names: bool| -> Vec<(String, Vec<String>)> {
        let q = ListQuery {
            schema: registry.resource_type("User").expect("User"),
            filter: None,
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: 1000,
            omit: &[],
        };
        let page = if names {
            block_on(pair.memory.list(&pair.ctx, &q)).expect("m")
        } else {
            block_on(pair.sqlite.list(&pair.ctx, &q)).expect("s")
        };
        page.resources
            .iter()
            .map(|r| {
                let groups = r
                    .attributes
                    .get("groups")
                    .and_then(Value::as_array)
                    .map(|g| {
                        g.iter()
                            .filter_map(|x| x["display"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut groups: Vec<String> = groups;
                groups.sort();
                (
                    r.attributes["userName"].as_str().unwrap_or("").to_owned(),
                    groups,
                )
            })
            .collect()
    };
    assert_eq!(snapshot(true), snapshot(false));
    // Delete every third user in both stores, add the first user to every group.
    let q = ListQuery {
        schema: registry.resource_type("User").expect("User"),
        filter: None,
        sort_by: None,
        sort_order: SortOrder::Ascending,
        start_index: 1,
        count: 1000,
        omit: &[],
    };
    let mu = block_on(pair.memory.list(&pair.ctx, &q))
        .expect("m")
        .resources;
    let su = block_on(pair.sqlite.list(&pair.ctx, &q))
        .expect("s")
        .resources;
    for (k, (a, b)) in mu.iter().zip(su.iter()).enumerate() {
        if k % 3 == 1 {
            block_on(pair.memory.delete(&pair.ctx, "User", &a.id, None)).expect("m del");
            block_on(
                pair.sqlite
                    .delete(&pair.ctx, "User", &b.id, Some(&b.version)),
            )
            .expect("s del");
        }
    }
    let gq = ListQuery {
        schema,
        filter: None,
        sort_by: None,
        sort_order: SortOrder::Ascending,
        start_index: 1,
        count: 100,
        omit: &[],
    };
    let mg = block_on(pair.memory.list(&pair.ctx, &gq))
        .expect("m")
        .resources;
    let sg = block_on(pair.sqlite.list(&pair.ctx, &gq))
        .expect("s")
        .resources;
    for (a, b) in mg.iter().zip(sg.iter()) {
        let add = |id: &str| {
            MemberChange::Add(vec![
                json!({"value": id})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ])
        };
        let ra = block_on(pair.memory.modify_members(
            &pair.ctx,
            "Group",
            &a.id,
            &[add(&mu[0].id), MemberChange::Remove(vec![mu[2].id.clone()])],
            None,
        ))
        .expect("m mod");
        let rb = block_on(pair.sqlite.modify_members(
            &pair.ctx,
            "Group",
            &b.id,
            &[add(&su[0].id), MemberChange::Remove(vec![su[2].id.clone()])],
            None,
        ))
        .expect("s mod");
        assert_eq!(ra.added.len(), rb.added.len());
        assert_eq!(ra.removed.len(), rb.removed.len());
        if !rb.added.is_empty() || !rb.removed.is_empty() {
            assert_ne!(
                rb.resource.version, b.version,
                "a change makes a new version"
            );
        }
        assert!(!rb.resource.attributes.contains_key("members"));
    }
    assert_eq!(snapshot(true), snapshot(false));
    for text in ["members pr", r#"members.display co "0""#] {
        assert_eq!(list(&mem, text), list(&sql, text), "{text}");
    }
    // The members' order and resolution are the same.
    let mg = block_on(pair.memory.list(&pair.ctx, &gq))
        .expect("m")
        .resources;
    let sg = block_on(pair.sqlite.list(&pair.ctx, &gq))
        .expect("s")
        .resources;
    for (a, b) in mg.iter().zip(sg.iter()) {
        let shape = |r: &scim_core::store::StoredResource| -> Vec<(Value, Value, bool)> {
            r.attributes
                .get("members")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .map(|x| {
                            (
                                x["display"].clone(),
                                x["type"].clone(),
                                x["$ref"].is_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(shape(a), shape(b));
    }
}
