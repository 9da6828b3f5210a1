//! Turning a [`Report`] into text: cost figures, CSV (RFC 4180), JSON and a bar chart.

use serde_json::{Value, json};

use super::{BudgetStatus, GroupBy, Report, Row, Stats};

/// `$0.1234`; `≥ $0.1234` when some calls have no known price; `unknown` when none has.
pub fn cost_text(s: &Stats) -> String {
    match s.cost_usd() {
        None => "unknown".into(),
        Some(c) if s.cost_is_partial() => format!("≥ ${c:.4}"),
        Some(c) => format!("${c:.4}"),
    }
}

/// The names of the key columns of a grouping.
pub fn key_columns(g: GroupBy) -> &'static [&'static str] {
    match g {
        GroupBy::ProviderModel => &["provider", "model"],
        GroupBy::Project => &["project"],
        GroupBy::Provider => &["provider"],
        GroupBy::Model => &["model"],
        GroupBy::Role => &["role"],
        GroupBy::Day => &["day"],
        GroupBy::Price => &["cost_source", "price_table"],
    }
}

fn key_values(g: GroupBy, row: &Row) -> Vec<String> {
    let k = &row.key;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    match g {
        GroupBy::ProviderModel => vec![v(&k.provider), v(&k.model)],
        GroupBy::Project => vec![v(&k.project)],
        GroupBy::Provider => vec![v(&k.provider)],
        GroupBy::Model => vec![v(&k.model)],
        GroupBy::Role => vec![v(&k.role)],
        GroupBy::Day => vec![v(&k.day)],
        GroupBy::Price => vec![v(&k.cost_source), v(&k.price_table)],
    }
}

const STAT_COLUMNS: &[&str] = &[
    "requests",
    "ok",
    "failed",
    "retried",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_usd",
    "unknown_cost_calls",
    "avg_latency_ms",
    "avg_ttft_ms",
    "checked_calls",
    "checked_provider_usd",
    "checked_table_usd",
    "disagreeing_calls",
];

fn opt_num(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}

fn stat_values(s: &Stats) -> Vec<String> {
    vec![
        s.requests.to_string(),
        s.ok.to_string(),
        s.failed.to_string(),
        s.retried.to_string(),
        s.input_tokens.to_string(),
        s.cached_tokens.to_string(),
        s.output_tokens.to_string(),
        opt_num(s.cost_usd(), 6),
        s.unknown_cost_calls.to_string(),
        opt_num(s.avg_latency_ms(), 1),
        opt_num(s.avg_ttft_ms(), 1),
        s.checked_calls.to_string(),
        format!("{:.6}", s.checked_provider_usd),
        format!("{:.6}", s.checked_table_usd),
        s.disagreeing_calls.to_string(),
    ]
}

/// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// The report as CSV: a header, one line per row, and a last line whose first column is
/// `TOTAL`. Costs are dollars with 6 decimals, empty when unknown (see `unknown_cost_calls`);
/// with `--by project` two more columns give the budget and what is left of it.
pub fn csv(r: &Report) -> String {
    let g = r.group_by;
    let budgets = g == GroupBy::Project;
    let mut header: Vec<String> = key_columns(g).iter().map(|s| s.to_string()).collect();
    header.extend(STAT_COLUMNS.iter().map(|s| s.to_string()));
    if budgets {
        header.push("budget_usd".into());
        header.push("budget_left_usd".into());
    }
    let mut out = String::new();
    csv_line(&mut out, &header);
    for row in &r.rows {
        let mut f = key_values(g, row);
        f.extend(stat_values(&row.stats));
        if budgets {
            f.push(opt_num(row.budget.and_then(|b| b.budget_usd), 6));
            f.push(opt_num(row.budget.and_then(|b| b.left_usd), 6));
        }
        csv_line(&mut out, &f);
    }
    let mut f = vec![String::new(); key_columns(g).len()];
    f[0] = "TOTAL".into();
    f.extend(stat_values(&r.totals));
    if budgets {
        f.extend([String::new(), String::new()]);
    }
    csv_line(&mut out, &f);
    out
}

fn stats_json(s: &Stats) -> Value {
    json!({
        "requests": s.requests,
        "ok": s.ok,
        "failed": s.failed,
        "retried": s.retried,
        "input_tokens": s.input_tokens,
        "cached_tokens": s.cached_tokens,
        "output_tokens": s.output_tokens,
        "cost_usd": s.cost_usd(),
        "unknown_cost_calls": s.unknown_cost_calls,
        "avg_latency_ms": s.avg_latency_ms(),
        "avg_ttft_ms": s.avg_ttft_ms(),
        "price_check": price_check_json(s),
    })
}

/// Provider-reported costs against the price table: `null` when no call was checked.
fn price_check_json(s: &Stats) -> Value {
    if s.checked_calls == 0 {
        return Value::Null;
    }
    json!({
        "calls": s.checked_calls,
        "provider_usd": round6(s.checked_provider_usd),
        "table_usd": round6(s.checked_table_usd),
        "disagreeing_calls": s.disagreeing_calls,
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One line saying where provider-reported costs and the price table disagree, if they do.
pub fn price_check_text(s: &Stats) -> Option<String> {
    (s.disagreeing_calls > 0).then(|| {
        format!(
            "{} of {} provider-priced call(s) disagree with the price table by more than 1%: the providers reported ${:.4}, the table says ${:.4} (the reported cost is counted; see `usage --by price`).",
            s.disagreeing_calls, s.checked_calls, s.checked_provider_usd, s.checked_table_usd
        )
    })
}

fn budget_json(b: &BudgetStatus) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

/// The report as one JSON document: `group_by`, `since_ms`/`until_ms`, `rows` (key fields plus
/// the sums; `cost_usd` is a number or null when no price is known), `totals` and the
/// `unknown_cost_calls` of the whole report; `budget` per project row and for a report
/// filtered to one project.
pub fn json(r: &Report) -> Value {
    let rows: Vec<Value> = r
        .rows
        .iter()
        .map(|row| {
            let mut v = serde_json::to_value(&row.key).unwrap_or_else(|_| json!({}));
            if let (Value::Object(m), Value::Object(s)) = (&mut v, stats_json(&row.stats)) {
                m.extend(s);
                if let Some(b) = &row.budget {
                    m.insert("budget".into(), budget_json(b));
                }
            }
            v
        })
        .collect();
    json!({
        "group_by": r.group_by,
        "days": "utc",
        "since_ms": r.filter.since_ms,
        "until_ms": r.filter.until_ms,
        "rows": rows,
        "totals": stats_json(&r.totals),
        "unknown_cost_calls": r.totals.unknown_cost_calls,
        "budget": r.project_budget.as_ref().map(budget_json),
    })
}

/// A horizontal bar per row, scaled to the costliest one: `label  ████████ $1.2345`. Empty when
/// no row has a known cost above zero.
pub fn bar_chart(r: &Report, width: usize) -> String {
    let max = r
        .rows
        .iter()
        .map(|row| row.stats.known_cost_usd)
        .fold(0.0_f64, f64::max);
    if max <= 0.0 || width == 0 {
        return String::new();
    }
    let labels: Vec<String> = r.rows.iter().map(|row| row.key.label()).collect();
    let label_w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (row, label) in r.rows.iter().zip(&labels) {
        let n = ((row.stats.known_cost_usd / max) * width as f64).round() as usize;
        let bar = if n == 0 && row.stats.known_cost_usd > 0.0 {
            "▏".to_string()
        } else {
            "█".repeat(n)
        };
        let pad = label_w - label.chars().count();
        out.push_str(&format!(
            "{label}{}  {bar:<width$} {}\n",
            " ".repeat(pad),
            cost_text(&row.stats)
        ));
    }
    out.pop();
    out
}
