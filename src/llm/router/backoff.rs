//! How long to wait before retrying the same route entry.

use std::sync::Mutex;
use std::time::Duration;

/// What to do after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Sleep this long, then try the same entry again.
    Sleep(Duration),
    /// The provider asked for longer than allowed: give up this entry.
    TooLong(Duration),
}

/// The official SDKs' backoff: `min(0.5 * 2^n, 8)` seconds times a jitter in `[0.75, 1.0]`,
/// where `n` counts retries from 0.
pub fn backoff_delay(retry: u32, jitter: f64) -> Duration {
    let base = (0.5 * 2f64.powi(retry.min(16) as i32)).min(8.0);
    Duration::from_secs_f64(base * jitter.clamp(0.75, 1.0))
}

/// Chooses the wait: the provider's `retry_after` when it gave one (capped by `max_wait`),
/// else the jittered backoff.
pub fn choose_wait(
    retry: u32,
    retry_after: Option<Duration>,
    max_wait: Duration,
    jitter: f64,
) -> Wait {
    match retry_after {
        Some(d) if d > max_wait => Wait::TooLong(d),
        Some(d) => Wait::Sleep(d),
        None => Wait::Sleep(backoff_delay(retry, jitter)),
    }
}

/// Source of jitter values; seeded in tests for repeatable waits.
#[derive(Debug)]
pub struct Jitter(Mutex<fastrand::Rng>);

impl Jitter {
    pub fn new(seed: Option<u64>) -> Jitter {
        Jitter(Mutex::new(
            seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        ))
    }

    /// A factor in `[0.75, 1.0]`.
    pub fn next(&self) -> f64 {
        let x = self.0.lock().map(|mut r| r.f64()).unwrap_or(1.0);
        0.75 + 0.25 * x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_eight_seconds() {
        let secs: Vec<f64> = (0..6)
            .map(|n| backoff_delay(n, 1.0).as_secs_f64())
            .collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(backoff_delay(1, 0.75), Duration::from_millis(750));
        assert_eq!(backoff_delay(u32::MAX, 1.0), Duration::from_secs(8));
    }

    #[test]
    fn retry_after_wins_up_to_the_cap() {
        let max = Duration::from_secs(60);
        assert_eq!(
            choose_wait(0, Some(Duration::from_secs(3)), max, 1.0),
            Wait::Sleep(Duration::from_secs(3))
        );
        assert_eq!(
            choose_wait(0, Some(Duration::from_secs(61)), max, 1.0),
            Wait::TooLong(Duration::from_secs(61))
        );
        assert_eq!(
            choose_wait(2, None, max, 1.0),
            Wait::Sleep(Duration::from_secs(2))
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        let j = Jitter::new(Some(7));
        for _ in 0..1000 {
            let x = j.next();
            assert!((0.75..=1.0).contains(&x), "{x}");
        }
    }
}
