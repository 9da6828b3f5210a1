//! The SQL of usage reports: sums of recorded calls grouped by one key, from the
//! `llm_usage_daily` roll-up (whole UTC days) or from `llm_calls` (a time range, through the
//! `created_at` index), and each project's all-time spend. How a report splits its range
//! between the two is `usage`'s business.

use rusqlite::ToSql;

use super::{Db, Result};

/// What the sums are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    ProviderModel,
    Provider,
    Model,
    Role,
    /// The UTC day number (`created_at / 86400000`).
    Day,
    /// The project id (0: no project, or a forgotten one).
    Project,
    /// Where the cost came from and which price table (empty when none).
    Price,
}

/// Which recorded calls are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSpan {
    /// Whole UTC days from the roll-up: `from <= day < to` (day numbers).
    Days { from: Option<i64>, to: Option<i64> },
    /// The calls themselves: `since <= created_at < until` (unix ms).
    Calls {
        since_ms: Option<i64>,
        until_ms: Option<i64>,
    },
}

/// Conditions on the calls, applied to either source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageFilter<'a> {
    pub project_id: Option<i64>,
    pub provider: Option<&'a str>,
    pub model: Option<&'a str>,
}

/// Sums over a set of calls (`usage::Stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageSums {
    pub requests: i64,
    pub ok: i64,
    pub failed: i64,
    pub retried: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    /// Sum of the known costs.
    pub known_cost_usd: f64,
    pub unknown_cost_calls: i64,
    pub latency_ms_sum: i64,
    pub ttft_ms_sum: i64,
    pub ttft_calls: i64,
    /// Calls with both a provider-reported cost and the price table's figure.
    pub checked_calls: i64,
    pub checked_provider_usd: f64,
    pub checked_table_usd: f64,
    /// Checked calls where the two differ by more than 1% (and a millionth of a dollar).
    pub disagreeing_calls: i64,
}

/// One group: its key (two text columns; the second is empty unless grouped by provider and
/// model) and its sums.
pub type UsageGroupSums = ((String, String), UsageSums);

/// A project with its budget and everything it has cost so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSpend {
    pub id: i64,
    pub name: String,
    /// The project's own budget.
    pub budget_usd: Option<f64>,
    pub spent_usd: f64,
    pub unknown_cost_calls: i64,
}

const ROLLUP_SUMS: &str = "SUM(requests), SUM(ok), SUM(failed), SUM(retried), SUM(input_tokens),
    SUM(cached_tokens), SUM(output_tokens), TOTAL(cost_usd), SUM(unknown_cost_calls),
    SUM(latency_ms_sum), SUM(ttft_ms_sum), SUM(ttft_calls), SUM(checked_calls),
    TOTAL(checked_provider_usd), TOTAL(checked_table_usd), SUM(disagreeing_calls)";

/// The same sums from the calls. `checked` and the disagreement test are those of the
/// roll-up's triggers (migration 0005).
const RAW_SUMS: &str = "COUNT(*), SUM(outcome = 'ok'), SUM(outcome <> 'ok'),
    SUM(attempt > 1 OR route_index > 0), SUM(input_tokens), SUM(cached_tokens),
    SUM(output_tokens), TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd), SUM(latency_ms),
    IFNULL(SUM(ttft_ms), 0), COUNT(ttft_ms),
    SUM(table_cost_usd IS NOT NULL AND cost_usd IS NOT NULL),
    TOTAL(IIF(table_cost_usd IS NOT NULL AND cost_usd IS NOT NULL, cost_usd, 0)),
    TOTAL(IIF(table_cost_usd IS NOT NULL AND cost_usd IS NOT NULL, table_cost_usd, 0)),
    SUM(table_cost_usd IS NOT NULL AND cost_usd IS NOT NULL
        AND ABS(cost_usd - table_cost_usd) > MAX(0.000001, 0.01 * MAX(cost_usd, table_cost_usd)))";

/// The SQL of the key columns for a grouping, on the roll-up or on the raw calls.
fn key_columns(g: UsageGroup, rollup: bool) -> (&'static str, &'static str) {
    match (g, rollup) {
        (UsageGroup::ProviderModel, _) => ("provider", "model"),
        (UsageGroup::Provider, _) => ("provider", "''"),
        (UsageGroup::Model, _) => ("model", "''"),
        (UsageGroup::Role, _) => ("role", "''"),
        (UsageGroup::Day, true) => ("day", "''"),
        (UsageGroup::Day, false) => ("created_at / 86400000", "''"),
        (UsageGroup::Project, true) => ("project_id", "''"),
        (UsageGroup::Project, false) => ("IFNULL(project_id, 0)", "''"),
        (UsageGroup::Price, true) => ("cost_source", "price_table"),
        (UsageGroup::Price, false) => ("cost_source", "IFNULL(price_table, '')"),
    }
}

impl Db<'_> {
    /// Sums of the calls in `span` matching `filter`, one per group (in no particular order).
    pub fn usage_sums(
        &self,
        span: UsageSpan,
        group: UsageGroup,
        filter: &UsageFilter<'_>,
    ) -> Result<Vec<UsageGroupSums>> {
        let mut conds: Vec<&str> = Vec::new();
        let mut params: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(id) = filter.project_id {
            conds.push("project_id = ?");
            params.push(Box::new(id));
        }
        if let Some(p) = filter.provider {
            conds.push("provider = ?");
            params.push(Box::new(p.to_string()));
        }
        if let Some(m) = filter.model {
            conds.push("model = ?");
            params.push(Box::new(m.to_string()));
        }
        let (table, sums, rollup, lo, hi, column) = match span {
            UsageSpan::Days { from, to } => ("llm_usage_daily", ROLLUP_SUMS, true, from, to, "day"),
            UsageSpan::Calls { since_ms, until_ms } => (
                "llm_calls",
                RAW_SUMS,
                false,
                since_ms,
                until_ms,
                "created_at",
            ),
        };
        let lo_cond = format!("{column} >= ?");
        let hi_cond = format!("{column} < ?");
        if let Some(lo) = lo {
            conds.push(&lo_cond);
            params.push(Box::new(lo));
        }
        if let Some(hi) = hi {
            conds.push(&hi_cond);
            params.push(Box::new(hi));
        }
        let (k1, k2) = key_columns(group, rollup);
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT CAST({k1} AS TEXT), CAST({k2} AS TEXT), {sums} FROM {table} {filter} GROUP BY 1, 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            Ok((
                (r.get(0)?, r.get(1)?),
                UsageSums {
                    requests: r.get(2)?,
                    ok: r.get(3)?,
                    failed: r.get(4)?,
                    retried: r.get(5)?,
                    input_tokens: r.get(6)?,
                    cached_tokens: r.get(7)?,
                    output_tokens: r.get(8)?,
                    known_cost_usd: r.get(9)?,
                    unknown_cost_calls: r.get(10)?,
                    latency_ms_sum: r.get(11)?,
                    ttft_ms_sum: r.get(12)?,
                    ttft_calls: r.get(13)?,
                    checked_calls: r.get(14)?,
                    checked_provider_usd: r.get(15)?,
                    checked_table_usd: r.get(16)?,
                    disagreeing_calls: r.get(17)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every project (or only `only`) with its own budget and its all-time spend, from the
    /// roll-up.
    pub fn project_spend(&self, only: Option<i64>) -> Result<Vec<ProjectSpend>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.name, p.budget_usd, IFNULL(c.cost, 0.0), IFNULL(c.unknown, 0)
             FROM projects p LEFT JOIN (
                 SELECT project_id, TOTAL(cost_usd) AS cost, SUM(unknown_cost_calls) AS unknown
                 FROM llm_usage_daily WHERE project_id <> 0 AND (?1 IS NULL OR project_id = ?1)
                 GROUP BY project_id
             ) c ON c.project_id = p.id
             WHERE ?1 IS NULL OR p.id = ?1",
        )?;
        let rows = stmt.query_map([only], |r| {
            Ok(ProjectSpend {
                id: r.get(0)?,
                name: r.get(1)?,
                budget_usd: r.get(2)?,
                spent_usd: r.get(3)?,
                unknown_cost_calls: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
