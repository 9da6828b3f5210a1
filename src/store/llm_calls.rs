//! Model calls: one row per attempt, with tokens, cost and timing. Written once (a `call_key`
//! makes the write idempotent), summed for budgets and `usage`.

use rusqlite::named_params;
use serde::Serialize;

use super::text_enum::text_enum;
use super::{Db, Result};

text_enum! {
    /// How one attempt ended.
    pub enum Outcome as "call outcome" {
        Ok = "ok",
        Error = "error",
        Cancelled = "cancelled",
        Truncated = "truncated",
    }
}

text_enum! {
    /// Where the cost figure came from.
    pub enum CostSource as "cost source" {
        /// The built-in price table.
        Table = "table",
        /// The provider reported the cost.
        Provider = "provider",
        /// A price set in the user's config.
        Override = "override",
        /// No price known: `cost_usd` is NULL.
        Unknown = "unknown",
    }
}

/// One attempt at a model call, as the provider layer records it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewLlmCall {
    pub run_id: Option<i64>,
    pub project_id: Option<i64>,
    pub step_id: Option<i64>,
    /// The agent role that asked (planner, coder, fixer, ask, ...).
    pub role: String,
    pub provider: String,
    pub model: String,
    /// Position of this provider in the route (0 = first choice).
    pub route_index: u32,
    /// 1-based attempt number against this provider.
    pub attempt: u32,
    pub outcome: Option<Outcome>,
    pub error_class: Option<String>,
    pub http_status: Option<u16>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    /// Output tokens spent on reasoning (part of `output_tokens`).
    pub reasoning_tokens: u64,
    /// `None` when the price is unknown.
    pub cost_usd: Option<f64>,
    pub cost_source: Option<CostSource>,
    /// What priced the call (`models.dev 1.0.398`, `config`, `free`); for a provider-reported
    /// cost, the table it was checked against. `None`: no price known.
    pub price_table: Option<String>,
    /// For a provider-reported cost: the table's cost of the same tokens.
    pub table_cost_usd: Option<f64>,
    /// Token counts were estimated locally because the provider did not report them.
    pub usage_estimated: bool,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub request_bytes: u64,
    /// Idempotency key: a second record with the same key is not written.
    pub call_key: Option<String>,
}

/// Money and tokens summed over a set of calls.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct CostTotals {
    /// Sum of the known costs.
    pub cost_usd: f64,
    pub calls: i64,
    /// Calls whose price was unknown: the true cost is higher than `cost_usd`.
    pub unknown_cost_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

impl CostTotals {
    pub fn has_unknown(&self) -> bool {
        self.unknown_cost_calls > 0
    }
}

/// The tokens of calls whose price was unknown, for one provider and model: what a budget
/// enforced on estimates prices itself (see `llm::pricing::PriceStatus::cost`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UnpricedUsage {
    pub provider: String,
    pub model: String,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cache_write_tokens: i64,
}

fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Db<'_> {
    /// Records one attempt. Returns its id, or `None` when a call with the same `call_key`
    /// is already recorded (nothing is written twice). `outcome` defaults to `ok`, and
    /// `cost_source` to `unknown` when there is no cost (else `table`).
    pub fn record_llm_call(&self, c: &NewLlmCall) -> Result<Option<i64>> {
        let cost_source = c.cost_source.unwrap_or(if c.cost_usd.is_some() {
            CostSource::Table
        } else {
            CostSource::Unknown
        });
        let n = self.conn.execute(
            "INSERT INTO llm_calls (run_id, project_id, step_id, role, provider, model, route_index,
                attempt, outcome, error_class, http_status, input_tokens, output_tokens,
                cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd, cost_source,
                price_table, table_cost_usd, usage_estimated, latency_ms, ttft_ms, request_bytes,
                call_key, created_at)
             VALUES (:run_id, :project_id, :step_id, :role, :provider, :model, :route_index,
                :attempt, :outcome, :error_class, :http_status, :input_tokens, :output_tokens,
                :cached_tokens, :cache_write_tokens, :reasoning_tokens, :cost_usd, :cost_source,
                :price_table, :table_cost_usd, :usage_estimated, :latency_ms, :ttft_ms,
                :request_bytes, :call_key, :created_at)
             ON CONFLICT (call_key) DO NOTHING",
            named_params! {
                ":run_id": c.run_id,
                ":project_id": c.project_id,
                ":step_id": c.step_id,
                ":role": c.role,
                ":provider": c.provider,
                ":model": c.model,
                ":route_index": c.route_index,
                ":attempt": c.attempt.max(1),
                ":outcome": c.outcome.unwrap_or(Outcome::Ok),
                ":error_class": c.error_class,
                ":http_status": c.http_status,
                ":input_tokens": sql_int(c.input_tokens),
                ":output_tokens": sql_int(c.output_tokens),
                ":cached_tokens": sql_int(c.cached_tokens),
                ":cache_write_tokens": sql_int(c.cache_write_tokens),
                ":reasoning_tokens": sql_int(c.reasoning_tokens),
                ":cost_usd": c.cost_usd,
                ":cost_source": cost_source,
                ":price_table": c.price_table,
                ":table_cost_usd": c.table_cost_usd.filter(|t| t.is_finite() && *t >= 0.0),
                ":usage_estimated": c.usage_estimated,
                ":latency_ms": sql_int(c.latency_ms),
                ":ttft_ms": c.ttft_ms.map(sql_int),
                ":request_bytes": sql_int(c.request_bytes),
                ":call_key": c.call_key,
                ":created_at": self.now(),
            },
        )?;
        Ok((n == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// Everything a project has cost so far (all its runs), from the daily roll-up: it runs
    /// before every model call of a project with a budget, so it must not grow with the
    /// number of recorded calls.
    pub fn project_cost(&self, project_id: i64) -> Result<CostTotals> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT TOTAL(cost_usd), COALESCE(SUM(requests), 0),
                    COALESCE(SUM(unknown_cost_calls), 0), COALESCE(SUM(input_tokens), 0),
                    COALESCE(SUM(output_tokens), 0)
             FROM llm_usage_daily WHERE project_id = ?1",
        )?;
        Ok(stmt.query_row([project_id], totals_row)?)
    }

    /// What one run has cost (for `--max-cost`): a run's calls, through the `run_id` index.
    pub fn run_cost(&self, run_id: i64) -> Result<CostTotals> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT TOTAL(cost_usd), COUNT(*), COUNT(*) - COUNT(cost_usd),
                    COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
             FROM llm_calls WHERE run_id = ?1",
        )?;
        Ok(stmt.query_row([run_id], totals_row)?)
    }

    /// The run's calls of unknown price, summed per provider and model (in that order).
    pub fn run_unpriced_usage(&self, run_id: i64) -> Result<Vec<UnpricedUsage>> {
        let mut st = self.conn.prepare_cached(
            "SELECT provider, model, COUNT(*), SUM(input_tokens), SUM(output_tokens),
                    SUM(cached_tokens), SUM(cache_write_tokens)
             FROM llm_calls WHERE run_id = ?1 AND cost_usd IS NULL
             GROUP BY provider, model ORDER BY provider, model",
        )?;
        let rows = st.query_map([run_id], |r| {
            Ok(UnpricedUsage {
                provider: r.get(0)?,
                model: r.get(1)?,
                calls: r.get(2)?,
                input_tokens: r.get(3)?,
                output_tokens: r.get(4)?,
                cached_tokens: r.get(5)?,
                cache_write_tokens: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn totals_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CostTotals> {
    Ok(CostTotals {
        cost_usd: r.get(0)?,
        calls: r.get(1)?,
        unknown_cost_calls: r.get(2)?,
        input_tokens: r.get(3)?,
        output_tokens: r.get(4)?,
    })
}
