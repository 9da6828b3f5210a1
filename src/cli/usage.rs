//! `samocoder usage`: tokens, requests and cost from the recorded model calls.
use super::Result;

use clap::{Args, ValueEnum};

use super::projects::{clean, open_store};
use super::{Ctx, UsageError};
use crate::clock::{Clock, SystemClock};
use crate::exit::Exit;
use crate::usage::{
    self, Bound, BudgetStatus, Filter, GroupBy, Report, Stats, UsageQuery, cost_text,
};

/// Width of the cost bars drawn under the table on a terminal.
const BAR_WIDTH: usize = 30;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    Project,
    Provider,
    Model,
    Role,
    Day,
    /// What priced the calls: the cost source and the price table (source and version).
    Price,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Days are UTC days. A request is one attempt; retried = attempt > 1 or a \
fallback provider (also counted as ok or failed). Cost is \"unknown\" when no price is known and \
\"≥ $x\" when some calls have no known price. --by price shows what priced the calls: a price \
table (source and version), the provider's own report, the config, or nothing."
)]
pub struct UsageArgs {
    /// Only this project (name or id).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// From this time on: 7d, 24h, 2w, 90m back from now, a UTC date (2026-11-01), or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Before this time (same forms; a date includes that whole UTC day).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only calls to this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only calls to this model (exact name).
    #[arg(long)]
    pub model: Option<String>,
    /// Group rows by this (default: provider and model).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub by: Option<By>,
    /// CSV (RFC 4180) on stdout instead of a table.
    #[arg(long)]
    pub csv: bool,
}

pub fn run(args: UsageArgs, ctx: &Ctx) -> Result<Exit> {
    if args.csv && ctx.ui.json() {
        return Err(UsageError("choose one of --csv and --json".into()).into());
    }
    let now = SystemClock.now_ms();
    let since = args
        .since
        .as_deref()
        .map(|s| usage::parse_bound(s, now, Bound::Since))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| usage::parse_bound(s, now, Bound::Until))
        .transpose()?;
    let group_by = match args.by {
        None => GroupBy::ProviderModel,
        Some(By::Project) => GroupBy::Project,
        Some(By::Provider) => GroupBy::Provider,
        Some(By::Model) => GroupBy::Model,
        Some(By::Role) => GroupBy::Role,
        Some(By::Day) => GroupBy::Day,
        Some(By::Price) => GroupBy::Price,
    };
    let default_budget_usd = ctx.config()?.budget.per_project_usd;
    let mut filter = Filter {
        project_id: None,
        since_ms: since,
        until_ms: until,
        provider: args.provider,
        model: args.model,
    };
    let store = open_store(ctx)?;
    if let Some(name) = &args.project {
        let Some(store) = &store else {
            return Err(crate::store::StoreError::NoProject { name: name.clone() }.into());
        };
        filter.project_id = Some(store.get_project(name)?.id);
    }
    let query = UsageQuery {
        filter,
        group_by,
        default_budget_usd,
    };
    let report = match &store {
        Some(store) => usage::report(store, &query)?,
        None => {
            if let (Some(s), Some(u)) = (since, until)
                && s >= u
            {
                return Err(usage::ReportError::EmptyRange.into());
            }
            Report {
                group_by,
                filter: query.filter.clone(),
                rows: Vec::new(),
                totals: Stats::default(),
                project_budget: None,
            }
        }
    };
    if ctx.ui.json() {
        ctx.ui.json_doc(&usage::json(&report))?;
    } else if args.csv {
        ctx.ui.out_raw(&usage::csv(&report))?;
    } else {
        print_table(ctx, &report, args.project.as_deref())?;
    }
    Ok(Exit::Ok)
}

fn period(r: &Report) -> String {
    let t = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| ms.to_string())
    };
    match (r.filter.since_ms, r.filter.until_ms) {
        (None, None) => "all time".into(),
        (Some(s), None) => format!("since {}", t(s)),
        (None, Some(u)) => format!("before {}", t(u)),
        (Some(s), Some(u)) => format!("from {} to before {}", t(s), t(u)),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.0} ms"))
        .unwrap_or_else(|| "-".into())
}

fn stat_cells(s: &Stats) -> Vec<String> {
    vec![
        s.requests.to_string(),
        s.ok.to_string(),
        s.failed.to_string(),
        s.retried.to_string(),
        s.input_tokens.to_string(),
        s.cached_tokens.to_string(),
        s.output_tokens.to_string(),
        cost_text(s),
        ms(s.avg_latency_ms()),
        ms(s.avg_ttft_ms()),
    ]
}

fn budget_text(b: &BudgetStatus) -> (String, String) {
    match (b.budget_usd, b.left_usd) {
        (Some(budget), Some(left)) => {
            let left = if b.spent_unknown_calls > 0 {
                format!("≤ ${left:.4}")
            } else {
                format!("${left:.4}")
            };
            (format!("${budget:.4}"), left)
        }
        _ => ("none".into(), "-".into()),
    }
}

fn print_table(ctx: &Ctx, r: &Report, project: Option<&str>) -> Result<()> {
    let what = match r.group_by {
        GroupBy::ProviderModel => "provider and model",
        GroupBy::Project => "project",
        GroupBy::Provider => "provider",
        GroupBy::Model => "model",
        GroupBy::Role => "role",
        GroupBy::Day => "day",
        GroupBy::Price => "what priced the calls",
    };
    let scope = project
        .map(|p| format!(" for project {}", clean(p)))
        .unwrap_or_default();
    ctx.ui.out(format!(
        "Usage by {what}{scope}, {} (days are UTC)",
        period(r)
    ))?;
    if r.rows.is_empty() {
        ctx.ui.out("No model calls recorded in this range.")?;
    } else {
        let keys = usage::key_columns(r.group_by);
        let by_project = r.group_by == GroupBy::Project;
        let mut header: Vec<String> = keys.iter().map(|k| k.to_uppercase()).collect();
        header.extend(
            [
                "REQUESTS",
                "OK",
                "FAILED",
                "RETRIED",
                "INPUT",
                "CACHED",
                "OUTPUT",
                "COST",
                "AVG LATENCY",
                "AVG TTFT",
            ]
            .map(String::from),
        );
        if by_project {
            header.extend(["BUDGET".to_string(), "LEFT".to_string()]);
        }
        let mut rows: Vec<Vec<String>> = r
            .rows
            .iter()
            .map(|row| {
                let k = &row.key;
                let mut cells: Vec<String> = match r.group_by {
                    GroupBy::ProviderModel => vec![
                        k.provider.clone().unwrap_or_default(),
                        k.model.clone().unwrap_or_default(),
                    ],
                    GroupBy::Price => {
                        let source = k.cost_source.clone().unwrap_or_default();
                        let table = match k.price_table.as_deref() {
                            Some(t) if !t.is_empty() => t.to_string(),
                            _ if source == "unknown" || source == "provider" => "-".into(),
                            _ => "(not recorded)".into(),
                        };
                        vec![source, table]
                    }
                    _ => vec![k.label()],
                };
                cells = cells.iter().map(|c| clean(c)).collect();
                cells.extend(stat_cells(&row.stats));
                if by_project {
                    let (b, l) = row
                        .budget
                        .as_ref()
                        .map(budget_text)
                        .unwrap_or_else(|| ("-".into(), "-".into()));
                    cells.extend([b, l]);
                }
                cells
            })
            .collect();
        let mut total = vec![String::new(); keys.len()];
        total[0] = "TOTAL".into();
        total.extend(stat_cells(&r.totals));
        if by_project {
            total.extend([String::new(), String::new()]);
        }
        rows.push(total);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        ctx.ui.out(crate::ui::table(&header, &rows))?;
    }
    if let Some(b) = &r.project_budget {
        let (budget, left) = budget_text(b);
        let line = if b.budget_usd.is_some() {
            format!(
                "Budget: {budget}, {left} left (spent ${:.4} all time{})",
                b.spent_usd,
                if b.spent_unknown_calls > 0 {
                    " plus calls of unknown price"
                } else {
                    ""
                }
            )
        } else {
            format!("Budget: none (spent ${:.4} all time)", b.spent_usd)
        };
        ctx.ui.out(line)?;
    }
    if let Some(line) = usage::price_check_text(&r.totals) {
        ctx.ui.out(line)?;
    }
    if r.totals.unknown_cost_calls > 0 {
        ctx.ui.out(format!(
            "{} call(s) had no known price; their cost is not included.",
            r.totals.unknown_cost_calls
        ))?;
    }
    if ctx.ui.stdout_is_tty() && r.rows.len() > 1 {
        let chart = usage::bar_chart(r, BAR_WIDTH);
        if !chart.is_empty() {
            ctx.ui.out(format!("\nCost per {what}:"))?;
            ctx.ui.out(clean_chart(&chart))?;
        }
    }
    Ok(())
}

/// The chart with control characters (from provider or model names) made harmless, keeping
/// line breaks.
fn clean_chart(chart: &str) -> String {
    chart.lines().map(clean).collect::<Vec<_>>().join("\n")
}
