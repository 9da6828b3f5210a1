//! Seeds a samocoder home with N recorded model calls (default 1,000,000) over a year, 20
//! projects, 6 models and 4 roles (with failures, retries, fallbacks and unknown prices), then
//! times `usage` reports in-process. The database is kept, so `benches/usage.sh` can time the
//! real binary against it; an existing database is reused as it is.
//!
//! `cargo run --release --example usage_bench -- HOME_DIR [N]`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use samocoder::clock::{Clock, FakeClock, SystemClock};
use samocoder::store::{NewLlmCall, NewProject, Outcome, Store};
use samocoder::usage::{self, DAY_MS, Filter, GroupBy, UsageQuery};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let home = PathBuf::from(args.next().ok_or("usage: usage_bench HOME_DIR [N]")?);
    let n: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let db = home.join("samocoder.db");
    let now = SystemClock.now_ms();
    if !db.exists() {
        seed(&home, &db, n, now)?;
    }
    let store = Store::open(&db, Arc::new(SystemClock))?;
    let q = |group_by, filter| UsageQuery {
        filter,
        group_by,
        default_budget_usd: Some(50.0),
    };
    let cases = [
        (
            "all time, provider+model",
            q(GroupBy::ProviderModel, Filter::default()),
        ),
        (
            "all time, by project",
            q(GroupBy::Project, Filter::default()),
        ),
        ("all time, by day", q(GroupBy::Day, Filter::default())),
        (
            "last 7d (partial days at both ends), by role",
            q(
                GroupBy::Role,
                Filter {
                    since_ms: Some(now - 7 * DAY_MS),
                    ..Filter::default()
                },
            ),
        ),
        (
            "last 24h, provider+model",
            q(
                GroupBy::ProviderModel,
                Filter {
                    since_ms: Some(now - DAY_MS),
                    ..Filter::default()
                },
            ),
        ),
        (
            "one project, one model, 30d, by day",
            q(
                GroupBy::Day,
                Filter {
                    project_id: Some(3),
                    model: Some("gpt-4.1".into()),
                    since_ms: Some(now - 30 * DAY_MS),
                    ..Filter::default()
                },
            ),
        ),
    ];
    for (name, query) in &cases {
        let t = Instant::now();
        let r = usage::report(&store, query)?;
        println!(
            "{name}: {} rows, {} requests in {:.1?}",
            r.rows.len(),
            r.totals.requests,
            t.elapsed()
        );
    }
    Ok(())
}

fn seed(
    home: &std::path::Path,
    db: &std::path::Path,
    n: i64,
    now: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(home)?;
    let clock = FakeClock::new(now);
    let store = Store::open(db, Arc::new(clock.clone()))?;
    let projects: Vec<i64> = (0..20)
        .map(|i| {
            store.create_project(&NewProject {
                name: format!("p{i}"),
                dir: home.join(format!("p{i}")),
                description: String::new(),
                template: None,
                budget_usd: (i % 2 == 0).then_some(100.0),
            })
        })
        .map(|p| p.map(|p| p.id))
        .collect::<Result<_, _>>()?;
    let models = [
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("anthropic", "claude-sonnet"),
        ("openrouter", "deepseek"),
        ("groq", "llama"),
        ("ollama", "qwen"),
    ];
    let roles = ["planner", "coder", "fixer", "ask"];
    let t = Instant::now();
    let span = 365 * DAY_MS;
    for chunk in 0..(n + 99_999) / 100_000 {
        store.transaction(|db| {
            for i in chunk * 100_000..((chunk + 1) * 100_000).min(n) {
                clock.set(now - span + i * (span / n.max(1)));
                let (provider, model) = models[(i % 6) as usize];
                db.record_llm_call(&NewLlmCall {
                    project_id: Some(projects[(i % 20) as usize]),
                    role: roles[(i % 4) as usize].into(),
                    provider: provider.into(),
                    model: model.into(),
                    attempt: 1 + u32::from(i % 17 == 0),
                    route_index: u32::from(i % 29 == 0),
                    outcome: Some(if i % 13 == 0 {
                        Outcome::Error
                    } else {
                        Outcome::Ok
                    }),
                    input_tokens: 1000 + (i % 500) as u64,
                    cached_tokens: (i % 3) as u64 * 100,
                    output_tokens: 200,
                    cost_usd: (provider != "ollama").then_some(0.001),
                    latency_ms: 800 + (i % 400) as u64,
                    ttft_ms: Some(200 + (i % 100) as u64),
                    ..NewLlmCall::default()
                })?;
            }
            Ok(())
        })?;
    }
    println!(
        "seeded {n} calls in {:.1?} at {}",
        t.elapsed(),
        db.display()
    );
    Ok(())
}
