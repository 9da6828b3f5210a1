//! One record per model-call attempt (failed ones included), handed to a [`UsageSink`] before
//! the answer goes on, so a crash right after a paid call still has it on disk.

#[cfg(any(test, feature = "testing"))]
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::pricing::CostSource;

/// Who is calling: fixed for the life of one router. Copied into every record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallContext {
    /// The agent role (`planner`, `coder`, `ask`, ...).
    pub role: String,
    pub project_id: Option<i64>,
    pub run_id: Option<i64>,
    pub step_id: Option<i64>,
    /// Start of every record's `call_key`. Must be unique per router instance (include the run
    /// and, after a resume, something new such as the resume count): keys are
    /// `{prefix}/{call}/{route_index}/{attempt}` with `call` counting from 1 per router.
    pub call_key_prefix: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error,
    Cancelled,
    /// Answered, but cut by the output-token limit.
    Truncated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
            Outcome::Truncated => "truncated",
        }
    }
}

/// One attempt of one model call: a row of the `llm_calls` table (same field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub run_id: Option<i64>,
    pub project_id: Option<i64>,
    pub step_id: Option<i64>,
    pub role: String,
    pub provider: String,
    pub model: String,
    /// Position of the model in its route, from 0.
    pub route_index: u32,
    /// Attempt number on this route entry, from 1.
    pub attempt: u32,
    pub outcome: Outcome,
    /// [`crate::llm::ErrorClass`] in snake case, for failed attempts.
    pub error_class: Option<String>,
    pub http_status: Option<u16>,
    /// Input tokens billed at the full price.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    /// Output tokens spent on reasoning (part of `output_tokens`).
    pub reasoning_tokens: u64,
    /// Dollars rounded to the micro-dollar; `None`: unknown (never stored as 0).
    pub cost_usd: Option<f64>,
    pub cost_source: CostSource,
    /// What priced the call: a price table's source and version (`models.dev 1.0.398`),
    /// `config` or `free`; for a provider-reported cost, the table it was checked against.
    /// `None`: no price known.
    pub price_table: Option<String>,
    /// For a provider-reported cost: the price table's figure for the same tokens (`None`: the
    /// table does not know the model). Kept so a disagreement can be seen.
    pub table_cost_usd: Option<f64>,
    /// True when the provider reported no usage and the tokens are estimates (chars / 4).
    pub usage_estimated: bool,
    pub latency_ms: u64,
    /// Time to the first text or tool-call event.
    pub ttft_ms: Option<u64>,
    /// Size of the serialized provider-neutral request.
    pub request_bytes: u64,
    /// Idempotency key: `{call_key_prefix}/{call}/{route_index}/{attempt}`.
    pub call_key: String,
    pub created_at: DateTime<Utc>,
}

/// Where records go: the SQLite store in the app, [`MemorySink`] in tests. `record` must have
/// made the record durable when it returns `Ok`; an `Err` stops the call (a paid call that
/// cannot be recorded is not handed on). The message is shown to the user.
pub trait UsageSink: Send + Sync {
    fn record(&self, rec: &CallRecord) -> Result<(), String>;
}

/// Keeps records in memory (tests).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Vec<CallRecord>>,
}

#[cfg(any(test, feature = "testing"))]
impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// A copy of everything recorded so far, in order.
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "testing"))]
impl UsageSink for MemorySink {
    fn record(&self, rec: &CallRecord) -> Result<(), String> {
        self.records
            .lock()
            .map_err(|_| "the in-memory usage log is poisoned".to_string())?
            .push(rec.clone());
        Ok(())
    }
}

/// A sink that drops everything (for `doctor` pings and other calls that are not billed to a
/// project).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl UsageSink for NullSink {
    fn record(&self, _rec: &CallRecord) -> Result<(), String> {
        Ok(())
    }
}

/// Tokens guessed from characters (about four per token), rounded up.
pub fn estimate_tokens(chars: u64) -> u64 {
    chars.div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }

    #[test]
    fn outcome_names_match_the_store() {
        let names: Vec<_> = [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Cancelled,
            Outcome::Truncated,
        ]
        .iter()
        .map(|o| o.as_str())
        .collect();
        assert_eq!(names, ["ok", "error", "cancelled", "truncated"]);
        assert_eq!(
            serde_json::to_string(&Outcome::Truncated).unwrap(),
            "\"truncated\""
        );
    }
}
