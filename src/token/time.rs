//! Token times for people: local time, UTC and relative ("in 4m 12s", "3d 4h ago").
//!
//! The clock ([`UnixTime`]) and the local offset are passed in, so output is deterministic in
//! tests and snapshots; [`local_offset`] reads the real offset.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, Offset, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::UnixTime;
use crate::humanize;

/// One instant shown three ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeView {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// `2026-11-23 10:19:08 UTC`.
    pub utc: String,
    /// `2026-11-23 11:19:08 +01:00`.
    pub local: String,
    /// `in 4m 12s`, `3d 4h ago`, `now`.
    pub relative: String,
}

impl TimeView {
    /// Describes `at` as seen at `now` in a zone `offset_secs` east of UTC.
    pub fn new(at: i64, now: UnixTime, offset_secs: i32) -> Self {
        let utc = DateTime::<Utc>::from_timestamp(at, 0);
        let offset = FixedOffset::east_opt(offset_secs).unwrap_or_else(|| Utc.fix());
        Self {
            unix: at,
            utc: utc
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "(out of range)".into()),
            local: utc
                .map(|t| {
                    t.with_timezone(&offset)
                        .format("%Y-%m-%d %H:%M:%S %:z")
                        .to_string()
                })
                .unwrap_or_else(|| "(out of range)".into()),
            relative: relative(at, now),
        }
    }
}

/// One instant in `--json`: `{local, relative, unix, utc}`, the times in RFC 3339 (null when
/// out of range). Written straight to the output; the fields are in alphabetical order, the
/// order of every JSON object tvlogin prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonTime {
    /// In the local zone.
    pub local: Option<String>,
    /// `in 4m 12s`, `3d 4h ago`, `now`.
    pub relative: String,
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// In UTC.
    pub utc: Option<String>,
}

impl JsonTime {
    /// Describes `at` as seen at `now` in a zone `offset_secs` east of UTC.
    pub fn new(at: i64, now: UnixTime, offset_secs: i32) -> Self {
        let utc = DateTime::<Utc>::from_timestamp(at, 0);
        Self {
            local: FixedOffset::east_opt(offset_secs)
                .and_then(|o| utc.map(|t| t.with_timezone(&o).to_rfc3339())),
            relative: relative(at, now),
            unix: at,
            utc: utc.map(|t| t.to_rfc3339()),
        }
    }
}

/// "in 4m 12s", "3d 4h ago", or "now" within a second.
pub fn relative(at: i64, now: UnixTime) -> String {
    let delta = now.until(UnixTime::from_secs(at));
    if delta == 0 {
        "now".into()
    } else if delta > 0 {
        format!(
            "in {}",
            humanize::duration(Duration::from_secs(delta as u64))
        )
    } else {
        format!(
            "{} ago",
            humanize::duration(Duration::from_secs(delta.unsigned_abs()))
        )
    }
}

/// The local zone's offset from UTC at `at`, in seconds east.
pub fn local_offset(at: i64) -> i32 {
    match Local.timestamp_opt(at, 0).earliest() {
        Some(t) => t.offset().local_minus_utc(),
        None => 0,
    }
}

/// A claim value as Unix seconds: integers and (RFC 7519 NumericDate allows it) fractions.
pub fn numeric_date(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_ways() {
        let v = TimeView::new(1_795_000_000, UnixTime::from_secs(1_795_000_252), 3600);
        assert_eq!(v.utc, "2026-11-18 11:06:40 UTC");
        assert_eq!(v.local, "2026-11-18 12:06:40 +01:00");
        assert_eq!(v.relative, "4m 12s ago");
        let t = UnixTime::from_secs(100);
        assert_eq!(relative(100, t), "now");
        assert_eq!(relative(100 + 3 * 86_400 + 4 * 3600, t), "in 3d 4h");
        // A hostile claim at either end of the range reads, never overflows.
        assert!(relative(i64::MIN, t).ends_with(" ago"));
        assert!(relative(i64::MAX, UnixTime::from_secs(-100)).starts_with("in "));
        let j = JsonTime::new(1_795_000_000, UnixTime::from_secs(1_795_000_252), 3600);
        assert_eq!(j.local.as_deref(), Some("2026-11-18T12:06:40+01:00"));
        assert_eq!(j.utc.as_deref(), Some("2026-11-18T11:06:40+00:00"));
        assert_eq!(j.relative, "4m 12s ago");
        assert_eq!(numeric_date(&serde_json::json!(12.7)), Some(12));
        assert_eq!(numeric_date(&serde_json::json!("12")), None);
    }
}
