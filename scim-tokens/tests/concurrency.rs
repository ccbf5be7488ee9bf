//! `MemoryStore` read without a lock: threads verifying while others write.
//!
//! Each verifying thread keeps its own snapshot of the token index; these tests check that a
//! write is seen by the very next verification on every thread once the write has returned
//! (no stale success), that writes to other integrations never make a verification fail,
//! and that no note of a last use is lost while records are being replaced.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{at, tenant};
use scim_tokens::{
    Integration, IntegrationId, ManualClock, MemoryStore, Settings, TokenOptions, TokenService,
    TokenStore,
};

const READERS: usize = 3;

type Service = TokenService<Arc<MemoryStore>>;

fn service_on(store: &Arc<MemoryStore>) -> Service {
    TokenService::new(Arc::clone(store), Settings::default())
}

/// Some integrations besides the one under test, so the index has several shards in use.
fn fill(service: &Service, n: usize) {
    for i in 0..n {
        service
            .create(&tenant("other"), &format!("other {i}"), TokenOptions::new())
            .unwrap();
    }
}

/// Runs `READERS` threads verifying `token` until told to stop, while `write` runs on this
/// thread once every reader has verified at least once (so each has a cached snapshot).
/// After `write` returns, every verification that starts must give `after`; each reader
/// makes at least `CHECKS_AFTER` of them before the readers are stopped.
fn readers_during(store: &Arc<MemoryStore>, token: String, after: bool, write: impl FnOnce()) {
    const CHECKS_AFTER: usize = 200;
    let written = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(READERS + 1));
    let checked: Arc<Vec<AtomicUsize>> = Arc::new((0..READERS).map(|_| 0.into()).collect());
    let handles: Vec<_> = (0..READERS)
        .map(|i| {
            let (service, token) = (service_on(store), token.clone());
            let (written, stop, ready) = (written.clone(), stop.clone(), ready.clone());
            let checked = checked.clone();
            thread::spawn(move || {
                assert!(service.verify(token.as_bytes()).is_ok());
                ready.wait();
                while !stop.load(Ordering::SeqCst) {
                    // Read before the verification starts: if the write had returned by
                    // then, the verification must see it.
                    let write_returned = written.load(Ordering::SeqCst);
                    let ok = service.verify(token.as_bytes()).is_ok();
                    if write_returned {
                        assert_eq!(ok, after, "a verification after the write returned");
                        checked[i].fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    ready.wait();
    // Let the readers run on their cached snapshots for a moment.
    thread::sleep(Duration::from_millis(10));
    write();
    written.store(true, Ordering::SeqCst);
    // However the threads are scheduled, every reader checks the result after the write
    // (a reader that failed an assertion has stopped: the join below reports it).
    while checked
        .iter()
        .any(|c| c.load(Ordering::SeqCst) < CHECKS_AFTER)
        && handles.iter().all(|h| !h.is_finished())
    {
        thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::SeqCst);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn delete_is_seen_by_every_thread_at_once() {
    let store = Arc::new(MemoryStore::new());
    let service = service_on(&store);
    fill(&service, 300);
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let id = issued.integration().id();
    let token = issued.token().expose_secret().to_owned();
    readers_during(&store, token.clone(), false, || {
        service.delete(&tenant("acme"), id).unwrap();
    });
    assert!(service.verify(token.as_bytes()).is_err());
}

#[test]
fn rotation_without_grace_is_seen_by_every_thread_at_once() {
    let store = Arc::new(MemoryStore::new());
    let service = service_on(&store);
    fill(&service, 300);
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let id = issued.integration().id();
    let old = issued.token().expose_secret().to_owned();
    let new = std::sync::Mutex::new(None);
    readers_during(&store, old.clone(), false, || {
        let rotated = service
            .rotate(&tenant("acme"), id, TokenOptions::new())
            .unwrap();
        *new.lock().unwrap() = Some(rotated.token().expose_secret().to_owned());
    });
    // The new token works on every thread, the first time each tries it.
    let new = new.lock().unwrap().take().unwrap();
    let handles: Vec<_> = (0..READERS)
        .map(|_| {
            let (service, new, old) = (service_on(&store), new.clone(), old.clone());
            thread::spawn(move || {
                assert!(service.verify(new.as_bytes()).is_ok());
                assert!(service.verify(old.as_bytes()).is_err());
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn revoking_the_previous_token_is_seen_by_every_thread_at_once() {
    let store = Arc::new(MemoryStore::new());
    let service = service_on(&store);
    fill(&service, 100);
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let id = issued.integration().id();
    let old = issued.token().expose_secret().to_owned();
    service
        .rotate(
            &tenant("acme"),
            id,
            TokenOptions::new().grace(Duration::from_secs(3600)),
        )
        .unwrap();
    assert!(service.verify(old.as_bytes()).is_ok());
    readers_during(&store, old, false, || {
        service.revoke_previous(&tenant("acme"), id).unwrap();
    });
}

#[test]
fn writes_to_other_integrations_never_fail_a_verification() {
    let store = Arc::new(MemoryStore::new());
    let service = service_on(&store);
    fill(&service, 100);
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let token = issued.token().expose_secret().to_owned();
    // Every write publishes a new snapshot (and copies shards the readers hold): the
    // readers' token must verify throughout, before and after each of them.
    readers_during(&store, token, true, || {
        for round in 0..200 {
            let created = service
                .create(&tenant("churn"), &format!("c{round}"), TokenOptions::new())
                .unwrap();
            let id = created.integration().id();
            service
                .rename(&tenant("churn"), id, &format!("renamed {round}"))
                .unwrap();
            service
                .rotate(&tenant("churn"), id, TokenOptions::new())
                .unwrap();
            if round % 2 == 0 {
                service.delete(&tenant("churn"), id).unwrap();
            }
        }
    });
    assert_eq!(store.list(&tenant("churn")).unwrap().len(), 100);
}

#[test]
fn no_last_use_note_is_lost_while_records_are_replaced() {
    // Each thread verifies its own integration's token at times 1, 2, 3, ... on its own
    // clock, noting every use (interval zero), and reads the note back at once; meanwhile
    // another thread renames every integration again and again, replacing each record.
    const ROUNDS: u64 = 20_000;
    let store = Arc::new(MemoryStore::new());
    let settings = Settings::default().with_last_used_interval(Duration::ZERO);
    let admin = TokenService::new(Arc::clone(&store), settings.clone());
    let issued: Vec<(IntegrationId, String)> = (0..READERS)
        .map(|i| {
            let issued = admin
                .create(&tenant("acme"), &format!("idp {i}"), TokenOptions::new())
                .unwrap();
            let token = issued.token().expose_secret().to_owned();
            (issued.integration().id(), token)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let renames = Arc::new(AtomicUsize::new(0));
    let renamer = {
        let (stop, renames) = (stop.clone(), renames.clone());
        let admin = TokenService::new(Arc::clone(&store), settings.clone());
        let ids: Vec<IntegrationId> = issued.iter().map(|(id, _)| *id).collect();
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                for (i, id) in ids.iter().enumerate() {
                    admin
                        .rename(&tenant("acme"), *id, &format!("idp {i} ({n})"))
                        .unwrap();
                }
                n += 1;
                renames.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let verifiers: Vec<_> = issued
        .iter()
        .cloned()
        .map(|(id, token)| {
            let clock = ManualClock::new(at(0));
            let service = TokenService::with_clock(Arc::clone(&store), settings.clone(), clock);
            thread::spawn(move || {
                for t in 1..=ROUNDS {
                    service.clock().set(at(t));
                    let verified = service.verify(token.as_bytes()).unwrap();
                    assert!(verified.record_use_due());
                    let record: Integration = service.get(&tenant("acme"), id).unwrap();
                    assert_eq!(record.last_used_at(), Some(at(t)), "round {t}");
                    assert_eq!(record.tokens()[0].last_used_at(), Some(at(t)), "round {t}");
                }
            })
        })
        .collect();
    for v in verifiers {
        v.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    renamer.join().unwrap();
    assert!(renames.load(Ordering::SeqCst) > 0);
    for (id, _) in &issued {
        let record = store.get(&tenant("acme"), *id).unwrap().unwrap();
        assert_eq!(record.last_used_at(), Some(at(ROUNDS)));
    }
}

#[test]
fn a_store_read_from_inside_another_reads_correctly() {
    // The per-thread cache is in use while a lookup's callback runs; a lookup of another
    // store from inside it takes the locked path, and both answers are right.
    let (a, b) = (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
    let (sa, sb) = (service_on(&a), service_on(&b));
    let ta = sa
        .create(&tenant("t"), "A", TokenOptions::new())
        .unwrap()
        .token()
        .id();
    let tb = sb
        .create(&tenant("t"), "B", TokenOptions::new())
        .unwrap()
        .token()
        .id();
    let mut seen = Vec::new();
    a.with_token_record(ta, &mut |found| {
        seen.push(found.map(|m| m.integration().name().to_owned()));
        b.with_token_record(tb, &mut |inner| {
            seen.push(inner.map(|m| m.integration().name().to_owned()));
        })
        .unwrap();
        b.with_token_record(ta, &mut |inner| assert!(inner.is_none()))
            .unwrap();
    })
    .unwrap();
    assert_eq!(seen, [Some("A".to_owned()), Some("B".to_owned())]);
    // Alternating between the two stores on one thread gives each its own answer.
    for _ in 0..3 {
        assert!(a.find_by_token(ta).unwrap().is_some());
        assert!(b.find_by_token(ta).unwrap().is_none());
        assert!(b.find_by_token(tb).unwrap().is_some());
    }
}
