//! The recorded-traffic corpus (`tests/fixtures/wire/`, see its README): every fixture is
//! served byte for byte by a local HTTP server and read by the real adapter of its wire (the
//! real SSE decoder and stream parser), and its text, reasoning, tool calls, usage, finish and
//! error class are checked against the expectations in its sidecar.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use samocoder::config::{NetworkConfig, ProviderConfig, WireKind};
use samocoder::llm::{
    LlmError, Message, Provider, Request, Response, StreamEvent, Usage, adapter_for, build_client,
};

use crate::common::fake_provider::{FakeProvider, Reply};

const KEY: &str = "sk-fixture-SECRET-42";

struct Fixture {
    name: String,
    body: String,
    meta: toml::Table,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire")
}

fn load_all() -> Vec<Fixture> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".toml") || name == "README.md" {
            continue;
        }
        let sidecar = dir().join(format!("{name}.toml"));
        let meta: toml::Table = toml::from_str(
            &std::fs::read_to_string(&sidecar)
                .unwrap_or_else(|_| panic!("{name} has no sidecar {}", sidecar.display())),
        )
        .unwrap_or_else(|e| panic!("{name}.toml: {e}"));
        out.push(Fixture {
            name,
            body: std::fs::read_to_string(&path).unwrap(),
            meta,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn s<'a>(t: &'a toml::Table, k: &str) -> Option<&'a str> {
    t.get(k).and_then(toml::Value::as_str)
}

/// The bytes put on the wire: `raw` as is; `data-lines` one `data:` event per line (plus
/// `data: [DONE]` when the sidecar says so); `anthropic-events` each line as an event named
/// by its `type`. This is how the source repositories' own test harnesses frame them.
fn framed(f: &Fixture) -> String {
    let lines = || f.body.lines().filter(|l| !l.trim().is_empty());
    match s(&f.meta, "frame").unwrap() {
        "raw" => f.body.clone(),
        "data-lines" => {
            let mut out: String = lines().map(|l| format!("data: {l}\n\n")).collect();
            if f.meta.get("done_marker").and_then(toml::Value::as_bool) == Some(true) {
                out.push_str("data: [DONE]\n\n");
            }
            out
        }
        "anthropic-events" => lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("event: {}\ndata: {l}\n\n", v["type"].as_str().unwrap())
            })
            .collect(),
        other => panic!("{}: unknown frame {other}", f.name),
    }
}

fn wire(f: &Fixture) -> WireKind {
    match s(&f.meta, "wire").unwrap() {
        "openai" => WireKind::Openai,
        "anthropic" => WireKind::Anthropic,
        "openai-responses" => WireKind::OpenaiResponses,
        other => panic!("{}: unknown wire {other}", f.name),
    }
}

fn adapter(kind: WireKind, base_url: &str) -> std::sync::Arc<dyn Provider> {
    let net = NetworkConfig {
        connect_timeout_s: 2.0,
        first_byte_timeout_s: 5.0,
        idle_timeout_s: 5.0,
        max_retries: 0,
        max_retry_wait_s: 1.0,
        breaker_failures: 3,
        breaker_cooldown_s: 1.0,
        max_answer_bytes: 4 << 20,
        max_answer_s: 900.0,
    };
    let p = ProviderConfig {
        name: "fixture".into(),
        kind,
        base_url: base_url.to_string(),
        key_env: Some("FIXTURE_KEY".into()),
        free: false,
        prompt_cache_key: None,
    };
    adapter_for(
        &p,
        Some(samocoder::keys::Secret::new(KEY)),
        &build_client(&net).unwrap(),
        &net,
    )
}

fn request() -> Request {
    Request {
        model: "fixture-model".into(),
        system: "You are terse.".into(),
        messages: vec![Message::User {
            content: "hello".into(),
        }],
        tools: vec![],
        max_output_tokens: 4096,
        temperature: None,
        cache_key: None,
    }
}

/// Every event up to the end or the first error.
async fn replay(f: &Fixture) -> (Vec<StreamEvent>, Option<LlmError>) {
    let server = FakeProvider::start().await;
    let status = f
        .meta
        .get("status")
        .and_then(toml::Value::as_integer)
        .unwrap_or(200) as u16;
    server.push(Reply::Raw {
        status,
        content_type: s(&f.meta, "content_type")
            .unwrap_or("text/event-stream")
            .into(),
        body: framed(f),
        headers: vec![],
    });
    let mut stream = adapter(wire(f), &server.base_url()).stream(request());
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(ev) => events.push(ev),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

fn check_usage(f: &Fixture, want: &toml::Table, got: &Usage) {
    let n = |k: &str| {
        want.get(k)
            .and_then(toml::Value::as_integer)
            .map(|v| v as u64)
    };
    let name = &f.name;
    if let Some(v) = n("input") {
        assert_eq!(got.input_tokens, v, "{name}: input tokens");
    }
    if let Some(v) = n("output") {
        assert_eq!(got.output_tokens, v, "{name}: output tokens");
    }
    if let Some(v) = n("reasoning") {
        assert_eq!(got.reasoning_tokens, v, "{name}: reasoning tokens");
    }
    if let Some(v) = want.get("cost").and_then(toml::Value::as_float) {
        assert_eq!(got.reported_cost_usd, Some(v), "{name}: reported cost");
    }
    assert!(!got.estimated, "{name}: usage was reported, not estimated");
}

#[tokio::test]
async fn every_recorded_fixture_replays_through_the_real_adapter() {
    let fixtures = load_all();
    assert!(
        fixtures.len() >= 16,
        "the corpus lost files: {}",
        fixtures.len()
    );
    let mut passed = 0;
    for f in &fixtures {
        for k in ["repository", "path", "commit", "licence"] {
            assert!(
                s(&f.meta, k).is_some_and(|v| !v.is_empty()),
                "{}: no {k}",
                f.name
            );
        }
        let want = f.meta["expect"].as_table().unwrap();
        let (events, err) = replay(f).await;
        if let Some(class) = s(want, "error_class") {
            let e = err.unwrap_or_else(|| panic!("{}: expected a {class} error", f.name));
            assert_eq!(e.class.as_str(), class, "{}: {e}", f.name);
            if let Some(part) = s(want, "error_contains") {
                assert!(e.message.contains(part), "{}: {}", f.name, e.message);
            }
            assert!(!e.to_string().contains(KEY), "{}: key in the error", f.name);
            if let Some(u) = want.get("usage").and_then(toml::Value::as_table) {
                let billed = events.iter().rev().find_map(|e| match e {
                    StreamEvent::Usage { usage } => Some(usage.clone()),
                    _ => None,
                });
                let billed = billed.unwrap_or_else(|| panic!("{}: billed usage lost", f.name));
                check_usage(f, u, &billed);
            }
            if want.get("reasoning_seen").is_some() {
                assert!(
                    events
                        .iter()
                        .any(|e| matches!(e, StreamEvent::ReasoningDelta { .. })),
                    "{}: reasoning before the error was dropped",
                    f.name
                );
            }
            passed += 1;
            continue;
        }
        if let Some(e) = err {
            panic!("{}: unexpected error {e}", f.name);
        }
        let mut r = Response::default();
        for ev in events {
            r.apply(ev);
        }
        if let Some(text) = s(want, "text") {
            assert_eq!(r.text, text, "{}: text", f.name);
        }
        if let Some(reasoning) = s(want, "reasoning") {
            assert_eq!(r.reasoning_text(), reasoning, "{}: reasoning", f.name);
            assert!(
                !r.text.contains(reasoning),
                "{}: reasoning leaked into text",
                f.name
            );
        }
        if want.get("reasoning_signed").is_some() {
            assert!(
                r.reasoning.iter().any(|b| b.signature.is_some()
                    || b.raw
                        .as_ref()
                        .is_some_and(|raw| raw.to_string().contains("\"signature\":\"E"))),
                "{}: signature lost",
                f.name
            );
        }
        if let Some(finish) = s(want, "finish") {
            let got = serde_json::to_value(r.finish.as_ref().unwrap()).unwrap();
            assert_eq!(got, finish, "{}: finish", f.name);
        }
        if let Some(part) = s(want, "refusal_contains") {
            assert!(
                r.refusal.as_deref().is_some_and(|t| t.contains(part)),
                "{}: refusal {:?}",
                f.name,
                r.refusal
            );
        }
        let calls = want
            .get("tool_calls")
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(r.tool_calls.len(), calls.len(), "{}: tool calls", f.name);
        for (got, want) in r.tool_calls.iter().zip(&calls) {
            assert_eq!(got.name, want["name"].as_str().unwrap(), "{}", f.name);
            assert_eq!(
                got.arguments,
                want["arguments"].as_str().unwrap(),
                "{}",
                f.name
            );
            assert!(!got.id.is_empty(), "{}: tool call without id", f.name);
        }
        if let Some(u) = want.get("usage").and_then(toml::Value::as_table) {
            check_usage(f, u, &r.usage);
        }
        if want.get("no_usage").is_some() {
            assert_eq!(r.usage, Usage::default(), "{}: invented usage", f.name);
        }
        passed += 1;
    }
    assert_eq!(passed, fixtures.len());
}
