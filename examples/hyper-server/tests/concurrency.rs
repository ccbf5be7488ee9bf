//! Concurrency and crash safety of the `hyper-server` binary (issue 7): concurrent member
//! changes lose no update, concurrent creates of one userName give exactly one 201, and
//! every write acknowledged with a 2xx before a SIGKILL is there after the restart, in a
//! database that passes `PRAGMA integrity_check`.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::{PATCH, USER, create_group, create_user, http, member_ids, serve, temp_dir};

const THREADS: usize = 16;

/// Runs `f(t)` on [`THREADS`] threads started together; their results in order.
fn on_threads<T: Send + 'static>(f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let f = f.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                f(t)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect()
}

#[test]
fn concurrent_member_changes_lose_no_update() {
    let dir = temp_dir("members");
    let db = dir.join("scim.db");
    let server = serve(&db);
    let token = server.banner_token();
    let port = server.port;
    let users: Vec<String> = (0..200)
        .map(|i| create_user(port, &token, &format!("member{i}@example.com")))
        .collect();
    let group = create_group(port, &token, "Contended", &[]);
    let users = Arc::new(users);

    // 16 threads add the 200 users, one PATCH each, in every dialect identity providers use.
    let (u, g, tk) = (users.clone(), group.clone(), token.clone());
    let failures: Vec<Vec<String>> = on_threads(move |t| {
        let mut bad = Vec::new();
        for (i, id) in u.iter().enumerate().filter(|(i, _)| i % THREADS == t) {
            let op = if i % 2 == 0 { "add" } else { "Add" };
            let body = format!(
                r#"{{"schemas":["{PATCH}"],"Operations":[{{"op":"{op}","path":"members","value":[{{"value":"{id}"}}]}}]}}"#
            );
            match http(port, "PATCH", &format!("/scim/v2/Groups/{g}"), &tk, &body) {
                Ok(r) if r.status == 200 || r.status == 204 => {}
                other => bad.push(format!("add {id}: {other:?}")),
            }
        }
        bad
    });
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{failures:?}");
    let after_add = member_ids(port, &token, &group);
    let all: BTreeSet<String> = users.iter().cloned().collect();
    let lost_adds = all.difference(&after_add.iter().cloned().collect()).count();
    assert_eq!(after_add.len(), 200, "lost adds: {lost_adds}");

    // Then remove the first 100 concurrently: by value filter, and the Entra ID form.
    let (u, g, tk) = (users.clone(), group.clone(), token.clone());
    let failures: Vec<Vec<String>> = on_threads(move |t| {
        let mut bad = Vec::new();
        for (i, id) in u[..100]
            .iter()
            .enumerate()
            .filter(|(i, _)| i % THREADS == t)
        {
            let op = if i % 2 == 0 {
                format!(r#"{{"op":"remove","path":"members[value eq \"{id}\"]"}}"#)
            } else {
                format!(r#"{{"op":"Remove","path":"members","value":[{{"value":"{id}"}}]}}"#)
            };
            let body = format!(r#"{{"schemas":["{PATCH}"],"Operations":[{op}]}}"#);
            match http(port, "PATCH", &format!("/scim/v2/Groups/{g}"), &tk, &body) {
                Ok(r) if r.status == 200 || r.status == 204 => {}
                other => bad.push(format!("remove {id}: {other:?}")),
            }
        }
        bad
    });
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{failures:?}");
    let remaining: BTreeSet<String> = member_ids(port, &token, &group).into_iter().collect();
    let expected: BTreeSet<String> = users[100..].iter().cloned().collect();
    let lost = expected.symmetric_difference(&remaining).count();
    eprintln!(
        "members: 200 concurrent adds, 100 concurrent removes on {THREADS} threads; \
         {} remain; lost updates: {lost}",
        remaining.len()
    );
    assert_eq!(lost, 0, "remaining {} members", remaining.len());
    // Each user sees the group (User.groups is derived from the same rows).
    for (i, id) in users.iter().enumerate().step_by(25) {
        let (_, body) = common::request(port, "GET", &format!("/scim/v2/Users/{id}"), &token, "");
        let in_group = body.contains(&group);
        assert_eq!(in_group, i >= 100, "user {i}: {body}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_creates_of_one_user_name_give_one_201() {
    let dir = temp_dir("unique");
    let db = dir.join("scim.db");
    let server = serve(&db);
    let token = server.banner_token();
    let port = server.port;
    for round in 0..5 {
        let tk = token.clone();
        let statuses = on_threads(move |t| {
            // userName is caseExact=false: case variants are the same name.
            let name = if t % 2 == 0 {
                format!("race{round}@example.com")
            } else {
                format!("RACE{round}@Example.com")
            };
            let body = format!(r#"{{"schemas":["{USER}"],"userName":"{name}"}}"#);
            match http(port, "POST", "/scim/v2/Users", &tk, &body) {
                Ok(r) => (r.status, r.json()["scimType"].as_str().map(str::to_owned)),
                Err(f) => panic!("{f:?}"),
            }
        });
        let created = statuses.iter().filter(|(s, _)| *s == 201).count();
        let conflicts = statuses
            .iter()
            .filter(|(s, t)| *s == 409 && t.as_deref() == Some("uniqueness"))
            .count();
        assert_eq!(
            (created, conflicts),
            (1, THREADS - 1),
            "round {round}: {statuses:?}"
        );
        let (_, body) = common::request(
            port,
            "GET",
            &format!("/scim/v2/Users?filter=userName%20eq%20%22race{round}%40example.com%22"),
            &token,
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["totalResults"], 1, "{body}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What one writer had acknowledged when the server died.
#[derive(Default)]
struct Acked {
    /// Created users: id to userName.
    created: HashMap<String, String>,
    /// For each of the writer's users, the last acknowledged `displayName` version and
    /// whether a later write was in flight.
    versions: HashMap<String, (u64, bool)>,
    /// Users whose addition to the shared group was acknowledged.
    members: Vec<String>,
    writes: usize,
}

#[test]
fn acknowledged_writes_survive_sigkill_under_load() {
    const WRITERS: usize = 8;
    let dir = temp_dir("sigkill");
    let db = dir.join("scim.db");
    let mut server = serve(&db);
    let token = server.banner_token();
    let port = server.port;
    let group = create_group(port, &token, "Everyone", &[]);
    let acked: Arc<Vec<Mutex<Acked>>> =
        Arc::new((0..WRITERS).map(|_| Mutex::new(Acked::default())).collect());

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, token, group) = (acked.clone(), token.clone(), group.clone());
            std::thread::spawn(move || {
                let record = |f: &mut dyn FnMut(&mut Acked)| {
                    if let Ok(mut a) = acked[w].lock() {
                        f(&mut a);
                    }
                };
                let mut mine: Vec<String> = Vec::new();
                for n in 0u64.. {
                    // Create, then PATCH a user of this writer, then add it to the group.
                    let name = format!("w{w}-{n}@example.com");
                    let body = format!(r#"{{"schemas":["{USER}"],"userName":"{name}"}}"#);
                    match http(port, "POST", "/scim/v2/Users", &token, &body) {
                        Ok(r) if r.status == 201 => {
                            let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                            record(&mut |a| {
                                a.created.insert(id.clone(), name.clone());
                                a.versions.insert(id.clone(), (0, false));
                                a.writes += 1;
                            });
                            mine.push(id);
                        }
                        Ok(r) => panic!("create answered {}: {}", r.status, r.text()),
                        Err(_) => return,
                    }
                    let target = mine[(n as usize * 7) % mine.len()].clone();
                    let version = n + 1;
                    record(&mut |a| {
                        if let Some(v) = a.versions.get_mut(&target) {
                            v.1 = true;
                        }
                    });
                    let body = format!(
                        r#"{{"schemas":["{PATCH}"],"Operations":[{{"op":"replace","path":"displayName","value":"v{version}"}}]}}"#
                    );
                    match http(port, "PATCH", &format!("/scim/v2/Users/{target}"), &token, &body)
                    {
                        Ok(r) if r.status == 200 => record(&mut |a| {
                            a.versions.insert(target.clone(), (version, false));
                            a.writes += 1;
                        }),
                        Ok(r) => panic!("patch answered {}: {}", r.status, r.text()),
                        Err(_) => return,
                    }
                    let id = mine[mine.len() - 1].clone();
                    let body = format!(
                        r#"{{"schemas":["{PATCH}"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"{id}"}}]}}]}}"#
                    );
                    match http(port, "PATCH", &format!("/scim/v2/Groups/{group}"), &token, &body) {
                        Ok(r) if r.status == 200 || r.status == 204 => record(&mut |a| {
                            a.members.push(id.clone());
                            a.writes += 1;
                        }),
                        Ok(r) => panic!("member add answered {}: {}", r.status, r.text()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();

    // Let the load run, then SIGKILL the server in the middle of it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let writes: usize = acked.iter().map(|a| a.lock().map_or(0, |a| a.writes)).sum();
        if writes >= 1500 || Instant::now() > deadline {
            break;
        }
    }
    server.kill();
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!(common::integrity_check(&db), "ok", "right after the kill");

    let server = serve(&db);
    let mut checked = 0usize;
    let mut lost = Vec::new();
    let group_members: BTreeSet<String> = member_ids(server.port, &token, &group)
        .into_iter()
        .collect();
    for a in acked.iter() {
        let a = a.lock().expect("lock");
        for (id, name) in &a.created {
            checked += 1;
            let r = http(
                server.port,
                "GET",
                &format!("/scim/v2/Users/{id}"),
                &token,
                "",
            )
            .expect("get");
            let v = r.json();
            if r.status != 200 || v["userName"] != name.as_str() {
                lost.push(format!("create {name}: {}", r.status));
                continue;
            }
            let (version, in_flight) = a.versions.get(id).copied().unwrap_or((0, false));
            if version > 0 {
                checked += 1;
                let stored = v["displayName"]
                    .as_str()
                    .and_then(|s| s.strip_prefix('v'))
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0);
                // The acknowledged value, or a later one whose answer the kill cut off.
                if stored < version || (stored > version && !in_flight) {
                    lost.push(format!(
                        "patch of {name}: v{version} acknowledged, v{stored} stored"
                    ));
                }
            }
        }
        for id in &a.members {
            checked += 1;
            if !group_members.contains(id) {
                lost.push(format!("member {id}"));
            }
        }
    }
    drop(server);
    eprintln!(
        "SIGKILL under load ({WRITERS} writers): {checked} acknowledged writes checked after \
         restart; lost: {}",
        lost.len()
    );
    assert!(
        checked >= 100,
        "the load ran: {checked} acknowledged writes"
    );
    assert!(lost.is_empty(), "lost acknowledged writes: {lost:?}");
    assert_eq!(common::integrity_check(&db), "ok", "after the restart");
    let _ = std::fs::remove_dir_all(&dir);
}
