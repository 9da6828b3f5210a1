//! Rerunnable benchmark of the store at `usage` scale: seeds a temporary database with N model
//! calls (default 1,000,000) spread over a year, 20 projects and 6 models, then times the
//! queries `projects`, `show` and usage reports run.
//!
//! `cargo run --release --example store_bench [N]`

use std::sync::Arc;
use std::time::Instant;

use samocoder::clock::FakeClock;
use samocoder::store::{NewLlmCall, NewProject, Store};

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
    let space: Vec<(String, i64)> = store.read(|db| {
        let mut stmt = db.conn().prepare(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })?;
    let total: i64 = space.iter().map(|(_, b)| b).sum();
    println!("database: {:.1} MB", total as f64 / 1e6);
    for (name, bytes) in space.iter().filter(|(_, b)| *b * 100 >= total) {
        println!("  {name}: {:.1} MB", *bytes as f64 / 1e6);
    }
    let since = start - 30 * DAY_MS;
    let queries: [(&str, String); 5] = [
        (
            "usage: last 30 days by day",
            format!(
                "SELECT created_at / 86400000, COUNT(*), TOTAL(cost_usd), SUM(input_tokens)
                 FROM llm_calls WHERE created_at >= {since} GROUP BY 1"
            ),
        ),
        (
            "usage: last 30 days by provider/model",
            format!(
                "SELECT provider, model, COUNT(*), TOTAL(cost_usd), SUM(input_tokens)
                 FROM llm_calls WHERE created_at >= {since} GROUP BY 1, 2"
            ),
        ),
        (
            "usage: one project, last 30 days",
            format!(
                "SELECT COUNT(*), TOTAL(cost_usd), SUM(input_tokens) FROM llm_calls
                 WHERE project_id = {} AND created_at >= {since}",
                projects[3]
            ),
        ),
        (
            "usage: one model, all time",
            "SELECT COUNT(*), TOTAL(cost_usd) FROM llm_calls
             WHERE provider = 'openai' AND model = 'gpt-4.1'"
                .to_string(),
        ),
        (
            "usage: all time by provider/model",
            "SELECT provider, model, COUNT(*), TOTAL(cost_usd) FROM llm_calls GROUP BY 1, 2"
                .to_string(),
        ),
    ];
    for (name, sql) in &queries {
        let t = Instant::now();
        let rows = store.read(|db| {
            let mut stmt = db.conn().prepare(sql)?;
            let mut rows = stmt.query([])?;
            let mut count = 0;
            while rows.next()?.is_some() {
                count += 1;
            }
            Ok(count)
        })?;
        println!("{name}: {rows} rows in {:.1?}", t.elapsed());
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

fn clock_now(c: &FakeClock) -> i64 {
    use samocoder::clock::Clock;
    c.now_ms()
}
