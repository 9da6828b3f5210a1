//! How a report reads the store: whole UTC days from the `llm_usage_daily` roll-up, partial
//! days at the ends of the range from `llm_calls` (the SQL is in `store::usage`).

use std::collections::{BTreeMap, HashMap};

use super::period::{DAY_MS, day_label};
use super::{BudgetStatus, GroupBy, GroupKey, Report, ReportError, Row, Stats, UsageQuery};
use crate::store::{Db, Store, UsageFilter, UsageGroup, UsageSpan};

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

fn group_of(g: GroupBy) -> UsageGroup {
    match g {
        GroupBy::ProviderModel => UsageGroup::ProviderModel,
        GroupBy::Provider => UsageGroup::Provider,
        GroupBy::Model => UsageGroup::Model,
        GroupBy::Role => UsageGroup::Role,
        GroupBy::Day => UsageGroup::Day,
        GroupBy::Project => UsageGroup::Project,
        GroupBy::Price => UsageGroup::Price,
    }
}

/// Adds the sums of `span` to `groups`.
fn add(
    db: &Db<'_>,
    q: &UsageQuery,
    span: UsageSpan,
    groups: &mut Groups,
) -> crate::store::Result<()> {
    let f = &q.filter;
    let filter = UsageFilter {
        project_id: f.project_id,
        provider: f.provider.as_deref(),
        model: f.model.as_deref(),
    };
    for (key, sums) in db.usage_sums(span, group_of(q.group_by), &filter)? {
        groups.entry(key).or_default().add(&sums);
    }
    Ok(())
}

fn rollup(
    db: &Db<'_>,
    q: &UsageQuery,
    day_lo: Option<i64>,
    day_hi: Option<i64>,
    groups: &mut Groups,
) -> crate::store::Result<()> {
    add(
        db,
        q,
        UsageSpan::Days {
            from: day_lo,
            to: day_hi,
        },
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
    add(
        db,
        q,
        UsageSpan::Calls {
            since_ms: since,
            until_ms: until,
        },
        groups,
    )
}

struct ProjectInfo {
    name: String,
    budget: BudgetStatus,
}

/// Names and budgets (against all-time spend) of the projects the report may show.
fn projects(db: &Db<'_>, q: &UsageQuery) -> crate::store::Result<HashMap<i64, ProjectInfo>> {
    Ok(db
        .project_spend(q.filter.project_id)?
        .into_iter()
        .map(|p| {
            let budget_usd = p.budget_usd.or(q.default_budget_usd);
            let info = ProjectInfo {
                name: p.name,
                budget: BudgetStatus {
                    budget_usd,
                    spent_usd: p.spent_usd,
                    spent_unknown_calls: p.unknown_cost_calls,
                    left_usd: budget_usd.map(|b| (b - p.spent_usd).max(0.0)),
                },
            };
            (p.id, info)
        })
        .collect())
}
