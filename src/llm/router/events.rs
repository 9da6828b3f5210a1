//! What the router tells the consumer of its stream: every retry, wait, skip and fallback, as typed events
//! that also read as one line of English (`Display`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One thing the router did or decided. `model` fields are `PROVIDER:MODEL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouterEvent {
    /// An attempt failed with a retryable error; the same entry is tried again after `wait_ms`.
    Retry {
        model: String,
        attempt: u32,
        status: Option<u16>,
        class: String,
        wait_ms: u64,
    },
    /// The provider asked for a longer wait than `max_retry_wait_s`: the entry is given up.
    WaitTooLong {
        model: String,
        wait_ms: u64,
        max_wait_ms: u64,
    },
    /// The next entry of the route is tried. `reason` says why the previous one was left
    /// (`openai:gpt-4.1 429 rate limited`).
    Fallback {
        from: String,
        to: String,
        #[serde(default)]
        reason: String,
    },
    /// Something about a model the user should know that is not a failure (a local server's
    /// context window was found, its tool-call support is unknown or absent).
    Notice { model: String, message: String },
    /// A stream failed after text was shown: what was shown must be dropped.
    Reset { model: String, reason: String },
    /// Too many consecutive failures: the provider is skipped for `cooldown_ms`.
    BreakerOpen { provider: String, cooldown_ms: u64 },
    /// An entry was skipped because its provider's circuit is open.
    BreakerSkip {
        provider: String,
        model: String,
        remaining_ms: u64,
    },
    /// The cool-down is over: the next call to the provider is a trial.
    BreakerHalfOpen { provider: String },
    /// A call succeeded after failures: the provider is trusted again.
    BreakerClosed { provider: String },
    /// The provider's rate-limit allowance is used up: waiting for its reset before calling.
    Pacing { provider: String, wait_ms: u64 },
    /// The rate-limit reset is further away than `max_retry_wait_s`: the entry is skipped.
    PacingSkip {
        provider: String,
        model: String,
        wait_ms: u64,
    },
    /// The prompt did not fit; entries whose context window is not larger are skipped.
    ContextSkip {
        model: String,
        window: u64,
        needed_more_than: u64,
    },
    /// No price is known for this model: its cost is recorded as unknown. Sent once per model.
    UnknownPrice { model: String },
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

impl fmt::Display for RouterEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouterEvent::Retry {
                model,
                status,
                class,
                wait_ms,
                attempt,
            } => {
                let what = status.map_or_else(|| class.replace('_', " "), |s| s.to_string());
                write!(
                    f,
                    "{model} {what}, retrying in {} (attempt {})",
                    secs(*wait_ms),
                    attempt + 1
                )
            }
            RouterEvent::WaitTooLong {
                model,
                wait_ms,
                max_wait_ms,
            } => write!(
                f,
                "{model} asks to wait {}, more than the {} allowed (network.max_retry_wait_s): not waiting",
                secs(*wait_ms),
                secs(*max_wait_ms)
            ),
            RouterEvent::Fallback { to, reason, .. } if reason.is_empty() => {
                write!(f, "falling back to {to}")
            }
            RouterEvent::Fallback { to, reason, .. } => {
                write!(f, "falling back to {to} ({reason})")
            }
            RouterEvent::Notice { model, message } => write!(f, "{model}: {message}"),
            RouterEvent::Reset { model, reason } => {
                write!(
                    f,
                    "{model} stream failed ({reason}): discarding its partial answer"
                )
            }
            RouterEvent::BreakerOpen {
                provider,
                cooldown_ms,
            } => write!(f, "{provider} circuit open for {}", secs(*cooldown_ms)),
            RouterEvent::BreakerSkip {
                model,
                remaining_ms,
                ..
            } => write!(
                f,
                "skipping {model}: circuit open for another {}",
                secs(*remaining_ms)
            ),
            RouterEvent::BreakerHalfOpen { provider } => {
                write!(f, "{provider} circuit half-open: trying one call")
            }
            RouterEvent::BreakerClosed { provider } => write!(f, "{provider} circuit closed"),
            RouterEvent::Pacing { provider, wait_ms } => write!(
                f,
                "{provider} rate limit reached, waiting {} for it to reset",
                secs(*wait_ms)
            ),
            RouterEvent::PacingSkip { model, wait_ms, .. } => write!(
                f,
                "skipping {model}: its rate limit resets in {}",
                secs(*wait_ms)
            ),
            RouterEvent::ContextSkip {
                model,
                window,
                needed_more_than,
            } => write!(
                f,
                "skipping {model}: its context window ({window} tokens) is not larger than {needed_more_than}"
            ),
            RouterEvent::UnknownPrice { model } => write!(
                f,
                "no price known for {model}: its cost is recorded as unknown (add [prices.\"{model}\"] to the config, `samocoder prices import` a newer price list, or set `free = true` on a provider that costs nothing)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_english_and_serialize_tagged() {
        let e = RouterEvent::Retry {
            model: "openai:gpt-4.1".into(),
            attempt: 1,
            status: Some(429),
            class: "rate_limited".into(),
            wait_ms: 2100,
        };
        assert_eq!(
            e.to_string(),
            "openai:gpt-4.1 429, retrying in 2.1 s (attempt 2)"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "retry");
        let e = RouterEvent::BreakerOpen {
            provider: "openai".into(),
            cooldown_ms: 30_000,
        };
        assert_eq!(e.to_string(), "openai circuit open for 30.0 s");
        let e = RouterEvent::Fallback {
            from: "openai:gpt-4.1".into(),
            to: "anthropic:claude-sonnet-4-5".into(),
            reason: "openai:gpt-4.1 429 rate limited".into(),
        };
        assert_eq!(
            e.to_string(),
            "falling back to anthropic:claude-sonnet-4-5 (openai:gpt-4.1 429 rate limited)"
        );
    }
}
