//! Client-side pacing: when a provider's rate-limit headers say the allowance is used up, the
//! next request to it waits for the reset instead of provoking a 429.

use std::time::Duration;

use tokio::time::Instant;

use super::breaker::Breakers;
use crate::llm::RateLimitInfo;

/// The longest wait a server can make samocoder plan for: a day.
const MAX_WAIT_MS: u64 = 86_400_000;

impl Breakers {
    /// Reads rate-limit state reported by an adapter. An exhausted allowance with a known reset
    /// delays the provider's next request until then.
    pub fn note_rate_limit(&self, provider: &str, info: &RateLimitInfo) {
        let mut wait_ms: Option<u64> = None;
        if info.remaining_requests == Some(0) {
            wait_ms = wait_ms.max(info.reset_requests_ms);
        }
        if info.remaining_tokens == Some(0) {
            wait_ms = wait_ms.max(info.reset_tokens_ms);
        }
        let Some(ms) = wait_ms else { return };
        let Ok(mut map) = self.health.lock() else {
            return;
        };
        let h = map.entry(provider.to_string()).or_default();
        // A server may send any number: a reset further than a day is a day (the wait is then
        // longer than `max_retry_wait_s` and the entry is skipped), never an overflow.
        let until = Instant::now() + Duration::from_millis(ms.min(MAX_WAIT_MS));
        h.not_before = Some(h.not_before.map_or(until, |t| t.max(until)));
    }

    /// How long to wait before calling `provider`, if its allowance is exhausted.
    pub fn pacing_wait(&self, provider: &str) -> Option<Duration> {
        let map = self.health.lock().ok()?;
        let until = map.get(provider)?.not_before?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn exhausted_allowance_delays_until_the_reset() {
        let b = Breakers::new(3, Duration::from_secs(30));
        b.note_rate_limit(
            "groq",
            &RateLimitInfo {
                remaining_requests: Some(5),
                reset_requests_ms: Some(9000),
                ..RateLimitInfo::default()
            },
        );
        assert_eq!(b.pacing_wait("groq"), None, "allowance left: no wait");
        b.note_rate_limit(
            "groq",
            &RateLimitInfo {
                remaining_requests: Some(3),
                remaining_tokens: Some(0),
                reset_requests_ms: Some(1000),
                reset_tokens_ms: Some(6000),
            },
        );
        assert_eq!(b.pacing_wait("groq"), Some(Duration::from_secs(6)));
        assert_eq!(b.pacing_wait("openai"), None);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(b.pacing_wait("groq"), None);
    }
}
