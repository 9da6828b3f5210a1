//! `samocoder doctor`, `keys test` and `models` against the fake provider server.

use serde_json::Value;

use super::ask::{KEY, assert_no_key, config, run};
use crate::common::fake_provider::FakeProvider;
use crate::common::{Env, stderr, stdout};

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_with_good_keys_passes() {
    let server = FakeProvider::start().await;
    server.require_key(KEY);
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1", "fakeant:m2"], ""));
    let out = run(&env, &["--json", "doctor"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["ok"], true);
    assert_eq!(check(&r, "config")["status"], "ok");
    assert_eq!(check(&r, "database")["status"], "ok");
    assert_eq!(check(&r, "provider:fake")["status"], "ok");
    assert_eq!(check(&r, "provider:fakeant")["status"], "ok");
    // The fake lists only `fake-model`: servable, with a warning about the model names.
    assert_eq!(check(&r, "route:default")["status"], "warn");
    for c in r["checks"].as_array().unwrap() {
        for k in ["name", "status", "detail"] {
            assert!(c[k].is_string(), "{c}");
        }
    }
    // Providers no route uses are not contacted: one GET /models per wire, plus the local
    // server probe of the OpenAI-wire model (its context window); no chat request.
    assert!(server.requests().is_empty());
    let lists: Vec<_> = server
        .meta_requests()
        .into_iter()
        .filter(|r| r.path == "/v1/models")
        .collect();
    assert_eq!(lists.len(), 3);
    assert_eq!(
        lists
            .iter()
            .filter(|r| r.headers.contains_key("anthropic-version"))
            .count(),
        1
    );
    assert_eq!(check(&r, "model:fake:m1")["status"], "ok");
    assert_no_key(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_with_a_rejected_key_fails_the_route_that_needs_it() {
    let server = FakeProvider::start().await;
    server.require_key("sk-the-right-one-0000000000");
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["--json", "doctor"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["ok"], false);
    let p = check(&r, "provider:fake");
    assert_eq!(p["status"], "warn");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("rejected the API key"),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("FAKE_KEY"), "{p}");
    assert_eq!(check(&r, "route:default")["status"], "fail");
    assert_no_key(&env, &out);

    // Human output says the same.
    let out = run(&env, &["doctor"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL route:default"),
        "{}",
        stdout(&out)
    );
    assert_no_key(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_test_reports_good_and_rejected_keys() {
    let server = FakeProvider::start().await;
    server.require_key(KEY);
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["--json", "keys", "test"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fake", "fakeant"]);
    for r in rows.as_array().unwrap() {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["source"], "env");
        assert_eq!(r["fingerprint"], "sk-…cdef");
        assert_eq!(r["models"], 1);
    }
    assert_no_key(&env, &out);

    let mut cmd = env.cmd();
    cmd.env("FAKE_KEY", "sk-wrong-key-000000000000")
        .args(["keys", "test", "fake"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("fake: rejected"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("sk-wrong-key-000000000000"));

    let out = run(&env, &["keys", "test", "nosuch"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_ids_and_fails_when_the_only_provider_fails() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&config(
        &server.base_url(),
        &["fake:m1"],
        "\n[prices.\"fake:fake-model\"]\ninput_per_mtok = 0.5\noutput_per_mtok = 1.5\ncontext_window = 4096\n",
    ));
    let out = run(&env, &["--json", "models", "fake"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j[0]["provider"], "fake");
    assert_eq!(j[0]["models"][0]["id"], "fake-model");
    assert_eq!(j[0]["models"][0]["input_per_mtok"], 0.5);
    assert_eq!(j[0]["models"][0]["context_window"], 4096);
    drop(server);
    let out = run(&env, &["models", "fake"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("fake:"), "{}", stderr(&out));
}
