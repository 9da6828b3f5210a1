//! Prices end to end: calls to OpenRouter and Groq models cost dollars from the shipped
//! table, every recorded call names its price table and `usage` shows it, a provider's own
//! cost is counted and checked against the table, only providers declared free cost $0, and
//! `prices import` reads three formats (refusing anything else without touching the table).
//! Also what else a call's row says about the request: its exact body size.

use std::process::Output;

use serde_json::Value;

use crate::common::fake_provider::{Answer, FakeProvider, FakeUsage};
use crate::common::{Env, stderr, stdout};

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// The built-in providers (and a keyless `proxy`) pointed at the fake server.
fn config(base: &str) -> String {
    format!(
        r#"
[providers.openrouter]
base_url = "{base}"

[providers.groq]
base_url = "{base}"

[providers.ollama]
base_url = "{base}"

[providers.proxy]
kind = "openai"
base_url = "{base}"

[network]
max_retries = 0
"#
    )
}

async fn run(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    cmd.env("OPENROUTER_API_KEY", KEY)
        .env("GROQ_API_KEY", KEY)
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn answer(input: u64, output: u64, cost: Option<f64>) -> Answer {
    Answer {
        usage: Some(FakeUsage {
            input,
            output,
            cost,
            ..FakeUsage::default()
        }),
        ..Answer::text("ok")
    }
}

async fn ask(env: &Env, model: &str) {
    let out = run(env, &["ask", "--model", model, "say hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{model}: {}", stderr(&out));
}

async fn usage_json(env: &Env, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "usage"];
    args.extend_from_slice(extra);
    let out = run(env, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn row<'a>(v: &'a Value, key: &str, value: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row with {key} = {value} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_dollars_for_openrouter_and_groq_models_from_the_shipped_table() {
    let server = FakeProvider::start().await;
    server.push_answer(answer(1000, 100, None));
    server.push_answer(answer(1000, 100, None));
    let env = Env::new();
    env.write_config(&config(&server.base_url()));
    ask(&env, "openrouter:anthropic/claude-sonnet-4.5").await;
    ask(&env, "groq:llama-3.3-70b-versatile").await;

    let v = usage_json(&env, &[]).await;
    // 1000 in at $3/M + 100 out at $15/M; Groq: $0.59 and $0.79 per M.
    assert_eq!(row(&v, "provider", "openrouter")["cost_usd"], 0.0045);
    assert_eq!(row(&v, "provider", "groq")["cost_usd"], 0.000669);
    assert_eq!(v["unknown_cost_calls"], 0);

    let v = usage_json(&env, &["--by", "price"]).await;
    let r = row(&v, "price_table", "models.dev 1.0.398");
    assert_eq!(
        (r["cost_source"].as_str(), r["requests"].as_i64()),
        (Some("table"), Some(2))
    );

    let out = run(&env, &["usage", "--by", "price"]).await;
    let text = stdout(&out);
    assert!(text.contains("models.dev 1.0.398"), "{text}");
    assert!(text.contains("$0.0052"), "{text}");
    let db = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT price_table FROM llm_calls ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["models.dev 1.0.398", "models.dev 1.0.398"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openrouter_reported_cost_is_counted_and_a_disagreement_with_the_table_is_shown() {
    let server = FakeProvider::start().await;
    // The table says $0.0045 for these tokens; OpenRouter reports twice that, then agrees.
    server.push_answer(answer(1000, 100, Some(0.009)));
    server.push_answer(answer(1000, 100, Some(0.0045)));
    let env = Env::new();
    env.write_config(&config(&server.base_url()));
    ask(&env, "openrouter:anthropic/claude-sonnet-4.5").await;
    ask(&env, "openrouter:anthropic/claude-sonnet-4.5").await;

    let v = usage_json(&env, &[]).await;
    let close = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-9;
    assert!(close(&v["totals"]["cost_usd"], 0.0135), "{v}");
    assert_eq!(
        v["totals"]["price_check"],
        serde_json::json!({"calls": 2, "provider_usd": 0.0135, "table_usd": 0.009, "disagreeing_calls": 1})
    );
    let out = run(&env, &["usage"]).await;
    let text = stdout(&out);
    assert!(
        text.contains("1 of 2 provider-priced call(s) disagree with the price table"),
        "{text}"
    );
    let v = usage_json(&env, &["--by", "price"]).await;
    let r = row(&v, "cost_source", "provider");
    assert_eq!(r["price_table"], "models.dev 1.0.398");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_localhost_proxy_in_front_of_a_paid_api_is_not_free_but_ollama_is() {
    let server = FakeProvider::start().await;
    server.push_answer(answer(1000, 100, None));
    server.push_answer(answer(1000, 100, None));
    let env = Env::new();
    env.write_config(&config(&server.base_url()));
    let out = run(&env, &["ask", "--model", "proxy:some-model", "say hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("free = true"), "{}", stderr(&out));
    ask(&env, "ollama:qwen2.5-coder").await;

    let v = usage_json(&env, &[]).await;
    assert_eq!(row(&v, "provider", "proxy")["cost_usd"], Value::Null);
    assert_eq!(row(&v, "provider", "proxy")["unknown_cost_calls"], 1);
    assert_eq!(row(&v, "provider", "ollama")["cost_usd"], 0.0);
    let v = usage_json(&env, &["--by", "price"]).await;
    assert_eq!(row(&v, "price_table", "free")["cost_source"], "override");
    assert_eq!(row(&v, "cost_source", "unknown")["price_table"], "");

    // The built-in ollama is declared free; a proxy only when the user says so.
    assert_eq!(
        prices_show(&env, &[], "proxy:")["free_providers"],
        serde_json::json!(["ollama"])
    );
    let v = prices_show(&env, &["-c", "providers.proxy.free=true"], "proxy:");
    assert_eq!(v["free_providers"], serde_json::json!(["ollama", "proxy"]));
}

const OPENROUTER_ANSWER: &str = r#"{"data": [
  {"id": "anthropic/claude-sonnet-4.5", "context_length": 1000000,
   "pricing": {"prompt": "0.000002", "completion": "0.00001", "input_cache_read": "0.0000002"}},
  {"id": "brand/new-model", "pricing": {"prompt": "0.000001", "completion": "0.000004"}}
]}"#;

fn prices_show(env: &Env, flags: &[&str], filter: &str) -> Value {
    let out = env
        .cmd()
        .args(flags)
        .args(["--json", "prices", "show", filter])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn prices_import_reads_an_openrouter_answer_and_models_dev_and_merges_them() {
    let env = Env::new();
    let file = env.work().join("models.json");
    std::fs::write(&file, OPENROUTER_ANSWER).unwrap();
    let out = env
        .cmd()
        .args(["prices", "import"])
        .arg(&file)
        .args(["--source", "2026-12-01"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 2 prices from OpenRouter models 2026-12-01 (openrouter 2)"),
        "{}",
        stdout(&out)
    );
    let v = prices_show(&env, &[], "openrouter:");
    let models = v["models"].as_array().unwrap();
    let sonnet = models
        .iter()
        .find(|m| m["model"] == "openrouter:anthropic/claude-sonnet-4.5")
        .unwrap();
    assert_eq!(
        (sonnet["input"].as_f64(), sonnet["source"].as_str()),
        (Some(2.0), Some("OpenRouter models 2026-12-01"))
    );
    // Shipped rows the import lacks stay.
    assert!(models.iter().any(|m| m["source"] == "models.dev 1.0.398"));
    assert!(
        models
            .iter()
            .any(|m| m["model"] == "openrouter:brand/new-model")
    );

    // A models.dev file on top: its rows replace those models, the OpenRouter-only ones stay.
    let dev = env.work().join("api.json");
    std::fs::write(
        &dev,
        r#"{"groq": {"id": "groq", "models": {"new-llama": {"cost": {"input": 0.1, "output": 0.2}}}},
            "openrouter": {"id": "openrouter", "models": {"anthropic/claude-sonnet-4.5": {"cost": {"input": 3.5, "output": 16}}}}}"#,
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["--json", "prices", "import"])
        .arg(&dev)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["format"], "models.dev");
    assert_eq!(
        j["per_provider"],
        serde_json::json!({"groq": 1, "openrouter": 1})
    );
    assert_eq!(j["imported_models"], 3);
    let v = prices_show(&env, &[], "claude-sonnet-4.5");
    let sonnet = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "openrouter:anthropic/claude-sonnet-4.5")
        .unwrap();
    assert_eq!(sonnet["input"], 3.5);
    assert!(
        prices_show(&env, &[], "brand/new-model")["models"][0]["source"]
            .as_str()
            .unwrap()
            .starts_with("OpenRouter models")
    );

    // Reset: the shipped table again.
    let out = env.cmd().args(["prices", "reset"]).output().unwrap();
    assert!(out.status.success());
    assert!(!env.home().join("prices.json").exists());
    let v = prices_show(&env, &[], "openrouter:anthropic/claude-sonnet-4.5");
    assert_eq!(v["models"][0]["input"], 3.0);
    assert_eq!(v["imported"], Value::Null);
}

#[test]
fn prices_import_refuses_what_it_cannot_read_and_keeps_the_table_it_had() {
    let env = Env::new();
    let good = env.work().join("good.json");
    std::fs::write(&good, OPENROUTER_ANSWER).unwrap();
    assert!(
        env.cmd()
            .args(["prices", "import"])
            .arg(&good)
            .output()
            .unwrap()
            .status
            .success()
    );
    let table = env.home().join("prices.json");
    let before = std::fs::read(&table).unwrap();

    let cases: [(&str, &str); 4] = [
        ("not json at all", "not valid JSON"),
        (
            r#"{"some": "thing"}"#,
            "not a price list samocoder can read",
        ),
        (
            r#"{"data": [{"id": "x", "pricing": {"prompt": "-1", "completion": "-1"}}]}"#,
            "no usable prices",
        ),
        (
            r#"{"mistral": {"id": "mistral", "models": {"m": {"cost": {"input": 1, "output": 1}}}}}"#,
            "no usable prices",
        ),
    ];
    for (text, says) in cases {
        let bad = env.work().join("bad.json");
        std::fs::write(&bad, text).unwrap();
        let out = env
            .cmd()
            .args(["prices", "import"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = stderr(&out);
        assert!(err.contains(says), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(std::fs::read(&table).unwrap(), before, "{text}");
    }
    let out = env
        .cmd()
        .args(["prices", "import", "/no/such/file.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    let out = env
        .cmd()
        .args(["prices", "import"])
        .arg(&good)
        .args(["--provider", "Bad Name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(env.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read(&table).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_calls_request_bytes_is_the_size_of_the_body_sent() {
    let server = FakeProvider::start().await;
    server.push_answer(answer(10, 10, None));
    let env = Env::new();
    env.write_config(&config(&server.base_url()));
    ask(&env, "groq:llama-3.3-70b-versatile").await;
    let sent: i64 = server.requests()[0].headers["content-length"]
        .parse()
        .unwrap();
    let db = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let recorded: i64 = db
        .query_row("SELECT request_bytes FROM llm_calls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_which_routes_have_known_estimated_or_unknown_prices() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&format!(
        "{}\n[routes]\ndefault = [\"openrouter:anthropic/claude-sonnet-4.5\", \"ollama:qwen\"]\nproxied = [\"proxy:gpt-4o\"]\nmystery = [\"proxy:never-priced\"]\n",
        config(&server.base_url())
    ));
    let out = run(&env, &["--json", "doctor"]).await;
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let check = |name: &str| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {r}"))
            .clone()
    };
    let d = check("prices:default");
    assert_eq!(d["status"], "ok", "{d}");
    assert!(
        d["detail"]
            .as_str()
            .unwrap()
            .contains("ollama:qwen priced by free"),
        "{d}"
    );
    let p = check("prices:proxied");
    assert_eq!(p["status"], "warn");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("estimated at openai:gpt-4o's price"),
        "{p}"
    );
    let m = check("prices:mystery");
    assert_eq!(m["status"], "warn");
    assert!(m["detail"].as_str().unwrap().contains("free = true"), "{m}");

    // A broken imported table is an error that names the fix.
    std::fs::write(env.home().join("prices.json"), "{").unwrap();
    let out = run(&env, &["doctor"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("samocoder prices reset"),
        "{}",
        stderr(&out)
    );
}
