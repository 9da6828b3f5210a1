//! Regression tests for what real providers and local servers sent that samocoder got wrong
//! (issue 10, "Known wrong today"), each named after its bug, through the real binary or the
//! real adapters against a local server.

use std::time::{Duration, Instant};

use samocoder::config::{NetworkConfig, ProviderConfig, WireKind};
use samocoder::llm::{
    ErrorClass, Message, ReasoningFormat, Request, Response, ToolCall, adapter_for, adapter_with,
    build_client,
};

use super::ask::{KEY, config, run};
use crate::common::fake_provider::{FakeProvider, Reply};
use crate::common::{Env, stderr, stdout};

fn sse(chunks: &[&str]) -> String {
    chunks.iter().map(|c| format!("data: {c}\n\n")).collect()
}

fn raw(body: String) -> Reply {
    Reply::Raw {
        status: 200,
        content_type: "text/event-stream".into(),
        body,
        headers: vec![],
    }
}

fn net(idle_s: f64) -> NetworkConfig {
    NetworkConfig {
        connect_timeout_s: 2.0,
        first_byte_timeout_s: 5.0,
        idle_timeout_s: idle_s,
        max_retries: 0,
        max_retry_wait_s: 1.0,
        breaker_failures: 3,
        breaker_cooldown_s: 1.0,
        max_answer_bytes: 4 << 20,
        max_answer_s: 900.0,
    }
}

fn provider(kind: WireKind, base: &str) -> ProviderConfig {
    ProviderConfig {
        name: "p".into(),
        kind,
        base_url: base.into(),
        key_env: Some("P_KEY".into()),
        free: false,
        prompt_cache_key: None,
    }
}

fn request(messages: Vec<Message>) -> Request {
    Request {
        model: "m1".into(),
        system: String::new(),
        messages,
        tools: vec![],
        max_output_tokens: 512,
        temperature: Some(0.3),
        cache_key: None,
    }
}

const REFUSAL: [&str; 4] = [
    r#"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]}"#,
    r#"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"I'm sorry, I can't help"},"finish_reason":null}]}"#,
    r#"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":" with that."},"finish_reason":null}]}"#,
    r#"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
];

#[tokio::test]
async fn openai_refusal_is_shown_and_ask_exits_nonzero() {
    let server = FakeProvider::start().await;
    let mut body = sse(&REFUSAL);
    body.push_str("data: [DONE]\n\n");
    server.push(raw(body));
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["ask", "do something bad"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused to answer: I'm sorry, I can't help with that."),
        "{}",
        stderr(&out)
    );
    assert!(
        !stdout(&out).contains("sorry"),
        "a refusal is not an answer"
    );
}

#[tokio::test]
async fn anthropic_refusal_stop_details_reach_plain_ask() {
    let server = FakeProvider::start().await;
    let events = [
        r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":null,"usage":{"input_tokens":18,"output_tokens":1}}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal","category":"cyber","explanation":"Blocked under the usage policy."}},"usage":{"output_tokens":5}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    let body: String = events
        .iter()
        .map(|e| {
            let t: serde_json::Value = serde_json::from_str(e).unwrap();
            format!("event: {}\ndata: {e}\n\n", t["type"].as_str().unwrap())
        })
        .collect();
    server.push(raw(body));
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fakeant:m1"], ""));
    let out = run(&env, &["ask", "x"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Blocked under the usage policy."),
        "{}",
        stderr(&out)
    );
    let json = run(&env, &["--json", "ask", "x"]).await;
    // The fake answers the second call with its echo: only the first is a refusal.
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
}

#[tokio::test]
async fn openrouter_error_chunk_usage_is_recorded_not_zero() {
    let server = FakeProvider::start().await;
    let body = sse(&[
        r#"{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#,
        r#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Upstream error"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"cost":0.0009}}"#,
    ]);
    server.push(raw(body));
    let env = Env::new();
    env.write_config(
        &config(&server.base_url(), &["fake:m1"], "").replace("max_retries = 2", "max_retries = 0"),
    );
    let out = run(&env, &["ask", "x"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let rows: Vec<(i64, i64, i64, String)> = {
        let conn = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
        let mut st = conn
            .prepare("SELECT input_tokens, output_tokens, usage_estimated, outcome FROM llm_calls")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(rows, vec![(120, 30, 0, "error".to_string())]);
}

#[tokio::test]
async fn groq_reasoning_before_error_event_is_billed_as_started() {
    let server = FakeProvider::start().await;
    let reasoning = "x".repeat(412);
    let mut body = sse(&[&format!(
        r#"{{"id":"c","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"reasoning":"{reasoning}","channel":"analysis"}},"finish_reason":null}}]}}"#
    )]);
    body.push_str("event: error\ndata: {\"error\":{\"message\":\"Failed to call a function\",\"type\":\"invalid_request_error\",\"code\":\"tool_use_failed\"}}\n\n");
    server.push(raw(body));
    let env = Env::new();
    env.write_config(
        &config(&server.base_url(), &["fake:m1"], "").replace("max_retries = 2", "max_retries = 0"),
    );
    let out = run(&env, &["ask", "x"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let (output, estimated): (i64, i64) = conn
        .query_row(
            "SELECT output_tokens, usage_estimated FROM llm_calls",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (output, estimated),
        (103, 1),
        "412 chars of reasoning, estimated"
    );
}

#[tokio::test]
async fn whole_json_answer_to_a_stream_request_is_accepted() {
    let server = FakeProvider::start().await;
    server.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: r#"{"id":"chatcmpl-1","object":"chat.completion","model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#.into(),
        headers: vec![],
    });
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["ask", "x"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "whole answer\n");
    let conn = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let tokens: (i64, i64) = conn
        .query_row(
            "SELECT input_tokens, output_tokens FROM llm_calls",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(tokens, (12, 3));
}

#[tokio::test]
async fn empty_or_reasoning_only_turn_is_never_sent_as_null_content() {
    let server = FakeProvider::start().await;
    let net = net(2.0);
    let a = adapter_for(
        &provider(WireKind::Openai, &server.base_url()),
        Some(samocoder::keys::Secret::new(KEY)),
        &build_client(&net).unwrap(),
        &net,
    );
    let req = request(vec![
        Message::User {
            content: "a".into(),
        },
        Message::assistant("", vec![]),
        Message::User {
            content: "b".into(),
        },
    ]);
    a.complete(req).await.unwrap();
    let sent = &server.requests()[0].body["messages"];
    assert_eq!(sent[1]["role"], "assistant");
    assert_eq!(
        sent[1]["content"], "",
        "null content without tool_calls breaks llama-cpp-python"
    );
}

/// A one-line HTTP server that answers 500 with a body dripped one byte at a time.
async fn dripping_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body =
                    r#"{"error":{"message":"overloaded, please retry","type":"server_error"}}"#;
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for b in body.bytes() {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if sock.write_all(&[b]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn slow_error_body_has_a_total_deadline() {
    let base = dripping_server().await;
    let net = net(1.0);
    let a = adapter_for(
        &provider(WireKind::Openai, &base),
        Some(samocoder::keys::Secret::new(KEY)),
        &build_client(&net).unwrap(),
        &net,
    );
    let started = Instant::now();
    let err = a
        .complete(request(vec![Message::User {
            content: "x".into(),
        }]))
        .await
        .unwrap_err();
    // 70 bytes at 300 ms each would hold the call for 21 s; the deadline is the idle timeout.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.class, ErrorClass::Server);
}

/// Anthropic SSE events from JSON lines (event name = `type`).
fn anthropic_sse(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|e| {
            let t: serde_json::Value = serde_json::from_str(e).unwrap();
            format!("event: {}\ndata: {e}\n\n", t["type"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn thinking_blocks_and_signatures_go_back_with_tool_results() {
    let server = FakeProvider::start().await;
    server.push(raw(anthropic_sse(&[
        r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":null,"usage":{"input_tokens":40,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I should read the file."}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"read_file","input":{}}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"path\":\"a.py\"}"}}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}"#,
        r#"{"type":"message_stop"}"#,
    ])));
    let net = net(2.0);
    let options = samocoder::config::ModelOptions {
        thinking_budget_tokens: Some(2048),
        ..Default::default()
    };
    let a = adapter_with(
        &provider(WireKind::Anthropic, &server.base_url()),
        Some(samocoder::keys::Secret::new(KEY)),
        &build_client(&net).unwrap(),
        &net,
        &options,
        None,
    );
    let first: Response = a
        .complete(request(vec![Message::User {
            content: "fix a.py".into(),
        }]))
        .await
        .unwrap();
    assert_eq!(first.reasoning.len(), 2);
    assert_eq!(first.reasoning_text(), "I should read the file.");
    assert!(first.text.is_empty(), "thinking is not answer text");
    // The cassette keeps the blocks, so a replayed run sends them back too.
    let entry = samocoder::llm::cassette::CassetteEntry::from_response(&first, None, None);
    let line = serde_json::to_string(&entry).unwrap();
    let back: samocoder::llm::cassette::CassetteEntry = serde_json::from_str(&line).unwrap();
    let mut replayed = Response::default();
    for ev in back.events() {
        replayed.apply(ev);
    }
    assert_eq!(replayed.reasoning, first.reasoning);

    let call: ToolCall = first.tool_calls[0].clone();
    let second = request(vec![
        Message::User {
            content: "fix a.py".into(),
        },
        Message::Assistant {
            text: first.text.clone(),
            tool_calls: first.tool_calls.clone(),
            reasoning: replayed.reasoning.clone(),
        },
        Message::ToolResult {
            call_id: call.id,
            content: "print(1)".into(),
            is_error: false,
        },
    ]);
    a.complete(second).await.unwrap();
    let body = &server.requests()[1].body;
    assert_eq!(body["thinking"]["budget_tokens"], 2048);
    assert_eq!(body["max_tokens"], 512 + 2048);
    assert!(
        body.get("temperature").is_none(),
        "temperature is refused with thinking"
    );
    let content = &body["messages"][1]["content"];
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[0]["thinking"], "I should read the file.");
    assert_eq!(
        content[0]["signature"],
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    );
    assert_eq!(content[1]["type"], "redacted_thinking");
    assert_eq!(content[1]["data"], "EmwKAhgBEgy3va3pzix");
    assert_eq!(content[2]["type"], "tool_use");

    // A tool turn recorded without its thinking block cannot go back with thinking on.
    let unsigned = request(vec![
        Message::User {
            content: "fix a.py".into(),
        },
        Message::assistant("", first.tool_calls.clone()),
        Message::ToolResult {
            call_id: "toolu_1".into(),
            content: "ok".into(),
            is_error: false,
        },
    ]);
    a.complete(unsigned).await.unwrap();
    let body = &server.requests()[2].body;
    assert!(body.get("thinking").is_none(), "{body}");
    assert!(
        first
            .reasoning
            .iter()
            .all(|b| b.format == ReasoningFormat::Anthropic)
    );
}

#[tokio::test]
async fn local_server_context_window_is_found_before_the_first_request() {
    let server = FakeProvider::start().await;
    // llama.cpp's /props: a 300-token context and no tool template.
    server.serve_meta(
        "/props",
        200,
        r#"{"default_generation_settings":{"n_ctx":300},"chat_template_caps":{"supports_tools":false}}"#,
    );
    let env = Env::new();
    let cfg = format!(
        "[providers.local]\nkind = \"openai\"\nbase_url = \"{}\"\n\n[routes]\ndefault = [\"local:m1\"]\n",
        server.base_url()
    );
    env.write_config(&cfg);
    let long = "word ".repeat(400);
    let out = run(&env, &["ask", &long]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("context window of 300 tokens"),
        "{}",
        stderr(&out)
    );
    assert!(server.requests().is_empty(), "nothing sent past the window");

    // A prompt that fits: the output limit is lowered so prompt + output fit.
    let out = run(&env, &["ask", "--max-output-tokens", "4000", "short"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = server.requests()[0].body["max_tokens"].as_u64().unwrap();
    assert!(sent < 300, "max_tokens {sent} was not fitted to the window");
}

#[tokio::test]
async fn doctor_passes_a_route_whose_server_has_no_model_list() {
    let server = FakeProvider::start().await;
    server.serve_meta("/v1/models", 404, r#"{"detail":"Not Found"}"#);
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["doctor"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("has no model list"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn ollama_with_nothing_pulled_says_pull_not_bad_key() {
    let server = FakeProvider::start().await;
    server.serve_meta("/v1/models", 200, r#"{"object":"list","data":null}"#);
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["models", "fake"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("fake (0 models)"), "{}", stdout(&out));
    let out = run(&env, &["doctor"]).await;
    assert!(stdout(&out).contains("ollama pull"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("rejected"), "{}", stdout(&out));
}

#[tokio::test]
async fn openai_responses_wire_answers_ask_with_reasoning_recorded() {
    let server = FakeProvider::start().await;
    let events = [
        r#"{"type":"response.created","response":{"id":"r1","status":"in_progress","output":[]}}"#,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}"#,
        r#"{"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"Thinking briefly."}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Thinking briefly."}],"encrypted_content":"gAAAA-enc"}}"#,
        r#"{"type":"response.output_text.delta","output_index":1,"delta":"Hi "}"#,
        r#"{"type":"response.output_text.delta","output_index":1,"delta":"there."}"#,
        r#"{"type":"response.completed","response":{"id":"r1","status":"completed","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":20},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":80}}}"#,
    ];
    server.push(raw(sse(&events)));
    let env = Env::new();
    let cfg = format!(
        "[providers.resp]\nkind = \"openai-responses\"\nbase_url = \"{}\"\nkey_env = \"FAKE_KEY\"\n\n[routes]\ndefault = [\"resp:o4-mini\"]\n\n[models.\"resp:o4-mini\"]\nreasoning_effort = \"high\"\n",
        server.base_url()
    );
    env.write_config(&cfg);
    let out = run(&env, &["--json", "ask", "hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["text"], "Hi there.");
    assert_eq!(j["reasoning"], "Thinking briefly.");
    assert_eq!(j["tokens"]["input"], 30);
    assert_eq!(j["tokens"]["cached_input"], 20);
    assert_eq!(j["tokens"]["reasoning"], 12);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.body["reasoning"]["effort"], "high");
    assert_eq!(sent.body["input"][0]["content"], "hi");
    let conn = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    let reasoning: i64 = conn
        .query_row("SELECT reasoning_tokens FROM llm_calls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reasoning, 12);
}

#[tokio::test]
async fn models_shows_the_context_window_a_local_server_reports() {
    let server = FakeProvider::start().await;
    server.serve_meta(
        "/props",
        200,
        r#"{"default_generation_settings":{"n_ctx":8192}}"#,
    );
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["--json", "models", "fake"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j[0]["models"][0]["id"], "fake-model");
    assert_eq!(j[0]["models"][0]["context_window"], 8192);
}

#[tokio::test]
async fn llama_cpp_context_stop_is_not_blamed_on_the_output_limit() {
    let server = FakeProvider::start().await;
    let mut body = sse(&[
        r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"The start of a long"},"finish_reason":null}]}"#,
        r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":3990,"completion_tokens":106,"total_tokens":4096},"timings":{"prompt_n":3990,"predicted_n":106}}"#,
    ]);
    body.push_str("data: [DONE]\n\n");
    server.push(raw(body));
    // llama.cpp started with a 4096-token context.
    server.serve_meta(
        "/props",
        200,
        r#"{"default_generation_settings":{"n_ctx":4096}}"#,
    );
    let env = Env::new();
    env.write_config(&config(&server.base_url(), &["fake:m1"], ""));
    let out = run(&env, &["ask", "--max-output-tokens", "8192", "x"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("context window is full"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("larger --max-output-tokens"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "The start of a long\n");
}
