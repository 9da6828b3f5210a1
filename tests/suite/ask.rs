//! `samocoder ask` through the real binary against the fake provider server: every fault of the
//! wire doc in both formats ends in success (retry or fallback) or the documented error and
//! exit code; usage rows are exact; the key appears nowhere; record and replay.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::fake_provider::{
    Answer, FakeProvider, FakeUsage, Finish, Reply, closed_port_url,
};
use crate::common::{Env, stderr, stdout};

pub const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// Provider `fake` (OpenAI wire) and `fakeant` (Anthropic wire) on `base`, `extra` appended.
pub fn config(base: &str, route: &[&str], extra: &str) -> String {
    let route: Vec<String> = route.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"
[providers.fake]
kind = "openai"
base_url = "{base}"
key_env = "FAKE_KEY"

[providers.fakeant]
kind = "anthropic"
base_url = "{base}"
key_env = "FAKEANT_KEY"

[routes]
default = [{}]

[network]
max_retries = 2
max_retry_wait_s = 5.0
idle_timeout_s = 0.5
first_byte_timeout_s = 3.0
connect_timeout_s = 2.0
breaker_failures = 20

[prices."fake:m1"]
input_per_mtok = 1.0
output_per_mtok = 2.0
cached_input_per_mtok = 0.1
cache_write_per_mtok = 1.25

[prices."fakeant:m1"]
input_per_mtok = 1.0
output_per_mtok = 2.0
cached_input_per_mtok = 0.1
cache_write_per_mtok = 1.25
{extra}"#,
        route.join(", ")
    )
}

/// Runs the binary off the runtime's thread so the fake server keeps serving.
pub async fn run(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    cmd.env("FAKE_KEY", KEY).env("FAKEANT_KEY", KEY).args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// (route_index, attempt, outcome, error_class) of every usage row, in order.
type RowShape = (i64, i64, String, Option<String>);

fn rows(env: &Env) -> Vec<RowShape> {
    query(
        env,
        "SELECT route_index, attempt, outcome, error_class FROM llm_calls ORDER BY id",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

fn query<T>(
    env: &Env,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    let conn = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], f)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn row(index: i64, attempt: i64, outcome: &str, class: Option<&str>) -> RowShape {
    (
        index,
        attempt,
        outcome.to_string(),
        class.map(str::to_string),
    )
}

/// Asserts the key is in no file under the home (database, WAL, logs) and not in the output.
pub fn assert_no_key(env: &Env, out: &Output) {
    assert!(!stdout(out).contains(KEY), "key on stdout");
    assert!(!stderr(out).contains(KEY), "key on stderr");
    let mut stack = vec![env.home()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let found = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
                assert!(!found, "key found in {}", p.display());
            }
        }
    }
}

/// What a fault should end in.
enum Expect {
    /// Answered by the first entry after a retry.
    Retried(&'static str),
    /// Answered by the second entry at once.
    FellBack(&'static str),
}

fn faults(wire: &str) -> Vec<(&'static str, Reply, Expect)> {
    let anthropic = wire == "fakeant";
    let quota = if anthropic {
        Reply::error(402, "billing_error", "Your credit balance is too low")
    } else {
        Reply::error(429, "insufficient_quota", "You exceeded your current quota")
            .with_code("insufficient_quota")
    };
    let too_long = if anthropic {
        Reply::error(
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        )
    } else {
        Reply::error(
            400,
            "invalid_request_error",
            "This model's maximum context length is 8192 tokens.",
        )
        .with_code("context_length_exceeded")
    };
    vec![
        (
            "500",
            Reply::error(500, "server_error", "boom"),
            Expect::Retried("server"),
        ),
        (
            "503",
            Reply::error(503, "server_error", "unavailable"),
            Expect::Retried("server"),
        ),
        (
            "529",
            Reply::error(529, "overloaded_error", "Overloaded"),
            Expect::Retried("overloaded"),
        ),
        ("502 html", Reply::html_502(), Expect::Retried("server")),
        (
            "reset after headers",
            Reply::ResetAfterHeaders,
            Expect::Retried("stream_cut"),
        ),
        (
            "cut stream",
            Reply::Cut {
                answer: Answer::text("one two three four five"),
                events: 2,
            },
            Expect::Retried("stream_cut"),
        ),
        (
            "stall with keep-alives",
            Reply::Stall { keepalive_ms: 100 },
            Expect::Retried("idle_timeout"),
        ),
        (
            "error event in a 200 stream",
            Reply::StreamError {
                error_type: "overloaded_error".into(),
                message: "Overloaded".into(),
                openrouter: false,
            },
            Expect::Retried("overloaded"),
        ),
        ("quota", quota, Expect::FellBack("quota_exhausted")),
        (
            "401",
            Reply::error(401, "authentication_error", "invalid key"),
            Expect::FellBack("bad_key"),
        ),
        (
            "404",
            Reply::error(404, "not_found_error", "no such model"),
            Expect::FellBack("not_found"),
        ),
        (
            "context length",
            too_long,
            Expect::FellBack("context_length"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_in_both_wires_ends_in_retry_or_fallback() {
    for wire in ["fake", "fakeant"] {
        for (name, reply, expect) in faults(wire) {
            let server = FakeProvider::start().await;
            server.push(reply);
            let env = Env::new();
            let first = format!("{wire}:m1");
            let second = format!("{wire}:m2");
            env.write_config(&config(&server.base_url(), &[&first, &second], ""));
            let out = run(&env, &["ask", "say hi"]).await;
            let ctx = format!("{wire} {name}: {}", stderr(&out));
            assert_eq!(out.status.code(), Some(0), "{ctx}");
            assert_eq!(stdout(&out), "echo: say hi\n", "{ctx}");
            let want = match expect {
                Expect::Retried(class) => {
                    vec![row(0, 1, "error", Some(class)), row(0, 2, "ok", None)]
                }
                Expect::FellBack(class) => {
                    vec![row(0, 1, "error", Some(class)), row(1, 1, "ok", None)]
                }
            };
            assert_eq!(rows(&env), want, "{ctx}");
            assert_eq!(server.requests().len(), 2, "{ctx}");
            if matches!(expect, Expect::FellBack(_)) {
                assert!(
                    stderr(&out).contains(&format!("falling back to {second}")),
                    "{ctx}"
                );
            }
            assert_no_key(&env, &out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_provider_can_serve_exits_4_and_lists_each_failure() {
    let server = FakeProvider::start().await;
    server.push(Reply::error(401, "authentication_error", "bad"));
    server.push(Reply::error(404, "not_found_error", "nope"));
    let env = Env::new();
    let closed = closed_port_url();
    env.write_config(&config(
        &server.base_url(),
        &["fake:m1", "fakeant:m2", "down:m3"],
        &format!("\n[providers.down]\nkind = \"openai\"\nbase_url = \"{closed}\"\n"),
    ));
    let out = run(&env, &["-c", "network.max_retries=0", "ask", "say hi"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no provider could serve"), "{err}");
    assert!(err.contains("fake:m1 401"), "{err}");
    assert!(err.contains("fakeant:m2 404"), "{err}");
    assert!(err.contains("down:m3"), "{err}");
    assert_eq!(
        rows(&env),
        vec![
            row(0, 1, "error", Some("bad_key")),
            row(1, 1, "error", Some("not_found")),
            row(2, 1, "error", Some("connect")),
        ]
    );
    assert_eq!(stdout(&out), "");
    assert_no_key(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_quota_is_never_retried() {
    let server = FakeProvider::start().await;
    server.push(
        Reply::error(429, "insufficient_quota", "You exceeded your current quota")
            .with_code("insufficient_quota")
            .with_header("retry-after", "0"),
    );
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["ask", "say hi"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 1);
    assert!(stderr(&out).contains("out of credit"), "{}", stderr(&out));
    assert_eq!(
        rows(&env),
        vec![row(0, 1, "error", Some("quota_exhausted"))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_in_both_wires() {
    for (wire, kind) in [
        ("fake", "rate_limit_exceeded"),
        ("fakeant", "rate_limit_error"),
    ] {
        let server = FakeProvider::start().await;
        server.push(Reply::error(429, kind, "slow down").with_header("retry-after", "1"));
        let env = Env::new();
        env.write_config(&config(&server.base_url(), &[&format!("{wire}:m1")], ""));
        let t0 = Instant::now();
        let out = run(&env, &["ask", "say hi"]).await;
        let took = t0.elapsed();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(took >= Duration::from_secs(1), "{wire}: {took:?}");
        assert!(
            stderr(&out).contains(&format!("{wire}:m1 429, retrying in 1.0 s")),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            rows(&env),
            vec![
                row(0, 1, "error", Some("rate_limited")),
                row(0, 2, "ok", None)
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_longer_than_allowed_falls_back_instead() {
    let server = FakeProvider::start().await;
    server.push(Reply::error(429, "rate_limit_exceeded", "slow").with_header("retry-after", "30"));
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1", "fakeant:m2"], ""));
    let t0 = Instant::now();
    let out = run(
        &env,
        &["-c", "network.max_retry_wait_s=0.2", "ask", "say hi"],
    )
    .await;
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not waiting"), "{}", stderr(&out));
    assert_eq!(
        rows(&env),
        vec![
            row(0, 1, "error", Some("rate_limited")),
            row(1, 1, "ok", None)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_rows_are_exact_for_success_retry_and_fallback() {
    // Success on the OpenAI wire with cached tokens; retry then fallback on the Anthropic wire.
    let usage = FakeUsage {
        input: 1000,
        output: 500,
        cached: 2000,
        cache_write: 100,
        ..FakeUsage::default()
    };
    for wire in ["fake", "fakeant"] {
        let server = FakeProvider::start().await;
        server.push_answer(Answer {
            usage: Some(usage.clone()),
            ..Answer::text("priced answer")
        });
        let env = Env::new();
        env.write_config(&config(&server.base_url(), &[&format!("{wire}:m1")], ""));
        let out = run(&env, &["--json", "ask", "say hi"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
        // The OpenAI wire has no cache-write count; Anthropic reports it apart.
        let (input, write) = if wire == "fake" {
            (1000, 0)
        } else {
            (1000, 100)
        };
        let cost = (input as f64 * 1.0 + 500.0 * 2.0 + 2000.0 * 0.1 + write as f64 * 1.25) / 1e6;
        let cost = (cost * 1e6).round() / 1e6;
        let got = query(
            &env,
            "SELECT input_tokens, output_tokens, cached_tokens, cache_write_tokens, cost_usd, cost_source, usage_estimated, role FROM llm_calls",
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, String>(7)?,
                ))
            },
        );
        assert_eq!(
            got,
            vec![(
                input,
                500,
                2000,
                write,
                cost,
                "override".into(),
                false,
                "ask".into()
            )],
            "{wire}"
        );
        assert_eq!(j["text"], "priced answer");
        assert_eq!(j["provider"], wire);
        assert_eq!(j["model"], "m1");
        assert_eq!(j["finish"], "stop");
        assert_eq!(j["attempts"]["count"], 1);
        assert_eq!(j["tokens"]["output"], 500);
        assert_eq!(j["cost_usd"], cost);
        assert_eq!(j["cost_source"], "override");
        assert_eq!(j["tool_calls"], serde_json::json!([]));
        assert_no_key(&env, &out);
    }

    // Retry, then fallback: three rows, the failed ones free, the answer priced.
    let server = FakeProvider::start().await;
    server.push(Reply::error(500, "api_error", "boom"));
    server.push(Reply::error(401, "authentication_error", "bad key"));
    server.push_answer(Answer {
        usage: Some(FakeUsage {
            input: 10,
            output: 20,
            ..FakeUsage::default()
        }),
        ..Answer::text("third time")
    });
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fakeant:m1", "fake:m1"], ""));
    let out = run(&env, &["--json", "ask", "say hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = query(
        &env,
        "SELECT provider, route_index, attempt, outcome, http_status, input_tokens, output_tokens, cost_usd FROM llm_calls ORDER BY id",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<f64>>(7)?,
            ))
        },
    );
    assert_eq!(
        got,
        vec![
            (
                "fakeant".into(),
                0,
                1,
                "error".into(),
                Some(500),
                0,
                0,
                Some(0.0)
            ),
            (
                "fakeant".into(),
                0,
                2,
                "error".into(),
                Some(401),
                0,
                0,
                Some(0.0)
            ),
            (
                "fake".into(),
                1,
                1,
                "ok".into(),
                None,
                10,
                20,
                Some(0.00005)
            ),
        ]
    );
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["attempts"]["count"], 3);
    assert_eq!(j["attempts"]["list"][1]["http_status"], 401);
    assert_eq!(j["provider"], "fake");
    assert_eq!(j["cost_usd"], 0.00005);
    assert_no_key(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_answer_prints_text_and_exits_1() {
    for wire in ["fake", "fakeant"] {
        let server = FakeProvider::start().await;
        server.push_answer(Answer {
            finish: Finish::Truncated,
            ..Answer::text("half an ans")
        });
        let env = Env::new();
        env.write_config(&config(&server.base_url(), &[&format!("{wire}:m1")], ""));
        let out = run(&env, &["ask", "--max-output-tokens", "5", "say hi"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stdout(&out), "half an ans\n");
        assert!(stderr(&out).contains("cut off at the output limit (5 tokens)"));
        assert_eq!(rows(&env), vec![row(0, 1, "truncated", None)]);
        let sent = &server.requests()[0].body;
        assert_eq!(sent["max_tokens"], 5, "{wire}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_gives_the_same_text_without_a_server() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let cassette = env.work().join("answers.jsonl");
    let cas = cassette.to_str().unwrap();
    let out = run(&env, &["ask", "--record", cas, "say hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    drop(server);
    let out2 = run(&env, &["ask", "--replay", cas, "whatever"]).await;
    assert_eq!(out2.status.code(), Some(0), "{}", stderr(&out2));
    assert_eq!(stdout(&out2), stdout(&out));
    assert_eq!(stdout(&out2), "echo: say hi\n");
    assert!(!env.read(&cassette).contains(KEY));

    // An exhausted cassette: exit 2, naming the file.
    std::fs::write(&cassette, "# nothing recorded\n").unwrap();
    let out3 = run(&env, &["ask", "--replay", cas, "again"]).await;
    assert_eq!(out3.status.code(), Some(2), "{}", stderr(&out3));
    assert!(
        stderr(&out3).contains("no answer left"),
        "{}",
        stderr(&out3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_and_inputs_exit_2() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    for (args, needle) in [
        (
            vec!["ask", "--model", "nope:x", "hi"],
            "no provider named `nope`",
        ),
        (vec!["ask", "--model", "gpt4", "hi"], "PROVIDER:MODEL"),
        (
            vec!["ask", "--route", "nosuch", "hi"],
            "no route named `nosuch`",
        ),
        (vec!["ask", "   "], "the prompt is empty"),
        (
            vec!["ask", "--record", "a", "--replay", "b", "hi"],
            "cannot be used with",
        ),
    ] {
        let out = run(&env, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_from_stdin_and_explicit_model() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let mut cmd = env.cmd();
    cmd.env("FAKEANT_KEY", KEY)
        .args(["ask", "--model", "fakeant:other", "-"])
        .write_stdin("from stdin");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "echo: from stdin\n");
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.body["model"], "other");
    assert_eq!(req.headers["x-api-key"], KEY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_names_the_variable() {
    let server = FakeProvider::start().await;
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let mut cmd = env.cmd();
    cmd.args(["ask", "hi"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("set FAKE_KEY or run `samocoder keys set fake`"),
        "{}",
        stderr(&out)
    );
    assert!(server.requests().is_empty());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_call_records_it_cancelled_and_exits_130() {
    use crate::common::fake_provider::Reply as R;
    let server = FakeProvider::start().await;
    server.push(R::Stall { keepalive_ms: 50 });
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("samocoder"));
    cmd.env_clear()
        .env("HOME", env.root.path())
        .env("SAMOCODER_HOME", env.home())
        .env("FAKE_KEY", KEY)
        .args(["-c", "network.idle_timeout_s=30", "ask", "say hi"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait until the request reached the server, then interrupt.
    let t0 = Instant::now();
    while server.requests().is_empty() && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(rows(&env), vec![row(0, 1, "cancelled", Some("cancelled"))]);
}

/// Regression: a stream that never ends kept `ask` running (keep-alives reset the idle timer);
/// an answer is now cut at `network.max_answer_s`, said so, and `ask` exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_an_answer_that_never_ends_is_cut_at_its_time_cap() {
    use crate::common::fake_provider::Reply as R;
    let server = crate::common::fake_provider::FakeProvider::start().await;
    server.push(R::Stall { keepalive_ms: 50 });
    let env = Env::new();
    env.write_config(&format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\n[routes]\ndefault = [\"fake:m1\"]\n",
        server.base_url()
    ));
    let t = std::time::Instant::now();
    let out = env
        .cmd()
        .args([
            "ask",
            "hi",
            "-c",
            "network.max_answer_s=1",
            "-c",
            "network.idle_timeout_s=60",
        ])
        .output()
        .unwrap();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("network.max_answer_s"), "{err}");
}
