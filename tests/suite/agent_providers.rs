//! The agent against the fake provider server: the budget stop and `resume --max-cost`, and a
//! fallback to a second provider (the other wire format) in the middle of a run.

use crate::common::Env;
use crate::common::agent::{Cassette, count, git_log, run, task_done, tree, write_file};
use crate::common::fake_provider::{FakeProvider, Reply};

const NAME: &str = "paid";

/// Seven answers: spec, architecture, plan, then two tasks of a write and a `task_done`.
fn cassette() -> Cassette {
    Cassette::new(NAME)
        .spec()
        .architecture("test -f a.txt")
        .plan(&["Write a", "Write b"])
        .tools(vec![write_file("a.txt", "a\n")])
        .tools(vec![task_done("a")])
        .tools(vec![write_file("b.txt", "b\n")])
        .tools(vec![task_done("b")])
}

fn provider(name: &str, kind: &str, server: &FakeProvider) -> String {
    format!(
        "[providers.{name}]\nkind = \"{kind}\"\nbase_url = \"{}\"\n",
        server.base_url()
    )
}

fn new_live(env: &Env, extra: &[&str]) -> crate::common::agent::Run {
    let mut args = vec!["new", NAME, "-d", "two files", "--yes", "--json"];
    args.extend_from_slice(extra);
    run(env, &args, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_stops_the_run_and_resume_with_a_bigger_cap_finishes_without_repeating_calls() {
    let c = cassette();
    let server = FakeProvider::start().await;
    for a in c.fake_answers() {
        server.push_answer(a);
    }
    let env = Env::new();
    // 1000 input tokens at $10 per million: each answer costs exactly $0.01.
    env.write_config(&format!(
        "{}[routes]\ndefault = [\"fake:m1\"]\n[prices.\"fake:m1\"]\ninput_per_mtok = 10.0\noutput_per_mtok = 0.0\n",
        provider("fake", "openai", &server)
    ));
    let r = new_live(&env, &["--max-cost", "0.035"]);
    assert_eq!(r.code, 3, "{}", r.describe());
    let end = r.finished();
    assert_eq!(end["status"], "budget_exhausted");
    assert_eq!(end["exit_code"], 3);
    let made = server.requests().len();
    assert!(
        (1..c.len()).contains(&made),
        "{made} calls: {}",
        r.describe()
    );
    let spent: f64 = db_cost(&env);
    assert!(spent <= 0.035 + 1e-9, "spent {spent}");
    assert_eq!(
        (end["cost_usd"].as_f64().unwrap() * 100.0).round() as usize,
        made,
        "{}",
        r.describe()
    );
    assert!(!r.of_type("budget_warning").is_empty(), "{}", r.describe());
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM projects WHERE status = 'budget_exhausted'"
        ),
        1
    );
    let saved = count(&env, "SELECT COUNT(*) FROM steps WHERE kind = 'model_turn'");
    assert_eq!(saved as usize, made, "every paid answer was saved");

    let r = run(
        &env,
        &["resume", NAME, "--max-cost", "1", "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");
    assert_eq!(server.requests().len(), c.len(), "no call was made twice");
    assert_eq!(server.pending(), 0);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM llm_calls"),
        c.len() as i64
    );
    assert!((db_cost(&env) - 0.07).abs() < 1e-9);
    let dir = env.work().join(NAME);
    assert_eq!(git_log(&dir), ["Task 1: Write a", "Task 2: Write b"]);
}

fn db_cost(env: &Env) -> f64 {
    crate::common::agent::db(env)
        .query_row(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM llm_calls",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_starts_failing_mid_run_falls_back_and_the_run_finishes() {
    let c = cassette();
    let answers = c.fake_answers();
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    // The first provider answers the planning calls, then its key is revoked.
    for a in &answers[..3] {
        first.push_answer(a.clone());
    }
    for _ in 0..20 {
        first.push(Reply::error(
            401,
            "invalid_request_error",
            "Incorrect API key provided",
        ));
    }
    for a in &answers[3..] {
        second.push_answer(a.clone());
    }
    let env = Env::new();
    env.write_config(&format!(
        "{}{}[routes]\ndefault = [\"fake:m1\", \"fake2:m2\"]\n",
        provider("fake", "openai", &first),
        provider("fake2", "anthropic", &second)
    ));
    let r = new_live(&env, &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");
    assert!(!r.of_type("routing").is_empty(), "{}", r.describe());
    assert!(second.requests().iter().all(|q| q.path == "/v1/messages"));
    assert_eq!(second.requests().len(), 4);

    let ok = |provider: &str| {
        count(
            &env,
            &format!(
                "SELECT COUNT(*) FROM llm_calls WHERE provider = '{provider}' AND outcome = 'ok'"
            ),
        )
    };
    assert_eq!(ok("fake"), 3);
    assert_eq!(ok("fake2"), 4);
    let failed = count(
        &env,
        "SELECT COUNT(*) FROM llm_calls WHERE provider = 'fake' AND outcome = 'error' AND http_status = 401",
    );
    assert!(failed >= 1, "the failed attempts are recorded");
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM llm_calls WHERE provider = 'fake2' AND route_index = 1"
        ),
        4
    );
    let dir = env.work().join(NAME);
    assert!(tree(&dir).contains_key("b.txt"));
    assert_eq!(git_log(&dir).len(), 2);
}

/// Each role uses its own route when one is configured: here the planner's answers come from a
/// second provider, everything else from the default route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_its_own_route_is_served_by_it() {
    let c = cassette();
    let answers = c.fake_answers();
    let main = FakeProvider::start().await;
    let planner = FakeProvider::start().await;
    for (i, a) in answers.into_iter().enumerate() {
        if i == 2 {
            planner.push_answer(a);
        } else {
            main.push_answer(a);
        }
    }
    let env = Env::new();
    env.write_config(&format!(
        "{}{}[routes]\ndefault = [\"fake:m1\"]\nplanner = [\"plan:p1\"]\n",
        provider("fake", "openai", &main),
        provider("plan", "anthropic", &planner),
    ));
    let r = new_live(&env, &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(planner.requests().len(), 1);
    assert_eq!(main.requests().len(), c.len() - 1);
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM llm_calls WHERE role = 'planner' AND provider = 'plan'"
        ),
        1
    );
}

/// `resume -d` on a finished project plans and builds a new feature iteration on top of it.
#[test]
fn resume_with_a_change_request_adds_an_iteration() {
    let env = Env::new();
    let first = Cassette::new("grow")
        .spec()
        .architecture("test -f a.txt")
        .plan(&["Write a"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("a")]);
    let path = first.write(&env.root.path().join("first.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let more = first
        .clone()
        .plan(&["Write b"])
        .tools(vec![write_file("b.txt", "b\n"), task_done("b")]);
    let path = more.write(&env.root.path().join("more.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "grow",
            "-d",
            "also write b",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM tasks WHERE iteration = 2 AND status = 'done'"
        ),
        1
    );
    let dir = env.work().join("grow");
    assert_eq!(git_log(&dir), ["Task 1: Write a", "Task 1: Write b"]);
    assert!(tree(&dir).contains_key("b.txt"));
    // A done project without a change request has nothing to do.
    let r = run(
        &env,
        &[
            "resume",
            "grow",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
}

/// `--jobs 4` with four writers answering at the same time: the events' per-call tokens and
/// costs add up exactly to what `usage --json` reports, and every call has its own id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_jobs_4_the_events_add_up_to_usage_with_unique_call_ids() {
    use crate::common::agent::call;
    use crate::common::agent::fake_answer;
    use serde_json::json;
    let files: Vec<_> = (1..=4)
        .map(|i| json!({"path": format!("f{i}.txt"), "instructions": format!("the number {i}")}))
        .collect();
    let c = Cassette::new(NAME)
        .spec()
        .architecture("test -f f4.txt")
        .plan(&["Four files"])
        .tools(vec![call("write_files", json!({ "files": files }))]);
    let server = FakeProvider::start().await;
    for a in c.fake_answers() {
        server.push_answer(a);
    }
    for i in [2, 4, 1, 3] {
        server.push(Reply::Matching {
            when: format!("File to write: f{i}.txt"),
            answer: fake_answer(
                &json!({"tool_calls": [call("submit_file", json!({"content": format!("{i}\n")}))]}),
            ),
        });
    }
    for a in Cassette::new(NAME)
        .tools(vec![task_done("four files")])
        .fake_answers()
    {
        server.push_answer(a);
    }
    let env = Env::new();
    env.write_config(&format!(
        "{}[routes]\ndefault = [\"fake:m1\"]\n[prices.\"fake:m1\"]\ninput_per_mtok = 10.0\noutput_per_mtok = 30.0\n",
        provider("fake", "openai", &server)
    ));
    let r = new_live(&env, &["--jobs", "4"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let calls = r.of_type("model_call_finished");
    assert_eq!(calls.len(), 9, "{}", r.describe());
    let ids: std::collections::HashSet<u64> = calls
        .iter()
        .map(|c| c["call_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), calls.len(), "call ids are unique");
    let sum = |f: &str| -> f64 { calls.iter().map(|c| c[f].as_f64().unwrap()).sum() };
    let out = env
        .cmd()
        .args(["usage", "--project", NAME, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let usage: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = &usage["totals"];
    assert!(
        (sum("cost_usd") - total["cost_usd"].as_f64().unwrap()).abs() < 1e-9,
        "events {} vs usage {usage}",
        sum("cost_usd")
    );
    assert_eq!(
        sum("output_tokens") as i64,
        total["output_tokens"].as_i64().unwrap(),
        "{usage}"
    );
    assert_eq!(
        sum("input_tokens") as i64,
        total["input_tokens"].as_i64().unwrap() + total["cached_tokens"].as_i64().unwrap(),
        "{usage}"
    );
    assert_eq!(total["requests"].as_i64().unwrap(), 9, "{usage}");
}
