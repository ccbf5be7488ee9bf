//! Time: a serde-friendly [`Timestamp`] in Unix seconds and an injectable [`Clock`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time, in whole seconds since the Unix epoch (UTC). Serialises as a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `secs` seconds after the Unix epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_secs(self) -> u64 {
        self.0
    }

    /// This timestamp plus `duration` (whole seconds, rounded up), saturating.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let secs = duration
            .as_secs()
            .saturating_add(u64::from(duration.subsec_nanos() > 0));
        Self(self.0.saturating_add(secs))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// The timestamp of a [`SystemTime`]; times before the epoch become the epoch.
    pub fn from_system_time(time: SystemTime) -> Self {
        Self(
            time.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }

    /// The [`SystemTime`] of this timestamp.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Self::from_system_time(time)
    }
}

/// A source of the current time, injectable so that tests can move time forward.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
///
/// On Linux it reads the coarse real-time clock (`CLOCK_REALTIME_COARSE`: the time of the
/// last timer tick, a few milliseconds behind at most), which the kernel serves from the vDSO
/// without reading the hardware counter, several times cheaper than the precise clock;
/// timestamps are whole seconds, so the precision is not missed. Elsewhere it reads
/// [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn now(&self) -> Timestamp {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        // Before the epoch (a negative count) reads as the epoch, as `from_system_time` does.
        Timestamp(u64::try_from(now.tv_sec).unwrap_or(0))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A clock that stands still until told to move, for tests. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(start.0)))
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        self.0.store(now.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (whole seconds, rounded up).
    pub fn advance(&self, by: Duration) {
        let now = self.now().saturating_add(by);
        self.set(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_rounds_up() {
        let t = Timestamp::from_unix_secs(100);
        assert_eq!(t.saturating_add(Duration::from_millis(1)).unix_secs(), 101);
        assert_eq!(t.saturating_add(Duration::from_secs(5)).unix_secs(), 105);
        assert_eq!(
            Timestamp::from_unix_secs(u64::MAX).saturating_add(Duration::MAX),
            Timestamp::from_unix_secs(u64::MAX)
        );
        assert_eq!(
            t.saturating_since(Timestamp::from_unix_secs(40)),
            Duration::from_secs(60)
        );
        assert_eq!(
            t.saturating_since(Timestamp::from_unix_secs(400)),
            Duration::ZERO
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix_secs(10));
        let shared = clock.clone();
        assert_eq!(clock.now().unix_secs(), 10);
        shared.advance(Duration::from_secs(5));
        assert_eq!(clock.now().unix_secs(), 15);
        clock.set(Timestamp::from_unix_secs(3));
        assert_eq!(shared.now().unix_secs(), 3);
    }

    #[test]
    fn system_clock_is_after_2020_and_round_trips() {
        let now = SystemClock.now();
        assert!(now.unix_secs() > 1_577_836_800);
        // The coarse clock lags the precise one by a tick at most, never by a second more.
        let precise = Timestamp::from_system_time(SystemTime::now());
        assert!(precise.unix_secs().abs_diff(now.unix_secs()) <= 1);
        assert_eq!(Timestamp::from(now.to_system_time()), now);
        let json = serde_json::to_string(&now).unwrap();
        assert_eq!(json, now.unix_secs().to_string());
    }
}
