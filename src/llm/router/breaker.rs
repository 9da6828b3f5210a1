//! Per-provider health shared by every router of a process: circuit breakers and rate-limit
//! pacing (see [`super::ratelimit`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::NetworkConfig;

/// What the breaker says about calling a provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// The cool-down just ended: this call is the trial.
    HalfOpen,
    /// Skip the provider for this long.
    Open(Duration),
}

#[derive(Debug, Default)]
pub(super) struct ProviderHealth {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    half_open: bool,
    /// Set by pacing: do not call before this instant.
    pub(super) not_before: Option<Instant>,
}

/// Circuit breakers and pacing state, keyed by provider name. Share one per process
/// (`Arc<Breakers>`) between all routers.
#[derive(Debug)]
pub struct Breakers {
    failures: u32,
    cooldown: Duration,
    pub(super) health: Mutex<HashMap<String, ProviderHealth>>,
}

impl Breakers {
    /// Opens after `failures` consecutive failures (0 disables breaking) for `cooldown`.
    pub fn new(failures: u32, cooldown: Duration) -> Breakers {
        Breakers {
            failures,
            cooldown,
            health: Mutex::new(HashMap::new()),
        }
    }

    pub fn from_network(net: &NetworkConfig) -> Breakers {
        Breakers::new(
            net.breaker_failures,
            Duration::from_secs_f64(net.breaker_cooldown_s.max(0.0)),
        )
    }

    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// May `provider` be called now? Moves an open breaker whose cool-down ended to half-open.
    pub fn check(&self, provider: &str) -> BreakerState {
        let Ok(mut map) = self.health.lock() else {
            return BreakerState::Closed;
        };
        let h = map.entry(provider.to_string()).or_default();
        match h.open_until {
            Some(until) => {
                let now = Instant::now();
                if now < until {
                    BreakerState::Open(until - now)
                } else {
                    h.open_until = None;
                    h.half_open = true;
                    BreakerState::HalfOpen
                }
            }
            None => BreakerState::Closed,
        }
    }

    /// A call succeeded. Returns true when this closed a breaker that had seen failures
    /// opened or half-open.
    pub fn success(&self, provider: &str) -> bool {
        let Ok(mut map) = self.health.lock() else {
            return false;
        };
        let h = map.entry(provider.to_string()).or_default();
        let was_tripped = h.half_open || h.open_until.is_some();
        h.consecutive_failures = 0;
        h.half_open = false;
        h.open_until = None;
        was_tripped
    }

    /// A call failed in a way that says something about the provider's health. Returns true
    /// when this opened the breaker (a failed half-open trial reopens it at once).
    pub fn failure(&self, provider: &str) -> bool {
        if self.failures == 0 {
            return false;
        }
        let Ok(mut map) = self.health.lock() else {
            return false;
        };
        let h = map.entry(provider.to_string()).or_default();
        h.consecutive_failures = h.consecutive_failures.saturating_add(1);
        if h.half_open || h.consecutive_failures >= self.failures {
            h.half_open = false;
            h.open_until = Some(Instant::now() + self.cooldown);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_n_failures_half_opens_after_cooldown_and_closes_on_success() {
        let b = Breakers::new(2, Duration::from_secs(30));
        assert!(!b.failure("openai"));
        assert_eq!(b.check("openai"), BreakerState::Closed);
        assert!(b.failure("openai"));
        assert_eq!(
            b.check("openai"),
            BreakerState::Open(Duration::from_secs(30))
        );
        assert_eq!(b.check("anthropic"), BreakerState::Closed);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            b.check("openai"),
            BreakerState::Open(Duration::from_secs(20))
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(b.check("openai"), BreakerState::HalfOpen);
        // A failed trial reopens at once.
        assert!(b.failure("openai"));
        assert!(matches!(b.check("openai"), BreakerState::Open(_)));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.check("openai"), BreakerState::HalfOpen);
        assert!(b.success("openai"));
        assert_eq!(b.check("openai"), BreakerState::Closed);
        assert!(
            !b.failure("openai"),
            "the count starts again after a success"
        );
    }

    #[test]
    fn zero_failures_disables_breaking() {
        let b = Breakers::new(0, Duration::from_secs(30));
        for _ in 0..10 {
            assert!(!b.failure("x"));
        }
        assert_eq!(b.check("x"), BreakerState::Closed);
    }
}
