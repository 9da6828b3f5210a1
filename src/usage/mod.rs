//! `samocoder usage`: tokens, requests and money from the recorded model calls, filtered and
//! grouped, as a [`Report`] the CLI renders as a table, JSON or CSV.
//!
//! Definitions (also in the README):
//! - a *request* is one recorded attempt (one `llm_calls` row);
//! - *ok* attempts ended with outcome `ok`; *failed* ones with anything else (error,
//!   cancelled, truncated); ok + failed = requests;
//! - a *retried* attempt is one that was not the first try of its call: `attempt > 1` (a retry
//!   against the same provider) or `route_index > 0` (a fallback provider); it is also counted
//!   as ok or failed;
//! - cost is the sum of the known prices; calls of unknown price are counted in
//!   `unknown_cost_calls` and make the cost a lower bound (`None` when no price is known);
//! - *priced by* (`--by price`) is what set a call's cost: `table` with the price table's
//!   source and version, `provider` (the provider reported it; the table it was checked
//!   against is named), `override` (`config`, or `free` for a provider declared free) or
//!   `unknown`; calls recorded before schema 5 have no table named;
//! - a provider-reported cost the table also prices is *checked*; it *disagrees* when the two
//!   differ by more than 1% (and more than $0.000001); the reported cost is the one counted;
//! - days are UTC days.
//!
//! Reports read the `llm_usage_daily` roll-up (kept by triggers, see `docs/schema.md`) for
//! whole UTC days and the raw calls only for the partial days at the ends of the range, so
//! they stay fast with millions of calls.

mod format;
mod period;
mod query;

use serde::Serialize;

use crate::exit::{Exit, ExitStatus};

pub use format::{bar_chart, cost_text, csv, json, key_columns, price_check_text};
pub use period::{Bound, DAY_MS, day_label, day_of, parse_bound};
pub use query::report;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per provider and model (the default).
    #[default]
    ProviderModel,
    Project,
    Provider,
    Model,
    Role,
    /// One row per UTC day.
    Day,
    /// One row per way a cost was set: the cost source and the price table (source, version).
    Price,
}

/// Which calls to count. Times are unix milliseconds, `since <= created_at < until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub project_id: Option<i64>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub provider: Option<String>,
    pub model: Option<String>,
}

/// What a report asks for. `default_budget_usd` is the config's `budget.per_project_usd`,
/// used for projects without a budget of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageQuery {
    pub filter: Filter,
    pub group_by: GroupBy,
    pub default_budget_usd: Option<f64>,
}

/// Sums over a set of calls (the store's sums; what each counts is documented there).
pub type Stats = crate::store::UsageSums;

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.requests += o.requests;
        self.ok += o.ok;
        self.failed += o.failed;
        self.retried += o.retried;
        self.input_tokens += o.input_tokens;
        self.cached_tokens += o.cached_tokens;
        self.output_tokens += o.output_tokens;
        self.known_cost_usd += o.known_cost_usd;
        self.unknown_cost_calls += o.unknown_cost_calls;
        self.latency_ms_sum += o.latency_ms_sum;
        self.ttft_ms_sum += o.ttft_ms_sum;
        self.ttft_calls += o.ttft_calls;
        self.checked_calls += o.checked_calls;
        self.checked_provider_usd += o.checked_provider_usd;
        self.checked_table_usd += o.checked_table_usd;
        self.disagreeing_calls += o.disagreeing_calls;
    }

    /// The cost, or `None` when no call in the set has a known price.
    pub fn cost_usd(&self) -> Option<f64> {
        (self.requests == 0 || self.unknown_cost_calls < self.requests)
            .then_some(self.known_cost_usd)
    }

    /// True when some calls had no known price (the cost is a lower bound).
    pub fn cost_is_partial(&self) -> bool {
        self.unknown_cost_calls > 0
    }

    pub fn avg_latency_ms(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.latency_ms_sum as f64 / self.requests as f64)
    }

    pub fn avg_ttft_ms(&self) -> Option<f64> {
        (self.ttft_calls > 0).then(|| self.ttft_ms_sum as f64 / self.ttft_calls as f64)
    }
}

/// A project's budget against its all-time cost (not just the reported period).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// The project's own budget, else the config default; `None`: no budget.
    pub budget_usd: Option<f64>,
    /// Known cost of every call of the project so far.
    pub spent_usd: f64,
    /// Calls of the project with no known price (the true spend is higher).
    pub spent_unknown_calls: i64,
    /// `budget - spent`, never below 0.
    pub left_usd: Option<f64>,
}

/// What a row stands for; only the fields of the grouping are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `table`, `provider`, `override` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_source: Option<String>,
    /// The price table (source and version), `config` or `free`; empty when none was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_table: Option<String>,
}

impl GroupKey {
    /// The key as one label for tables and charts.
    pub fn label(&self) -> String {
        let parts: Vec<&str> = [
            self.day.as_deref(),
            self.project.as_deref(),
            self.provider.as_deref(),
            self.model.as_deref(),
            self.role.as_deref(),
            self.cost_source.as_deref(),
            self.price_table.as_deref().filter(|t| !t.is_empty()),
        ]
        .into_iter()
        .flatten()
        .collect();
        parts.join("/")
    }
}

/// One group of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: GroupKey,
    pub stats: Stats,
    /// Set when grouping by project.
    pub budget: Option<BudgetStatus>,
}

/// The whole report: rows in display order and the totals over all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub group_by: GroupBy,
    pub filter: Filter,
    pub rows: Vec<Row>,
    pub totals: Stats,
    /// Set when the report is filtered to one project.
    pub project_budget: Option<BudgetStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{flag} {value:?} is not a time; use a span like 7d, 24h, 2w or 90m, a date like 2026-11-01 (UTC), or 2026-11-01T12:00:00Z"
    )]
    BadTime { flag: &'static str, value: String },
    #[error("--since is not before --until; the range is empty")]
    EmptyRange,
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

impl ExitStatus for ReportError {
    fn exit(&self) -> Exit {
        match self {
            ReportError::Store(e) => e.exit(),
            _ => Exit::Usage,
        }
    }
}

#[cfg(test)]
mod tests;
