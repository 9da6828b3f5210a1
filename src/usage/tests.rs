use std::sync::Arc;

use super::*;
use crate::clock::FakeClock;
use crate::store::{
    CostSource, NewLlmCall, NewProject, Outcome, Store, UsageFilter, UsageGroup, UsageSpan,
};

const T0: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

fn store() -> (Store, FakeClock, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(T0);
    let store = Store::open(&dir.path().join("db.sqlite"), Arc::new(clock.clone())).unwrap();
    (store, clock, dir)
}

fn project(s: &Store, name: &str, budget: Option<f64>) -> i64 {
    s.create_project(&NewProject {
        name: name.into(),
        dir: format!("/tmp/{name}").into(),
        description: String::new(),
        template: None,
        budget_usd: budget,
    })
    .unwrap()
    .id
}

/// A deterministic spread of calls over three days, with every kind of row.
fn seed(s: &Store, clock: &FakeClock, projects: &[i64]) {
    for i in 0..300_i64 {
        clock.set(T0 - DAY_MS + i * (3 * DAY_MS / 300) + (i % 7) * 1000);
        s.record_llm_call(&NewLlmCall {
            project_id: (i % 5 != 0).then(|| projects[(i % projects.len() as i64) as usize]),
            role: ["coder", "planner", "fixer"][(i % 3) as usize].into(),
            provider: ["openai", "anthropic"][(i % 2) as usize].into(),
            model: ["m1", "m2", "m3"][(i % 3) as usize].into(),
            attempt: 1 + (i % 4 == 0) as u32,
            route_index: (i % 11 == 0) as u32,
            outcome: Some(if i % 6 == 0 {
                Outcome::Error
            } else {
                Outcome::Ok
            }),
            input_tokens: 100 + i as u64,
            cached_tokens: (i % 3) as u64 * 10,
            output_tokens: 20,
            cost_usd: (i % 9 != 0).then_some(0.25),
            cost_source: Some(match i % 9 {
                0 => CostSource::Unknown,
                1 | 2 => CostSource::Provider,
                3 => CostSource::Override,
                _ => CostSource::Table,
            }),
            price_table: match i % 9 {
                0 => None,
                1 => Some("models.dev 1.0.398".into()),
                2 => None,
                3 => Some("config".into()),
                4 => None,
                _ => Some(["LiteLLM 1.109.1", "models.dev 1.0.398"][(i % 2) as usize].into()),
            },
            // Provider-reported costs: some match the table, some are 20% off.
            table_cost_usd: (i % 9 == 1).then_some(if i % 4 == 1 { 0.25 } else { 0.3 }),
            latency_ms: 100 + (i % 10) as u64,
            ttft_ms: (i % 2 == 0).then_some(40),
            ..NewLlmCall::default()
        })
        .unwrap();
    }
}

/// The same sums computed the slow way, straight from the calls (not the roll-up).
fn naive(s: &Store, f: &Filter) -> Stats {
    let filter = UsageFilter {
        project_id: f.project_id,
        ..UsageFilter::default()
    };
    let span = UsageSpan::Calls {
        since_ms: f.since_ms,
        until_ms: f.until_ms,
    };
    let mut total = Stats::default();
    for (_, sums) in s
        .read(|db| db.usage_sums(span, UsageGroup::Provider, &filter))
        .unwrap()
    {
        total.add(&sums);
    }
    total
}

fn assert_same(a: &Stats, b: &Stats) {
    let mut a2 = *a;
    let mut b2 = *b;
    for (x, y) in [
        (a.known_cost_usd, b.known_cost_usd),
        (a.checked_provider_usd, b.checked_provider_usd),
        (a.checked_table_usd, b.checked_table_usd),
    ] {
        assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
    }
    for s in [&mut a2, &mut b2] {
        s.known_cost_usd = 0.0;
        s.checked_provider_usd = 0.0;
        s.checked_table_usd = 0.0;
    }
    assert_eq!(a2, b2);
}

#[test]
fn every_range_and_grouping_matches_the_raw_calls() {
    let (s, clock, _d) = store();
    let ps = [project(&s, "a", Some(10.0)), project(&s, "b", None)];
    seed(&s, &clock, &ps);
    let bounds = [
        None,
        Some(T0 - DAY_MS),
        Some(T0 - 1),
        Some(T0),
        Some(T0 + 1),
        Some(T0 + DAY_MS / 2),
        Some(T0 + DAY_MS),
        Some(T0 + 2 * DAY_MS + 5),
    ];
    let groupings = [
        GroupBy::ProviderModel,
        GroupBy::Project,
        GroupBy::Provider,
        GroupBy::Model,
        GroupBy::Role,
        GroupBy::Day,
        GroupBy::Price,
    ];
    for since in bounds {
        for until in bounds {
            if matches!((since, until), (Some(a), Some(b)) if a >= b) {
                continue;
            }
            for project_id in [None, Some(ps[0])] {
                let filter = Filter {
                    since_ms: since,
                    until_ms: until,
                    project_id,
                    ..Filter::default()
                };
                let expected = naive(&s, &filter);
                for g in groupings {
                    let q = UsageQuery {
                        filter: filter.clone(),
                        group_by: g,
                        default_budget_usd: None,
                    };
                    let r = report(&s, &q).unwrap();
                    assert_same(&r.totals, &expected);
                    let mut summed = Stats::default();
                    r.rows.iter().for_each(|row| summed.add(&row.stats));
                    assert_same(&summed, &expected);
                }
            }
        }
    }
}

#[test]
fn budgets_use_all_time_spend_and_the_default() {
    let (s, clock, _d) = store();
    let ps = [project(&s, "a", Some(100.0)), project(&s, "b", None)];
    seed(&s, &clock, &ps);
    let q = UsageQuery {
        filter: Filter {
            project_id: Some(ps[1]),
            since_ms: Some(T0 + DAY_MS),
            ..Filter::default()
        },
        group_by: GroupBy::Day,
        default_budget_usd: Some(5.0),
    };
    let r = report(&s, &q).unwrap();
    let b = r.project_budget.unwrap();
    let all_time = naive(
        &s,
        &Filter {
            project_id: Some(ps[1]),
            ..Filter::default()
        },
    );
    assert_eq!(b.budget_usd, Some(5.0));
    assert!((b.spent_usd - all_time.known_cost_usd).abs() < 1e-9);
    assert_eq!(b.left_usd, Some((5.0 - all_time.known_cost_usd).max(0.0)));
    assert!(r.rows.iter().all(|row| row.key.day.is_some()));
    let days: Vec<_> = r
        .rows
        .iter()
        .map(|row| row.key.day.clone().unwrap())
        .collect();
    assert_eq!(days, ["2026-11-02"]);
}

#[test]
fn empty_range_is_refused() {
    let (s, _c, _d) = store();
    let q = UsageQuery {
        filter: Filter {
            since_ms: Some(T0),
            until_ms: Some(T0),
            ..Filter::default()
        },
        ..UsageQuery::default()
    };
    assert!(matches!(report(&s, &q), Err(ReportError::EmptyRange)));
}

#[test]
fn cost_text_never_shows_unknown_as_zero() {
    let mut s = Stats {
        requests: 2,
        known_cost_usd: 0.5,
        ..Stats::default()
    };
    assert_eq!(cost_text(&s), "$0.5000");
    s.unknown_cost_calls = 1;
    assert_eq!(cost_text(&s), "≥ $0.5000");
    s.unknown_cost_calls = 2;
    s.known_cost_usd = 0.0;
    assert_eq!(cost_text(&s), "unknown");
    assert_eq!(s.cost_usd(), None);
}

#[test]
fn csv_quotes_fields_and_ends_with_totals() {
    let row = Row {
        key: GroupKey {
            provider: Some("a,\"b\"".into()),
            model: Some("m".into()),
            ..GroupKey::default()
        },
        stats: Stats {
            requests: 1,
            ok: 1,
            unknown_cost_calls: 1,
            ..Stats::default()
        },
        budget: None,
    };
    let r = Report {
        group_by: GroupBy::ProviderModel,
        filter: Filter::default(),
        rows: vec![row.clone()],
        totals: row.stats,
        project_budget: None,
    };
    let text = csv(&r);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "provider,model,requests,ok,failed,retried,input_tokens,cached_tokens,output_tokens,cost_usd,unknown_cost_calls,avg_latency_ms,avg_ttft_ms,checked_calls,checked_provider_usd,checked_table_usd,disagreeing_calls"
    );
    assert_eq!(
        lines[1],
        "\"a,\"\"b\"\"\",m,1,1,0,0,0,0,0,,1,0.0,,0,0.000000,0.000000,0"
    );
    assert_eq!(
        lines[2],
        "TOTAL,,1,1,0,0,0,0,0,,1,0.0,,0,0.000000,0.000000,0"
    );
    assert_eq!(lines[3], "");
}

#[test]
fn by_price_splits_calls_by_what_priced_them_and_counts_disagreements() {
    let (s, clock, _d) = store();
    let ps = [project(&s, "a", None)];
    seed(&s, &clock, &ps);
    let q = UsageQuery {
        group_by: GroupBy::Price,
        ..UsageQuery::default()
    };
    let r = report(&s, &q).unwrap();
    let keys: Vec<(String, String)> = r
        .rows
        .iter()
        .map(|row| {
            (
                row.key.cost_source.clone().unwrap(),
                row.key.price_table.clone().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("override".to_string(), "config".to_string()),
            ("provider".into(), "".into()),
            ("provider".into(), "models.dev 1.0.398".into()),
            ("table".into(), "".into()),
            ("table".into(), "LiteLLM 1.109.1".into()),
            ("table".into(), "models.dev 1.0.398".into()),
            ("unknown".into(), "".into()),
        ]
    );
    // i % 9 == 1: 34 calls checked against the table; those with i % 4 != 1 are 20% off.
    let checked = (0..300).filter(|i| i % 9 == 1).count() as i64;
    let off = (0..300).filter(|i| i % 9 == 1 && i % 4 != 1).count() as i64;
    assert_eq!(
        (r.totals.checked_calls, r.totals.disagreeing_calls),
        (checked, off)
    );
    assert!((r.totals.checked_provider_usd - 0.25 * checked as f64).abs() < 1e-9);
    let line = price_check_text(&r.totals).unwrap();
    assert!(
        line.starts_with(&format!("{off} of {checked} provider-priced")),
        "{line}"
    );
    let j = json(&r);
    assert_eq!(j["totals"]["price_check"]["disagreeing_calls"], off);
    assert!(j["rows"][0]["cost_source"].as_str().is_some());
    // No check without provider-reported costs.
    assert_eq!(price_check_text(&Stats::default()), None);
}
