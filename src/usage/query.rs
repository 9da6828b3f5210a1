//! The SQL behind a report: whole UTC days from the `llm_usage_daily` roll-up, partial days at
//! the ends of the range from `llm_calls` (a range scan of the `created_at` index).

use std::collections::{BTreeMap, HashMap};

use rusqlite::ToSql;

use super::period::{DAY_MS, day_label};
use super::{BudgetStatus, GroupBy, GroupKey, Report, ReportError, Row, Stats, UsageQuery};
use crate::store::{Db, Store};

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

/// Builds the report for `q` from the store.
pub fn report(store: &Store, q: &UsageQuery) -> Result<Report, ReportError> {
    let f = &q.filter;
    if let (Some(s), Some(u)) = (f.since_ms, f.until_ms)
        && s >= u
    {
        return Err(ReportError::EmptyRange);
    }
    Ok(store.read(|db| build(db, q))?)
}

type Groups = BTreeMap<(String, String), Stats>;

fn build(db: &Db<'_>, q: &UsageQuery) -> crate::store::Result<Report> {
    let f = &q.filter;
    let mut groups = Groups::new();
    let day_lo = f
        .since_ms
        .map(|s| s.div_euclid(DAY_MS) + i64::from(s.rem_euclid(DAY_MS) > 0));
    let day_hi = f.until_ms.map(|u| u.div_euclid(DAY_MS));
    match (day_lo, day_hi) {
        (Some(lo), Some(hi)) if lo >= hi => {
            raw(db, q, f.since_ms, f.until_ms, &mut groups)?;
        }
        _ => {
            rollup(db, q, day_lo, day_hi, &mut groups)?;
            if let (Some(s), Some(lo)) = (f.since_ms, day_lo)
                && s < lo * DAY_MS
            {
                raw(db, q, Some(s), Some(lo * DAY_MS), &mut groups)?;
            }
            if let (Some(u), Some(hi)) = (f.until_ms, day_hi)
                && hi * DAY_MS < u
            {
                raw(db, q, Some(hi * DAY_MS), Some(u), &mut groups)?;
            }
        }
    }

    let wants_budget = q.group_by == GroupBy::Project || f.project_id.is_some();
    let projects = if q.group_by == GroupBy::Project || wants_budget {
        projects(db, q)?
    } else {
        HashMap::new()
    };

    let mut totals = Stats::default();
    let mut rows: Vec<Row> = groups
        .into_iter()
        .map(|((k1, k2), stats)| {
            totals.add(&stats);
            let mut key = GroupKey::default();
            let mut budget = None;
            match q.group_by {
                GroupBy::ProviderModel => {
                    key.provider = Some(k1);
                    key.model = Some(k2);
                }
                GroupBy::Provider => key.provider = Some(k1),
                GroupBy::Model => key.model = Some(k1),
                GroupBy::Role => key.role = Some(k1),
                GroupBy::Day => key.day = Some(day_label(k1.parse().unwrap_or_default())),
                GroupBy::Price => {
                    key.cost_source = Some(k1);
                    key.price_table = Some(k2);
                }
                GroupBy::Project => {
                    let id: i64 = k1.parse().unwrap_or_default();
                    match projects.get(&id) {
                        Some(p) => {
                            key.project = Some(p.name.clone());
                            key.project_id = Some(id);
                            budget = Some(p.budget);
                        }
                        None => key.project = Some("(no project)".into()),
                    }
                }
            }
            Row { key, stats, budget }
        })
        .collect();
    if q.group_by != GroupBy::Day {
        rows.sort_by(|a, b| {
            b.stats
                .known_cost_usd
                .total_cmp(&a.stats.known_cost_usd)
                .then(b.stats.requests.cmp(&a.stats.requests))
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    let project_budget = f
        .project_id
        .and_then(|id| projects.get(&id))
        .map(|p| p.budget);
    Ok(Report {
        group_by: q.group_by,
        filter: f.clone(),
        rows,
        totals,
        project_budget,
    })
}

/// The SQL of the key columns for a grouping, on the roll-up or on the raw calls.
fn key_columns(g: GroupBy, rollup: bool) -> (&'static str, &'static str) {
    match (g, rollup) {
        (GroupBy::ProviderModel, _) => ("provider", "model"),
        (GroupBy::Provider, _) => ("provider", "''"),
        (GroupBy::Model, _) => ("model", "''"),
        (GroupBy::Role, _) => ("role", "''"),
        (GroupBy::Day, true) => ("day", "''"),
        (GroupBy::Day, false) => ("created_at / 86400000", "''"),
        (GroupBy::Project, true) => ("project_id", "''"),
        (GroupBy::Project, false) => ("IFNULL(project_id, 0)", "''"),
        (GroupBy::Price, true) => ("cost_source", "price_table"),
        (GroupBy::Price, false) => ("cost_source", "IFNULL(price_table, '')"),
    }
}

/// The conditions shared by both sources (project, provider, model).
fn common_filters(q: &UsageQuery) -> (Vec<&'static str>, Vec<Box<dyn ToSql>>) {
    let f = &q.filter;
    let mut conds = Vec::new();
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(id) = f.project_id {
        conds.push("project_id = ?");
        params.push(Box::new(id));
    }
    if let Some(p) = &f.provider {
        conds.push("provider = ?");
        params.push(Box::new(p.clone()));
    }
    if let Some(m) = &f.model {
        conds.push("model = ?");
        params.push(Box::new(m.clone()));
    }
    (conds, params)
}

fn rollup(
    db: &Db<'_>,
    q: &UsageQuery,
    day_lo: Option<i64>,
    day_hi: Option<i64>,
    groups: &mut Groups,
) -> crate::store::Result<()> {
    let (mut conds, mut params) = common_filters(q);
    if let Some(lo) = day_lo {
        conds.push("day >= ?");
        params.push(Box::new(lo));
    }
    if let Some(hi) = day_hi {
        conds.push("day < ?");
        params.push(Box::new(hi));
    }
    let (k1, k2) = key_columns(q.group_by, true);
    run(
        db,
        "llm_usage_daily",
        k1,
        k2,
        ROLLUP_SUMS,
        conds,
        params,
        groups,
    )
}

fn raw(
    db: &Db<'_>,
    q: &UsageQuery,
    since: Option<i64>,
    until: Option<i64>,
    groups: &mut Groups,
) -> crate::store::Result<()> {
    let (mut conds, mut params) = common_filters(q);
    if let Some(s) = since {
        conds.push("created_at >= ?");
        params.push(Box::new(s));
    }
    if let Some(u) = until {
        conds.push("created_at < ?");
        params.push(Box::new(u));
    }
    let (k1, k2) = key_columns(q.group_by, false);
    run(db, "llm_calls", k1, k2, RAW_SUMS, conds, params, groups)
}

#[allow(clippy::too_many_arguments)]
fn run(
    db: &Db<'_>,
    table: &str,
    k1: &str,
    k2: &str,
    sums: &str,
    conds: Vec<&str>,
    params: Vec<Box<dyn ToSql>>,
    groups: &mut Groups,
) -> crate::store::Result<()> {
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT CAST({k1} AS TEXT), CAST({k2} AS TEXT), {sums} FROM {table} {filter} GROUP BY 1, 2"
    );
    let mut stmt = db.conn().prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    while let Some(r) = rows.next()? {
        let key: (String, String) = (r.get(0)?, r.get(1)?);
        let s = Stats {
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
        };
        groups.entry(key).or_default().add(&s);
    }
    Ok(())
}

struct ProjectInfo {
    name: String,
    budget: BudgetStatus,
}

/// Names and budgets (against all-time spend) of the projects the report may show.
fn projects(db: &Db<'_>, q: &UsageQuery) -> crate::store::Result<HashMap<i64, ProjectInfo>> {
    let only = q.filter.project_id;
    let mut stmt = db.conn().prepare_cached(
        "SELECT p.id, p.name, p.budget_usd, IFNULL(c.cost, 0.0), IFNULL(c.unknown, 0)
         FROM projects p LEFT JOIN (
             SELECT project_id, TOTAL(cost_usd) AS cost, SUM(unknown_cost_calls) AS unknown
             FROM llm_usage_daily WHERE project_id <> 0 AND (?1 IS NULL OR project_id = ?1)
             GROUP BY project_id
         ) c ON c.project_id = p.id
         WHERE ?1 IS NULL OR p.id = ?1",
    )?;
    let rows = stmt.query_map([only], |r| {
        let own: Option<f64> = r.get(2)?;
        let budget_usd = own.or(q.default_budget_usd);
        let spent_usd: f64 = r.get(3)?;
        Ok((
            r.get::<_, i64>(0)?,
            ProjectInfo {
                name: r.get(1)?,
                budget: BudgetStatus {
                    budget_usd,
                    spent_usd,
                    spent_unknown_calls: r.get(4)?,
                    left_usd: budget_usd.map(|b| (b - spent_usd).max(0.0)),
                },
            },
        ))
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}
