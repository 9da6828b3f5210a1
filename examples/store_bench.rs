//! Rerunnable benchmark of the store at `usage` scale: seeds a temporary database with N model
//! calls (default 1,000,000) spread over a year, 20 projects and 6 models, prints the space each
//! table and index takes, then times the store calls `usage`, `projects` and `show` make.
//!
//! `cargo run --release --example store_bench [N]`

use std::sync::Arc;
use std::time::Instant;

use samocoder::clock::FakeClock;
use samocoder::store::{NewLlmCall, NewProject, Store};
use samocoder::usage::{Filter, GroupBy, UsageQuery};

const DAY_MS: i64 = 86_400_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: i64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let clock = FakeClock::new(1_700_000_000_000);
    let store = Store::open(&dir.path().join("bench.db"), Arc::new(clock.clone()))?;
    let projects: Vec<i64> = (0..20)
        .map(|i| {
            store.create_project(&NewProject {
                name: format!("p{i}"),
                dir: dir.path().join(format!("p{i}")),
                description: String::new(),
                template: None,
                budget_usd: None,
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
    let start = clock_now(&clock);
    let t = Instant::now();
    for chunk in 0..(n + 99_999) / 100_000 {
        store.transaction(|db| {
            for i in chunk * 100_000..((chunk + 1) * 100_000).min(n) {
                clock.set(start - 365 * DAY_MS + i * (365 * DAY_MS / n.max(1)));
                let (provider, model) = models[(i % 6) as usize];
                db.record_llm_call(&NewLlmCall {
                    project_id: Some(projects[(i % 20) as usize]),
                    role: "coder".into(),
                    provider: provider.into(),
                    model: model.into(),
                    input_tokens: 1000 + (i % 500) as u64,
                    output_tokens: 200,
                    cost_usd: (provider != "ollama").then_some(0.001),
                    ..NewLlmCall::default()
                })?;
            }
            Ok(())
        })?;
    }
    clock.set(start);
    println!("seeded {n} calls in {:.1?}", t.elapsed());
    let space = store.space_by_object()?;
    let total: u64 = space.iter().map(|o| o.bytes).sum();
    println!("database: {:.1} MB", total as f64 / 1e6);
    for o in space.iter().filter(|o| o.bytes * 100 >= total) {
        println!("  {}: {:.1} MB", o.name, o.bytes as f64 / 1e6);
    }
    let since = start - 30 * DAY_MS + DAY_MS / 2;
    let reports: [(&str, UsageQuery); 5] = [
        (
            "usage: last 30 days by day",
            query(
                GroupBy::Day,
                Filter {
                    since_ms: Some(since),
                    ..Filter::default()
                },
            ),
        ),
        (
            "usage: last 30 days by provider/model",
            query(
                GroupBy::ProviderModel,
                Filter {
                    since_ms: Some(since),
                    ..Filter::default()
                },
            ),
        ),
        (
            "usage: one project, last 30 days",
            query(
                GroupBy::ProviderModel,
                Filter {
                    since_ms: Some(since),
                    project_id: Some(projects[3]),
                    ..Filter::default()
                },
            ),
        ),
        (
            "usage: one model, all time",
            query(
                GroupBy::Day,
                Filter {
                    provider: Some("openai".into()),
                    model: Some("gpt-4.1".into()),
                    ..Filter::default()
                },
            ),
        ),
        (
            "usage: all time by project",
            query(GroupBy::Project, Filter::default()),
        ),
    ];
    for (name, q) in &reports {
        let t = Instant::now();
        let r = samocoder::usage::report(&store, q)?;
        println!("{name}: {} rows in {:.1?}", r.rows.len(), t.elapsed());
    }
    let t = Instant::now();
    let listed = store.list_projects()?;
    println!(
        "projects (20, with all-time cost): {} in {:.1?}",
        listed.len(),
        t.elapsed()
    );
    let t = Instant::now();
    store.project_cost(projects[0])?;
    println!(
        "project_cost (all time, 1/20 of calls): {:.1?}",
        t.elapsed()
    );
    Ok(())
}

fn query(group_by: GroupBy, filter: Filter) -> UsageQuery {
    UsageQuery {
        filter,
        group_by,
        default_budget_usd: None,
    }
}

fn clock_now(c: &FakeClock) -> i64 {
    use samocoder::clock::Clock;
    c.now_ms()
}
