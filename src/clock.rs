//! The one wall clock: [`UnixTime`], whole seconds since the Unix epoch.
//!
//! Every decision about expiry, refresh and countdowns (session expiry, token checks and
//! reports, the dashboard's and the inspector's countdowns, `status`, `token`) takes a
//! `UnixTime` from its caller. [`UnixTime::now`] is the only place that reads the system's
//! wall clock, and it is called at the edges only: a command's entry, the TUI runtime's clock
//! (`runtime::screen::Clock`), the moment an HTTP answer arrives (clock skew), a trace line.
//! Tests pass fixed times.
//!
//! Monotonic time (`Instant`) is not a second clock for these decisions: it measures intervals
//! at the edges (poll pacing in the device-flow driver, lock waits, the browser's settle time)
//! and drives the login screen's countdown, which the runtime hands in with every input so
//! tests can pause and advance tokio's clock.
//!
//! This module imports nothing from the crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in wall-clock time: whole seconds since the Unix epoch (negative before it).
///
/// Arithmetic saturates instead of overflowing: a hostile token's `exp` of `i64::MAX` or a
/// server's huge `expires_in` reads as "far in the future", never as a wrapped past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The system's wall clock, now. Call it at an edge, once, and pass the value on.
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// `secs` seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// `secs` seconds since the epoch, from an unsigned count (stored session times);
    /// beyond `i64::MAX` reads as `i64::MAX`.
    pub fn from_unsigned(secs: u64) -> Self {
        Self(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// A `SystemTime` (an HTTP `Date` header, the system clock) in whole seconds, rounded
    /// down (so half a second before the epoch is -1, as chrono counts it).
    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_unsigned(d.as_secs()),
            Err(e) => {
                let d = e.duration();
                let whole = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
                Self(i64::try_from(whole).map_or(i64::MIN, |s| -s))
            }
        }
    }

    /// Seconds since the epoch.
    pub const fn secs(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as stored session times count them: a time before the epoch
    /// reads as 0.
    pub fn unsigned(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }

    /// `secs` seconds later, saturating.
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
        )
    }

    /// `d` later (whole seconds of it), saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        self.plus_secs(d.as_secs())
    }

    /// Seconds from `self` until `later`: negative once `later` has passed; saturating.
    pub fn until(self, later: Self) -> i64 {
        later.0.saturating_sub(self.0)
    }

    /// Seconds from `earlier` until `self`: negative if `earlier` is in the future.
    pub fn since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Seconds left until the stored time `at` (unsigned, as session times are stored),
    /// zero once it has passed.
    pub fn left_until(self, at: u64) -> u64 {
        at.saturating_sub(self.unsigned())
    }
}

/// Milliseconds since the epoch, for trace lines that other tools line up with their own
/// logs; no decision reads it.
pub fn wall_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_keeps_its_sign() {
        let max = UnixTime::from_secs(i64::MAX);
        let min = UnixTime::from_secs(i64::MIN);
        let t = UnixTime::from_secs(1_000);
        // (what, got, want)
        let table: [(&str, i64, i64); 14] = [
            ("plus", t.plus_secs(5).secs(), 1_005),
            ("plus saturates", max.plus_secs(1).secs(), i64::MAX),
            ("plus u64::MAX", t.plus_secs(u64::MAX).secs(), i64::MAX),
            (
                "add duration",
                t.saturating_add(Duration::from_millis(2_900)).secs(),
                1_002,
            ),
            ("until future", t.until(UnixTime::from_secs(1_060)), 60),
            ("until past", t.until(UnixTime::from_secs(940)), -60),
            ("until saturates", min.until(max), i64::MAX),
            ("since saturates", min.since(max), i64::MIN),
            ("since", UnixTime::from_secs(1_060).since(t), 60),
            (
                "from_unsigned huge",
                UnixTime::from_unsigned(u64::MAX).secs(),
                i64::MAX,
            ),
            ("negative secs", UnixTime::from_secs(-5).secs(), -5),
            (
                "unsigned of negative",
                UnixTime::from_secs(-5).unsigned() as i64,
                0,
            ),
            ("left_until", t.left_until(1_042) as i64, 42),
            ("left_until passed", t.left_until(10) as i64, 0),
        ];
        for (what, got, want) in table {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn system_times_in_whole_seconds_rounded_down() {
        let at = |d: Duration| UnixTime::from_system(UNIX_EPOCH + d).secs();
        let before = |d: Duration| UnixTime::from_system(UNIX_EPOCH - d).secs();
        assert_eq!(at(Duration::ZERO), 0);
        assert_eq!(at(Duration::from_millis(1_999)), 1);
        assert_eq!(before(Duration::from_millis(500)), -1);
        assert_eq!(before(Duration::from_secs(2)), -2);
        assert_eq!(before(Duration::from_millis(2_001)), -3);
        assert!(UnixTime::from_secs(1) > UnixTime::from_secs(-1));
        // The real clock is past 2020.
        assert!(UnixTime::now().secs() > 1_577_836_800);
    }
}
