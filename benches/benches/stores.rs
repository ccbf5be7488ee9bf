//! Criterion benchmarks of the example stores (in process, through `ResourceStore`): the
//! SQLite store on a file and the PostgreSQL store on the database of
//! `SCIM_BENCH_POSTGRES_URL` (skipped without it), each loaded in bulk with 100,000 users
//! and a group of 100,000 members:
//!
//! - `<store>/filter_user_name/100k`: `list` with `userName eq "..."` (the folded-userName
//!   index);
//! - `<store>/add_member/100k`: `modify_members` adding one new member to the
//!   100,000-member group (one member row and the group's version; the answer omits the
//!   members).
//!
//! `SCIM_BENCH_POSTGRES_URL=postgres://... cargo bench -p scim-benches --bench stores`
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::Registry;
use scim_core::message::SortOrder;
use scim_core::store::{ListQuery, MemberChange, RequestContext, ResourceStore};
use scim_example_support::backend::{AnyStore, Backend};
use scim_example_support::db::Durability;
use scim_example_support::pg::block_on;
use serde_json::json;

const USERS: i64 = 100_000;
const TENANT: &str = "bench";
const GROUP: &str = "group-100k";

fn ctx() -> RequestContext {
    RequestContext::new(TENANT, "integration", "Bench IdP")
}

/// Fills the resource tables in bulk (one statement each): users `user00000`...,
/// one group with every user as a member.
fn bulk_sql(now: &str, postgres: bool) -> String {
    let (series, user, member, group) = if postgres {
        (
            format!("generate_series(1, {USERS}) AS i"),
            "jsonb_build_object('userName', 'User' || i, 'active', true)",
            "jsonb_build_object('value', 'u' || i)",
            "'{\"displayName\":\"Everyone\"}'::jsonb",
        )
    } else {
        (
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
                 WHERE i < {USERS}) SELECT i FROM s)"
            ),
            "json_object('userName', 'User' || i, 'active', json('true'))",
            "json_object('value', 'u' || i)",
            "'{\"displayName\":\"Everyone\"}'",
        )
    };
    format!(
        "DELETE FROM members WHERE tenant = '{TENANT}';
         DELETE FROM resources WHERE tenant = '{TENANT}';
         INSERT INTO resources (tenant, resource_type, id, version, created, last_modified, data,
             user_name_folded)
           SELECT '{TENANT}', 'User', 'u' || i, i, '{now}', '{now}', {user}, 'user' || i
           FROM {series};
         INSERT INTO resources (tenant, resource_type, id, version, created, last_modified, data,
             display_name_folded)
           VALUES ('{TENANT}', 'Group', '{GROUP}', 0, '{now}', '{now}', {group}, 'everyone');
         INSERT INTO members (tenant, group_id, value, data)
           SELECT '{TENANT}', '{GROUP}', 'u' || i, {member}
           FROM {series};"
    )
}

fn sqlite_store(dir: &std::path::Path) -> AnyStore {
    let path = dir.join("bench.db");
    let _ = std::fs::remove_file(&path);
    // Create the schema, then load it in bulk.
    drop(Backend::open(&path, Durability::Normal).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let now = jiff::Timestamp::now().to_string();
    let sql = bulk_sql(&now, false);
    conn.execute_batch(&format!("BEGIN; {sql} COMMIT;"))
        .expect("bulk load");
    drop(conn);
    Backend::open(&path, Durability::Normal)
        .expect("open")
        .store()
}

fn postgres_store(url: &str) -> AnyStore {
    let backend = Backend::open(std::path::Path::new(url), Durability::Normal).expect("open");
    let now = jiff::Timestamp::now().to_string();
    // Through a plain connection: the store has no bulk API.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("BEGIN; {} COMMIT; ANALYZE;", bulk_sql(&now, true)))
            .await
            .expect("bulk load");
        drop(client);
        let _ = driver.await;
    });
    backend.store()
}

fn bench_store(c: &mut Criterion, name: &str, store: &AnyStore) {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let ctx = ctx();
    let mut g = c.benchmark_group(name);
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let n = AtomicU64::new(0);
    g.bench_function("filter_user_name/100k", |b| {
        b.iter(|| {
            let i = n.fetch_add(7919, Ordering::Relaxed) % (USERS as u64) + 1;
            let text = format!("userName eq \"USER{i}\"");
            let f = scim_filter::parse(&text).expect("filter");
            let q = ListQuery {
                schema: users,
                filter: Some(&f),
                sort_by: None,
                sort_order: SortOrder::Ascending,
                start_index: 1,
                count: 100,
                omit: &[],
            };
            let page = block_on(store.list(&ctx, &q)).expect("list");
            assert_eq!(page.total, 1);
            black_box(page)
        })
    });
    let m = AtomicU64::new(0);
    g.bench_function("add_member/100k", |b| {
        b.iter(|| {
            let i = m.fetch_add(1, Ordering::Relaxed);
            let member = json!({"value": format!("new-{i}-{}", std::process::id())});
            let change = MemberChange::Add(vec![member.as_object().cloned().unwrap_or_default()]);
            let done =
                block_on(store.modify_members(&ctx, "Group", GROUP, &[change], None)).expect("add");
            assert_eq!(done.added.len(), 1);
            black_box(done)
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("scim-bench-stores-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = sqlite_store(&dir);
    bench_store(c, "sqlite", &sqlite);
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var("SCIM_BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let pg = postgres_store(&url);
            bench_store(c, "postgres", &pg);
        }
        _ => eprintln!("postgres: skipped (set SCIM_BENCH_POSTGRES_URL)"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
