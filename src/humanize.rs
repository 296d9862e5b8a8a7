//! Durations for people: "45s", "4m 05s", "2h 03m", "3d 4h".

use std::time::Duration;

/// Formats a duration in its two largest units, rounded down to whole seconds.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if s >= 3600 {
        format!("{}h {minutes:02}m", s / 3600)
    } else if s >= 60 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_units_at_most() {
        let table = [
            (0, "0s"),
            (45, "45s"),
            (60, "1m 00s"),
            (245, "4m 05s"),
            (3600, "1h 00m"),
            (7380, "2h 03m"),
            (86_400, "1d"),
            (30 * 86_400, "30d"),
            (100_800, "1d 4h"),
        ];
        for (secs, want) in table {
            assert_eq!(duration(Duration::from_secs(secs)), want);
        }
        assert_eq!(duration(Duration::from_millis(1999)), "1s");
    }
}
