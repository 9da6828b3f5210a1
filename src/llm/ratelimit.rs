//! Reading waits and rate-limit state out of response headers: `retry-after-ms`, `retry-after`
//! (seconds or an HTTP date), OpenAI/Groq `x-ratelimit-*` (durations like `6m0s`, `1.5s`,
//! `20ms`) and Anthropic `anthropic-ratelimit-*` (RFC 3339 instants).
//!
//! Functions take `now` so that absolute times are testable without a clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::RateLimitInfo;

/// The longest wait a header can ask for: a day. Anything longer is taken as a day (far more
/// than `network.max_retry_wait_s` allows, so the route moves on), never an overflow.
const MAX_WAIT_S: f64 = 86_400.0;

/// The wait a response asked for: `retry-after-ms` first, then `retry-after`.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(MAX_WAIT_S)));
    }
    let value = header(headers, "retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_WAIT_S)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some(
        (at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs_f64(MAX_WAIT_S)),
    )
}

/// Rate-limit state from either provider family's headers; `None` when there were none.
pub fn rate_limit_info(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateLimitInfo> {
    let num = |name: &str| header(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
    let dur = |name: &str| header(headers, name).and_then(parse_go_duration_ms);
    let instant = |name: &str| {
        let v = header(headers, name)?;
        let at = DateTime::parse_from_rfc3339(v.trim())
            .ok()?
            .with_timezone(&Utc);
        Some((at - now).num_milliseconds().max(0) as u64)
    };
    let info = RateLimitInfo {
        remaining_requests: num("x-ratelimit-remaining-requests")
            .or_else(|| num("anthropic-ratelimit-requests-remaining")),
        remaining_tokens: num("x-ratelimit-remaining-tokens")
            .or_else(|| num("anthropic-ratelimit-tokens-remaining"))
            .or_else(|| num("anthropic-ratelimit-input-tokens-remaining")),
        reset_requests_ms: dur("x-ratelimit-reset-requests")
            .or_else(|| instant("anthropic-ratelimit-requests-reset")),
        reset_tokens_ms: dur("x-ratelimit-reset-tokens")
            .or_else(|| instant("anthropic-ratelimit-tokens-reset"))
            .or_else(|| instant("anthropic-ratelimit-input-tokens-reset")),
    };
    (info != RateLimitInfo::default()).then_some(info)
}

/// For a 429 without `retry-after`: the reset time of whichever allowance is used up.
pub fn exhausted_reset(info: &RateLimitInfo) -> Option<Duration> {
    let req = (info.remaining_requests == Some(0))
        .then_some(info.reset_requests_ms)
        .flatten();
    let tok = (info.remaining_tokens == Some(0))
        .then_some(info.reset_tokens_ms)
        .flatten();
    req.max(tok).map(Duration::from_millis)
}

/// Parses Go-style durations as OpenAI and Groq send them (`6m0s`, `1.5s`, `20ms`, `1h2m3s`,
/// `2m59.56s`); a bare number is seconds. Returns milliseconds.
pub fn parse_go_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as u64);
    }
    let mut total_ms = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total_ms += value * factor;
        rest = &rest[unit_len..];
    }
    Some(total_ms.round() as u64)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration_ms("6m0s"), Some(360_000));
        assert_eq!(parse_go_duration_ms("1.5s"), Some(1500));
        assert_eq!(parse_go_duration_ms("20ms"), Some(20));
        assert_eq!(parse_go_duration_ms("1h2m3s"), Some(3_723_000));
        assert_eq!(parse_go_duration_ms("2m59.56s"), Some(179_560));
        assert_eq!(parse_go_duration_ms("7"), Some(7000));
        assert_eq!(parse_go_duration_ms("soon"), None);
        assert_eq!(parse_go_duration_ms("5d"), None);
        assert_eq!(parse_go_duration_ms(""), None);
    }

    #[test]
    fn regression_an_absurd_retry_after_is_a_day_not_a_panic() {
        let day = Duration::from_secs(86_400);
        for (name, value) in [
            ("retry-after", "1e20"),
            ("retry-after-ms", "1e20"),
            ("retry-after", "1.7976931348623157e308"),
            ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(
                retry_after(&map(&[(name, value)]), now()),
                Some(day),
                "{name}: {value}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics_and_is_at_most_a_day(value in "[0-9eE+.-]{0,40}") {
            for name in ["retry-after", "retry-after-ms"] {
                if let Some(d) = retry_after(&map(&[(name, &value)]), now()) {
                    proptest::prop_assert!(d <= Duration::from_secs(86_400));
                }
            }
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            retry_after(
                &map(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now()
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&map(&[("retry-after", "2")]), now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(
                &map(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]),
                now()
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(
                &map(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]),
                now()
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&map(&[("retry-after", "-1")]), now()), None);
        assert_eq!(retry_after(&map(&[]), now()), None);
    }

    #[test]
    fn openai_and_anthropic_rate_limit_headers() {
        let info = rate_limit_info(
            &map(&[
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-remaining-tokens", "1200"),
                ("x-ratelimit-reset-requests", "1.5s"),
                ("x-ratelimit-reset-tokens", "6m0s"),
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(info.remaining_requests, Some(0));
        assert_eq!(info.reset_tokens_ms, Some(360_000));
        assert_eq!(exhausted_reset(&info), Some(Duration::from_millis(1500)));

        let info = rate_limit_info(
            &map(&[
                ("anthropic-ratelimit-requests-remaining", "49"),
                ("anthropic-ratelimit-tokens-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", "2015-10-21T07:28:01Z"),
                ("anthropic-ratelimit-tokens-reset", "2015-10-21T07:29:00Z"),
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(info.remaining_requests, Some(49));
        assert_eq!(info.reset_requests_ms, Some(1000));
        assert_eq!(exhausted_reset(&info), Some(Duration::from_secs(60)));
        assert_eq!(rate_limit_info(&map(&[("x-other", "1")]), now()), None);
    }
}
