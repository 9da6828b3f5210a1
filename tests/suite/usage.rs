//! `samocoder usage`: exact sums over a seeded database, every grouping, JSON/CSV shape and
//! UTC day boundaries.

use std::sync::Arc;

use samocoder::clock::FakeClock;
use samocoder::store::{NewLlmCall, NewProject, Outcome, Store};
use serde_json::Value;

use crate::common::{Env, stderr, stdout};

const NOV1: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
const DAY: i64 = 86_400_000;

/// Four calls: an ok and a failed retry on 1 Nov (project a), an unpriced planner call at the
/// last millisecond of 1 Nov (no project), an unpriced fallback at the first millisecond of
/// 2 Nov (project b).
fn seed(env: &Env) {
    std::fs::create_dir_all(env.home()).unwrap();
    let clock = FakeClock::new(NOV1);
    let store = Store::open(&env.home().join("samocoder.db"), Arc::new(clock.clone())).unwrap();
    let mk = |name: &str, budget| {
        store
            .create_project(&NewProject {
                name: name.into(),
                dir: env.work().join(name),
                description: String::new(),
                template: None,
                budget_usd: budget,
            })
            .unwrap()
            .id
    };
    let a = mk("a", Some(1.0));
    let b = mk("b", None);
    let calls = [
        (
            NOV1 + 3_600_000,
            NewLlmCall {
                project_id: Some(a),
                role: "coder".into(),
                provider: "openai".into(),
                model: "gpt-4.1".into(),
                input_tokens: 100,
                cached_tokens: 10,
                output_tokens: 50,
                cost_usd: Some(0.01),
                latency_ms: 100,
                ttft_ms: Some(40),
                ..NewLlmCall::default()
            },
        ),
        (
            NOV1 + 7_200_000,
            NewLlmCall {
                project_id: Some(a),
                role: "coder".into(),
                provider: "openai".into(),
                model: "gpt-4.1".into(),
                attempt: 2,
                outcome: Some(Outcome::Error),
                input_tokens: 100,
                cost_usd: Some(0.0),
                latency_ms: 300,
                ..NewLlmCall::default()
            },
        ),
        (
            NOV1 + DAY - 1,
            NewLlmCall {
                role: "planner".into(),
                provider: "ollama".into(),
                model: "qwen".into(),
                input_tokens: 1000,
                output_tokens: 100,
                latency_ms: 500,
                ttft_ms: Some(100),
                ..NewLlmCall::default()
            },
        ),
        (
            NOV1 + DAY,
            NewLlmCall {
                project_id: Some(b),
                role: "coder".into(),
                provider: "anthropic".into(),
                model: "claude".into(),
                route_index: 1,
                input_tokens: 200,
                output_tokens: 20,
                latency_ms: 200,
                ttft_ms: Some(60),
                ..NewLlmCall::default()
            },
        ),
    ];
    for (at, call) in calls {
        clock.set(at);
        store.record_llm_call(&call).unwrap();
    }
}

fn json(env: &Env, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .arg("usage")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn totals_are_exact_with_failed_retried_and_unknown_prices() {
    let env = Env::new();
    seed(&env);
    let v = json(&env, &[]);
    let t = &v["totals"];
    assert_eq!(t["requests"], 4);
    assert_eq!(t["ok"], 3);
    assert_eq!(t["failed"], 1);
    assert_eq!(t["retried"], 2, "attempt 2 and the fallback");
    assert_eq!(t["input_tokens"], 1400);
    assert_eq!(t["cached_tokens"], 10);
    assert_eq!(t["output_tokens"], 170);
    assert_eq!(t["cost_usd"], 0.01);
    assert_eq!(t["unknown_cost_calls"], 2);
    assert_eq!(v["unknown_cost_calls"], 2);
    assert_eq!(t["avg_latency_ms"], 275.0);
    assert_eq!(t["avg_ttft_ms"], 200.0 / 3.0);
    assert_eq!(v["group_by"], "provider_model");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["provider"], "openai");
    assert_eq!(rows[0]["model"], "gpt-4.1");
    assert_eq!(rows[0]["requests"], 2);
    let ollama = rows.iter().find(|r| r["provider"] == "ollama").unwrap();
    assert_eq!(ollama["cost_usd"], Value::Null, "unknown is null, never 0");

    let out = env.cmd().arg("usage").output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("days are UTC"), "{text}");
    assert!(text.contains("≥ $0.0100"), "{text}");
    assert!(text.contains("unknown"), "{text}");
    assert!(text.contains("2 call(s) had no known price"), "{text}");
}

#[test]
fn every_grouping_adds_up() {
    let env = Env::new();
    seed(&env);
    let cases: [(&str, &str, Vec<&str>); 5] = [
        ("project", "project", vec!["a", "b", "(no project)"]),
        (
            "provider",
            "provider",
            vec!["openai", "anthropic", "ollama"],
        ),
        ("model", "model", vec!["gpt-4.1", "claude", "qwen"]),
        ("role", "role", vec!["coder", "planner"]),
        ("day", "day", vec!["2026-11-01", "2026-11-02"]),
    ];
    for (by, field, mut expected) in cases {
        let v = json(&env, &["--by", by]);
        let rows = v["rows"].as_array().unwrap();
        let mut keys: Vec<&str> = rows.iter().map(|r| r[field].as_str().unwrap()).collect();
        keys.sort();
        expected.sort();
        assert_eq!(keys, expected, "--by {by}");
        let sum: i64 = rows.iter().map(|r| r["requests"].as_i64().unwrap()).sum();
        assert_eq!(sum, 4, "--by {by}");
        assert_eq!(v["group_by"], by);
    }
    let v = json(&env, &["--by", "project"]);
    let a = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["project"] == "a")
        .unwrap()
        .clone();
    assert_eq!(a["budget"]["budget_usd"], 1.0);
    assert_eq!(a["budget"]["left_usd"], 0.99);
    let text = stdout(
        &env.cmd()
            .args(["usage", "--by", "project"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("BUDGET") && text.contains("$0.9900"),
        "{text}"
    );
}

#[test]
fn date_filters_respect_utc_day_boundaries() {
    let env = Env::new();
    seed(&env);
    let reqs = |args: &[&str]| json(&env, args)["totals"]["requests"].as_i64().unwrap();
    assert_eq!(
        reqs(&["--since", "2026-11-02"]),
        1,
        "only the first millisecond of 2 Nov"
    );
    assert_eq!(
        reqs(&["--until", "2026-11-01"]),
        3,
        "1 Nov up to its last millisecond"
    );
    assert_eq!(reqs(&["--since", "2026-11-01", "--until", "2026-11-01"]), 3);
    assert_eq!(reqs(&["--since", "2026-11-01T23:59:59.999Z"]), 2);
    assert_eq!(
        reqs(&["--until", "2026-11-01T23:59:59.999Z"]),
        2,
        "until is exclusive"
    );
    assert_eq!(reqs(&["--since", "2026-10-01", "--until", "2026-10-31"]), 0);
    assert_eq!(reqs(&["--provider", "openai", "--model", "gpt-4.1"]), 2);
    assert_eq!(
        reqs(&["--project", "a", "--since", "2026-11-01T01:30:00Z"]),
        1
    );
    let v = json(&env, &["--project", "b"]);
    assert_eq!(v["budget"]["budget_usd"], Value::Null);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
}

#[test]
fn csv_is_rfc4180_with_a_totals_line() {
    let env = Env::new();
    seed(&env);
    let out = env
        .cmd()
        .args(["usage", "--csv", "--by", "day"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "day,requests,ok,failed,retried,input_tokens,cached_tokens,output_tokens,cost_usd,unknown_cost_calls,avg_latency_ms,avg_ttft_ms,checked_calls,checked_provider_usd,checked_table_usd,disagreeing_calls"
    );
    assert_eq!(
        lines[1],
        "2026-11-01,3,2,1,1,1200,10,150,0.010000,1,300.0,70.0,0,0.000000,0.000000,0"
    );
    assert_eq!(
        lines[2],
        "2026-11-02,1,1,0,1,200,0,20,,1,200.0,60.0,0,0.000000,0.000000,0"
    );
    assert!(lines[3].starts_with("TOTAL,4,3,1,2,1400,10,170,0.010000,2,"));
    assert_eq!(lines[4], "");
}

#[test]
fn bad_input_is_a_usage_error() {
    let env = Env::new();
    seed(&env);
    for args in [
        vec!["--since", "yesterday"],
        vec!["--since", "2026-11-02", "--until", "2026-11-01"],
        vec!["--project", "nope"],
        vec!["--csv", "--json"],
    ] {
        let out = env.cmd().arg("usage").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).trim().is_empty());
    }
}

#[test]
fn no_database_is_an_empty_report_and_creates_nothing() {
    let env = Env::new();
    let out = env.cmd().args(["usage", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["requests"], 0);
    assert_eq!(v["rows"], serde_json::json!([]));
    assert!(!env.home().join("samocoder.db").exists());
}
