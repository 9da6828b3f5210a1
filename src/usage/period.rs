//! `--since` / `--until` values: a span back from now (`7d`, `24h`, `2w`, `90m`), a UTC date
//! (`2026-11-01`) or an RFC 3339 instant (`2026-11-01T12:00:00Z`).
//!
//! Days are UTC days. A date given to `--since` means the start of that day; a date given to
//! `--until` includes that whole day (the bound is the start of the next day). Ranges are
//! half-open: `since <= created_at < until`.

use chrono::{DateTime, NaiveDate};

use super::ReportError;

pub const DAY_MS: i64 = 86_400_000;

/// Which end of the range a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Since,
    Until,
}

/// Parses one bound into unix milliseconds, relative spans counted back from `now_ms`.
pub fn parse_bound(text: &str, now_ms: i64, bound: Bound) -> Result<i64, ReportError> {
    let t = text.trim();
    let bad = || ReportError::BadTime {
        flag: match bound {
            Bound::Since => "--since",
            Bound::Until => "--until",
        },
        value: text.to_string(),
    };
    if let Some(unit) = t.chars().last().filter(|c| c.is_ascii_alphabetic())
        && t.len() > 1
        && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        let unit_ms = match unit {
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => DAY_MS,
            'w' => 7 * DAY_MS,
            _ => return Err(bad()),
        };
        return n
            .checked_mul(unit_ms)
            .and_then(|span| now_ms.checked_sub(span))
            .ok_or_else(bad);
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let start = date
            .and_hms_opt(0, 0, 0)
            .ok_or_else(bad)?
            .and_utc()
            .timestamp_millis();
        return Ok(match bound {
            Bound::Since => start,
            Bound::Until => start + DAY_MS,
        });
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .map_err(|_| bad())
}

/// The UTC day number of a timestamp (days since 1970-01-01), as SQLite computes it for
/// non-negative timestamps (`created_at / 86400000`).
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// A UTC day number as `YYYY-MM-DD`.
pub fn day_label(day: i64) -> String {
    DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| day.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_793_534_400_000; // 2026-11-01T12:00:00Z

    #[test]
    fn spans_count_back_from_now() {
        assert_eq!(
            parse_bound("7d", NOW, Bound::Since).unwrap(),
            NOW - 7 * DAY_MS
        );
        assert_eq!(parse_bound("24h", NOW, Bound::Since).unwrap(), NOW - DAY_MS);
        assert_eq!(
            parse_bound("2w", NOW, Bound::Until).unwrap(),
            NOW - 14 * DAY_MS
        );
        assert_eq!(
            parse_bound("90m", NOW, Bound::Since).unwrap(),
            NOW - 90 * 60_000
        );
    }

    #[test]
    fn dates_are_utc_days_and_until_includes_the_day() {
        let start = 1_793_491_200_000; // 2026-11-01T00:00:00Z
        assert_eq!(parse_bound("2026-11-01", NOW, Bound::Since).unwrap(), start);
        assert_eq!(
            parse_bound("2026-11-01", NOW, Bound::Until).unwrap(),
            start + DAY_MS
        );
        assert_eq!(
            parse_bound("2026-11-01T01:00:00+01:00", NOW, Bound::Since).unwrap(),
            start
        );
        assert_eq!(day_label(day_of(start)), "2026-11-01");
        assert_eq!(day_label(day_of(start - 1)), "2026-10-31");
    }

    #[test]
    fn nonsense_is_refused_with_the_flag_named() {
        for bad in [
            "",
            "d",
            "7x",
            "yesterday",
            "2026-13-01",
            "-7d",
            "99999999999999999999d",
        ] {
            let err = parse_bound(bad, NOW, Bound::Until).unwrap_err().to_string();
            assert!(err.contains("--until"), "{bad}: {err}");
        }
    }
}
