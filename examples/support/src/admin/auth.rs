//! Admin access: the password (argon2id in the database), sessions with CSRF tokens, and
//! the slow-down after failed logins.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use rand_core::{OsRng, TryRngCore as _};
use rusqlite::{OptionalExtension as _, params};
use subtle::ConstantTimeEq as _;

use crate::db::Database;

/// The shortest admin password accepted from the environment.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Why admin access could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Randomness,
    /// The password could not be hashed, or the stored hash is unreadable.
    #[error("admin password hash: {0}")]
    Hash(String),
    /// The password from the environment is too short.
    #[error("the admin password must have at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
}

/// `n` random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], AdminError> {
    let mut b = [0u8; N];
    OsRng
        .try_fill_bytes(&mut b)
        .map_err(|_| AdminError::Randomness)?;
    Ok(b)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// A password generated at the first start: shown once, never in `Debug`.
pub struct GeneratedPassword(String);

impl GeneratedPassword {
    /// The password text, to print once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GeneratedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GeneratedPassword(..)")
    }
}

/// An argon2id hash (PHC string) of `password` with a fresh salt.
pub(crate) fn hash_password(password: &str) -> Result<String, AdminError> {
    let salt =
        SaltString::encode_b64(&random::<16>()?).map_err(|e| AdminError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (compared in constant time by argon2).
pub(crate) fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The stored password hash, if any.
fn stored_hash(db: &Database) -> Result<Option<String>, AdminError> {
    Ok(db
        .lock()
        .query_row("SELECT hash FROM admin_password WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?)
}

fn store_hash(db: &Database, hash: &str) -> Result<(), AdminError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    db.write(AdminError::Db, |tx| {
        tx.execute(
            "INSERT INTO admin_password (id, hash, updated) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, updated = excluded.updated",
            params![hash, now],
        )?;
        Ok(())
    })
}

/// The password hash to check logins against: from `from_env` when given (stored, so the
/// database follows the environment), else the stored one, else a new password generated,
/// stored and returned once.
pub(crate) fn load_password(
    db: &Database,
    from_env: Option<&str>,
) -> Result<(String, Option<GeneratedPassword>), AdminError> {
    let stored = stored_hash(db)?;
    if let Some(p) = from_env {
        if p.chars().count() < MIN_PASSWORD_LEN {
            return Err(AdminError::TooShort);
        }
        if let Some(h) = stored.filter(|h| verify_password(h, p)) {
            return Ok((h, None));
        }
        let h = hash_password(p)?;
        store_hash(db, &h)?;
        return Ok((h, None));
    }
    if let Some(h) = stored {
        PasswordHash::new(&h).map_err(|e| AdminError::Hash(e.to_string()))?;
        return Ok((h, None));
    }
    let bytes = random::<15>()?;
    let text = hex(&bytes);
    // Groups of five for reading aloud and typing: 30 hex digits, 120 bits.
    let grouped = text
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let h = hash_password(&grouped)?;
    store_hash(db, &h)?;
    Ok((h, Some(GeneratedPassword(grouped))))
}

/// One logged-in browser.
#[derive(Clone)]
pub(crate) struct Session {
    /// The CSRF token every form of this session carries.
    pub(crate) csrf: String,
    /// When it ends if unused.
    pub(crate) expires: Instant,
    /// When it ends however much it is used ([`MAX_SESSION_LIFE`] after the login).
    pub(crate) ends: Instant,
    /// A one-time notice for the next page.
    pub(crate) notice: Option<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The longest a session lives, used or not: then the password is asked again.
pub(crate) const MAX_SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);

/// The most sessions kept; the one closest to expiry goes first.
pub(crate) const MAX_SESSIONS: usize = 256;

/// The sessions, by their cookie value.
#[derive(Default)]
pub(crate) struct Sessions {
    map: HashMap<String, Session>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sessions({})", self.map.len())
    }
}

impl Sessions {
    /// Starts a session living `ttl` from `now`; its cookie value.
    pub(crate) fn create(&mut self, now: Instant, ttl: Duration) -> Result<String, AdminError> {
        self.map.retain(|_, s| s.expires > now);
        if self.map.len() >= MAX_SESSIONS {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        let id = hex(&random::<32>()?);
        let csrf = hex(&random::<32>()?);
        self.map.insert(
            id.clone(),
            Session {
                csrf,
                expires: now + ttl,
                ends: now + MAX_SESSION_LIFE,
                notice: None,
            },
        );
        Ok(id)
    }

    /// The live session of cookie value `id`, its expiry pushed to `now + ttl` (never past
    /// its end).
    pub(crate) fn touch(&mut self, id: &str, now: Instant, ttl: Duration) -> Option<&mut Session> {
        if self.map.get(id).is_some_and(|s| s.expires <= now) {
            self.map.remove(id);
            return None;
        }
        let s = self.map.get_mut(id)?;
        s.expires = (now + ttl).min(s.ends);
        Some(s)
    }

    /// Ends the session `id`.
    pub(crate) fn remove(&mut self, id: &str) {
        self.map.remove(id);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Whether `given` equals the session's CSRF token, compared in constant time.
pub(crate) fn csrf_matches(session: &Session, given: &str) -> bool {
    bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

/// Failed logins in a row before logins slow down.
pub(crate) const FREE_FAILURES: u32 = 3;

/// The slow-down after failed logins: after [`FREE_FAILURES`] failures in a row, each
/// further failure closes logins for 1, 2, 4, ... up to 64 seconds. A success resets it.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: u32,
    closed_until: Option<Instant>,
}

impl Throttle {
    /// `Err(wait)` while logins are closed.
    pub(crate) fn check(&self, now: Instant) -> Result<(), Duration> {
        match self.closed_until {
            Some(t) if t > now => Err(t - now),
            _ => Ok(()),
        }
    }

    /// Notes a failed login.
    pub(crate) fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.failures > FREE_FAILURES {
            let exp = (self.failures - FREE_FAILURES - 1).min(6);
            self.closed_until = Some(now + Duration::from_secs(1u64 << exp));
        }
    }

    /// Notes a successful login.
    pub(crate) fn succeeded(&mut self) {
        *self = Throttle::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
    }

    #[test]
    fn the_password_is_generated_once_and_follows_the_environment() {
        let db = Database::open_in_memory().expect("db");
        let (h1, generated) = load_password(&db, None).expect("first");
        let generated = generated.expect("generated at the first start");
        assert_eq!(format!("{generated:?}"), "GeneratedPassword(..)");
        assert_eq!(generated.expose().len(), 35);
        assert!(verify_password(&h1, generated.expose()));
        let (h2, again) = load_password(&db, None).expect("second");
        assert!(again.is_none(), "printed once");
        assert_eq!(h1, h2);

        assert!(matches!(
            load_password(&db, Some("short")),
            Err(AdminError::TooShort)
        ));
        let (h3, none) = load_password(&db, Some("from the environment")).expect("env");
        assert!(none.is_none());
        assert!(verify_password(&h3, "from the environment"));
        assert!(!verify_password(&h3, generated.expose()));
        let (h4, _) = load_password(&db, None).expect("stored");
        assert_eq!(h3, h4, "the environment's password was stored");
        let (h5, _) = load_password(&db, Some("from the environment")).expect("same");
        assert_eq!(h4, h5, "an unchanged password is not re-hashed");
    }

    #[test]
    fn sessions_expire_and_slide() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let id = s.create(t0, ttl).expect("create");
        assert_eq!(id.len(), 64);
        let csrf = s.touch(&id, t0, ttl).expect("live").csrf.clone();
        assert_eq!(csrf.len(), 64);
        assert_ne!(csrf, id);
        assert!(s.touch(&id, t0 + Duration::from_secs(59), ttl).is_some());
        // Touched at 59 s: lives until 119 s.
        assert!(s.touch(&id, t0 + Duration::from_secs(118), ttl).is_some());
        assert!(s.touch(&id, t0 + Duration::from_secs(300), ttl).is_none());
        assert_eq!(s.len(), 0, "an expired session is dropped");
        assert!(s.touch("nope", t0, ttl).is_none());
        let id = s.create(t0, ttl).expect("create");
        s.remove(&id);
        assert!(s.touch(&id, t0, ttl).is_none());

        // Used every minute, a session still ends MAX_SESSION_LIFE after the login.
        let id = s.create(t0, ttl).expect("create");
        let mut t = t0;
        while t < t0 + MAX_SESSION_LIFE - ttl {
            t += Duration::from_secs(50);
            assert!(s.touch(&id, t, ttl).is_some());
        }
        assert!(s.touch(&id, t0 + MAX_SESSION_LIFE, ttl).is_none());
    }

    #[test]
    fn sessions_are_bounded() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let first = s.create(t0, Duration::from_secs(10)).expect("c");
        for i in 0..MAX_SESSIONS + 10 {
            s.create(t0, Duration::from_secs(20 + i as u64)).expect("c");
        }
        assert!(s.len() <= MAX_SESSIONS);
        assert!(
            s.touch(&first, t0, Duration::from_secs(1)).is_none(),
            "the closest to expiry went first"
        );
    }

    #[test]
    fn csrf_compares_whole_tokens() {
        let session = Session {
            csrf: "abcd".into(),
            expires: Instant::now(),
            ends: Instant::now(),
            notice: None,
        };
        assert!(csrf_matches(&session, "abcd"));
        assert!(!csrf_matches(&session, "abc"));
        assert!(!csrf_matches(&session, "abcde"));
        assert!(!csrf_matches(&session, ""));
        assert!(!format!("{session:?}").contains("abcd"));
    }

    #[test]
    fn failed_logins_slow_down() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(t.check(t0).is_ok());
            t.failed(t0);
        }
        assert!(t.check(t0).is_ok());
        t.failed(t0);
        assert_eq!(t.check(t0), Err(Duration::from_secs(1)));
        assert!(t.check(t0 + Duration::from_secs(1)).is_ok());
        t.failed(t0);
        assert_eq!(t.check(t0), Err(Duration::from_secs(2)));
        for _ in 0..20 {
            t.failed(t0);
        }
        assert_eq!(t.check(t0), Err(Duration::from_secs(64)), "capped");
        t.succeeded();
        assert!(t.check(t0).is_ok());
    }
}
