//! The lifecycle of integrations through the public API: create, get, list, rename, rotate
//! (with and without grace), revoke, delete, expiry, last use, tenants.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{BrokenStore, CountingStore, at, tenant};
use scim_tokens::{
    AuthErrorKind, Error, InvalidToken, ManualClock, MemoryStore, NameError, Settings,
    TokenOptions, TokenService,
};

const START: u64 = 1_700_000_000;

fn service() -> (
    TokenService<Arc<CountingStore>, ManualClock>,
    Arc<CountingStore>,
    ManualClock,
) {
    let store = Arc::new(CountingStore::default());
    let clock = ManualClock::new(at(START));
    let service = TokenService::with_clock(Arc::clone(&store), Settings::default(), clock.clone());
    (service, store, clock)
}

fn rejected(result: Result<scim_tokens::Verified, scim_tokens::AuthError>) -> bool {
    matches!(
        result.map_err(scim_tokens::AuthError::into_kind),
        Err(AuthErrorKind::InvalidToken(InvalidToken::Rejected))
    )
}

#[test]
fn create_get_list_rename() {
    let (service, _, clock) = service();
    let acme = tenant("acme");
    let okta = service
        .create(&acme, "  Okta  ", TokenOptions::new())
        .unwrap();
    assert_eq!(okta.integration().name(), "Okta");
    assert_eq!(okta.integration().created_at(), at(START));
    assert_eq!(okta.integration().last_used_at(), None);
    clock.advance(Duration::from_secs(1));
    let entra = service
        .create(&acme, "Entra ID", TokenOptions::new())
        .unwrap();

    let id = okta.integration().id();
    assert_eq!(&service.get(&acme, id).unwrap(), okta.integration());
    let names: Vec<_> = service
        .list(&acme)
        .unwrap()
        .iter()
        .map(|i| i.name().to_owned())
        .collect();
    assert_eq!(names, ["Okta", "Entra ID"]);

    // Names are unique per tenant, case-insensitively; other tenants are free to reuse them.
    assert!(matches!(
        service.create(&acme, "OKTA", TokenOptions::new()),
        Err(Error::NameTaken)
    ));
    service
        .create(&tenant("globex"), "Okta", TokenOptions::new())
        .unwrap();
    assert!(matches!(
        service.rename(&acme, id, "entra id"),
        Err(Error::NameTaken)
    ));
    assert!(matches!(
        service.create(&acme, " ", TokenOptions::new()),
        Err(Error::InvalidName(NameError::Empty))
    ));

    let renamed = service.rename(&acme, id, "Okta (prod)").unwrap();
    assert_eq!(renamed.name(), "Okta (prod)");
    // Renaming keeps the token working.
    assert!(
        service
            .verify(okta.token().expose_secret().as_bytes())
            .is_ok()
    );
    assert!(
        service
            .verify(entra.token().expose_secret().as_bytes())
            .is_ok()
    );
    // The old name is free again.
    service.create(&acme, "okta", TokenOptions::new()).unwrap();
}

#[test]
fn tenants_are_isolated() {
    let (service, _, _) = service();
    let okta = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let id = okta.integration().id();
    let other = tenant("globex");
    assert!(matches!(service.get(&other, id), Err(Error::NotFound)));
    assert!(matches!(
        service.rename(&other, id, "x"),
        Err(Error::NotFound)
    ));
    assert!(matches!(
        service.rotate(&other, id, TokenOptions::new()),
        Err(Error::NotFound)
    ));
    assert!(matches!(
        service.revoke_previous(&other, id),
        Err(Error::NotFound)
    ));
    assert!(matches!(service.delete(&other, id), Err(Error::NotFound)));
    assert!(service.list(&other).unwrap().is_empty());
    let verified = service
        .verify(okta.token().expose_secret().as_bytes())
        .unwrap();
    assert_eq!(verified.tenant(), &tenant("acme"));
}

#[test]
fn rotation_with_grace_period() {
    let (service, _, clock) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let old = issued.token().expose_secret().to_owned();

    let rotated = service
        .rotate(
            &acme,
            id,
            TokenOptions::new().grace(Duration::from_secs(600)),
        )
        .unwrap();
    let new = rotated.token().expose_secret().to_owned();
    assert_ne!(old, new);
    assert_eq!(rotated.integration().tokens().len(), 2);

    // During the grace period both work, each reported as itself.
    clock.advance(Duration::from_secs(599));
    assert_eq!(
        service.verify(old.as_bytes()).unwrap().token(),
        issued.token().id()
    );
    assert_eq!(
        service.verify(new.as_bytes()).unwrap().token(),
        rotated.token().id()
    );
    // From its end on, only the new one.
    clock.advance(Duration::from_secs(1));
    assert!(rejected(service.verify(old.as_bytes())));
    assert!(service.verify(new.as_bytes()).is_ok());
}

#[test]
fn rotation_without_grace_and_revoke_now() {
    let (service, _, _) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let first = issued.token().expose_secret().to_owned();

    // Default: no grace, the old token stops at once.
    let second = service.rotate(&acme, id, TokenOptions::new()).unwrap();
    assert!(rejected(service.verify(first.as_bytes())));
    let second = second.token().expose_secret().to_owned();

    // With grace, then "revoke now" ends it.
    let third = service
        .rotate(
            &acme,
            id,
            TokenOptions::new().grace(Duration::from_secs(3600)),
        )
        .unwrap();
    assert!(service.verify(second.as_bytes()).is_ok());
    let after = service.revoke_previous(&acme, id).unwrap();
    assert_eq!(after.tokens().len(), 1);
    assert!(rejected(service.verify(second.as_bytes())));
    assert!(
        service
            .verify(third.token().expose_secret().as_bytes())
            .is_ok()
    );
}

#[test]
fn at_most_two_live_tokens() {
    let (service, _, _) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let grace = TokenOptions::new().grace(Duration::from_secs(3600));
    let mut tokens = vec![issued.token().expose_secret().to_owned()];
    for _ in 0..3 {
        let r = service.rotate(&acme, id, grace).unwrap();
        assert!(r.integration().tokens().len() <= 2);
        tokens.push(r.token().expose_secret().to_owned());
    }
    let live: Vec<bool> = tokens
        .iter()
        .map(|t| service.verify(t.as_bytes()).is_ok())
        .collect();
    assert_eq!(live, [false, false, true, true]);
}

#[test]
fn delete_stops_every_token() {
    let (service, _, _) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let rotated = service
        .rotate(
            &acme,
            id,
            TokenOptions::new().grace(Duration::from_secs(3600)),
        )
        .unwrap();
    let keep = service.create(&acme, "Entra", TokenOptions::new()).unwrap();
    for t in [issued.token(), rotated.token()] {
        assert!(service.verify(t.expose_secret().as_bytes()).is_ok());
    }
    let deleted = service.delete(&acme, id).unwrap();
    assert_eq!(deleted.id(), id);
    for t in [issued.token(), rotated.token()] {
        assert!(rejected(service.verify(t.expose_secret().as_bytes())));
    }
    assert!(matches!(service.get(&acme, id), Err(Error::NotFound)));
    assert!(matches!(service.delete(&acme, id), Err(Error::NotFound)));
    // Other integrations are untouched.
    assert!(
        service
            .verify(keep.token().expose_secret().as_bytes())
            .is_ok()
    );
}

#[test]
fn optional_expiry() {
    let (service, _, clock) = service();
    let acme = tenant("acme");
    let forever = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let day = service
        .create(
            &acme,
            "Entra",
            TokenOptions::new().expires_in(Duration::from_secs(86_400)),
        )
        .unwrap();
    assert_eq!(forever.integration().tokens()[0].expires_at(), None);
    assert_eq!(
        day.integration().tokens()[0].expires_at(),
        Some(at(START + 86_400))
    );
    clock.advance(Duration::from_secs(86_399));
    assert!(
        service
            .verify(day.token().expose_secret().as_bytes())
            .is_ok()
    );
    clock.advance(Duration::from_secs(1));
    assert!(rejected(
        service.verify(day.token().expose_secret().as_bytes())
    ));
    clock.advance(Duration::from_secs(10 * 365 * 86_400));
    assert!(
        service
            .verify(forever.token().expose_secret().as_bytes())
            .is_ok()
    );
}

#[test]
fn last_use_is_written_about_once_a_minute() {
    let (service, store, clock) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let token = issued.token().expose_secret().as_bytes();

    for _ in 0..100 {
        service.verify(token).unwrap();
    }
    assert_eq!(store.uses(), 1);
    assert_eq!(
        service.get(&acme, id).unwrap().last_used_at(),
        Some(at(START))
    );
    clock.advance(Duration::from_secs(59));
    service.verify(token).unwrap();
    assert_eq!(store.uses(), 1);
    clock.advance(Duration::from_secs(1));
    service.verify(token).unwrap();
    service.verify(token).unwrap();
    assert_eq!(store.uses(), 2);
    let details = service.get(&acme, id).unwrap();
    assert_eq!(details.last_used_at(), Some(at(START + 60)));
    assert_eq!(details.tokens()[0].last_used_at(), Some(at(START + 60)));
    // A refused token does not count as a use.
    let rotated = service.rotate(&acme, id, TokenOptions::new()).unwrap();
    clock.advance(Duration::from_secs(3600));
    assert!(service.verify(token).is_err());
    assert_eq!(store.uses(), 2);
    service
        .verify(rotated.token().expose_secret().as_bytes())
        .unwrap();
    assert_eq!(store.uses(), 3);
}

#[test]
fn records_survive_a_serde_round_trip_into_another_store() {
    let (service, _, _) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let json = serde_json::to_string(&service.list(&acme).unwrap()).unwrap();
    assert!(!json.contains(issued.token().expose_secret()));
    let restored: Vec<scim_tokens::Integration> = serde_json::from_str(&json).unwrap();
    let other = TokenService::new(MemoryStore::new(), Settings::default());
    for r in restored {
        scim_tokens::TokenStore::insert(other.store(), r).unwrap();
    }
    let verified = other
        .verify(issued.token().expose_secret().as_bytes())
        .unwrap();
    assert_eq!(verified.integration(), issued.integration().id());
}

#[test]
fn store_failures_surface_as_errors() {
    let service = TokenService::new(BrokenStore, Settings::default());
    let acme = tenant("acme");
    assert!(matches!(
        service.create(&acme, "Okta", TokenOptions::new()),
        Err(Error::Store(_))
    ));
    assert!(matches!(service.list(&acme), Err(Error::Store(_))));
    let good = TokenService::new(MemoryStore::new(), Settings::default());
    let issued = good.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let err = service
        .verify(issued.token().expose_secret().as_bytes())
        .unwrap_err();
    assert_eq!(err.status(), 500);
    assert!(err.www_authenticate().is_none());
    assert!(!format!("{err} {err:?}").contains(issued.token().expose_secret()));
}

#[test]
fn verification_holds_while_records_change_concurrently() {
    let (service, _, _) = service();
    let acme = tenant("acme");
    let issued = service.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let id = issued.integration().id();
    let token = issued.token().expose_secret().as_bytes().to_vec();
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    (0..2_000)
                        .filter(|_| service.verify(&token).is_ok())
                        .count()
                })
            })
            .collect();
        for i in 0..200 {
            service.rename(&acme, id, &format!("Okta {i}")).unwrap();
            service
                .create(&acme, &format!("Other {i}"), TokenOptions::new())
                .unwrap();
        }
        for reader in readers {
            assert_eq!(reader.join().unwrap(), 2_000);
        }
    });
    assert_eq!(service.get(&acme, id).unwrap().name(), "Okta 199");
}
