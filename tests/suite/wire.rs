//! The wire adapters against the fake provider server: every fault of
//! /work/shared/provider-wire.md in both formats, reassembly, usage mapping, request bodies.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use samocoder::config::{NetworkConfig, ProviderConfig, WireKind};
use samocoder::llm::{
    ErrorClass, FinishReason, LlmError, Message, Provider, Request, Response, StreamEvent,
    ToolCall, ToolDef, adapter_for, build_client,
};

use crate::common::fake_provider::{
    Answer, FakeProvider, FakeUsage, Finish, Reply, Shape, closed_port_url,
};

const KEY: &str = "sk-test-SECRET-0123456789";
const WIRES: [WireKind; 2] = [WireKind::Openai, WireKind::Anthropic];

fn network(idle_ms: u64) -> NetworkConfig {
    NetworkConfig {
        connect_timeout_s: 2.0,
        first_byte_timeout_s: 2.0,
        idle_timeout_s: idle_ms as f64 / 1000.0,
        max_retries: 0,
        max_retry_wait_s: 60.0,
        breaker_failures: 3,
        breaker_cooldown_s: 30.0,
        max_answer_bytes: 4 << 20,
        max_answer_s: 900.0,
    }
}

fn provider(kind: WireKind, base_url: &str) -> ProviderConfig {
    ProviderConfig {
        name: kind.to_string(),
        kind,
        base_url: base_url.to_string(),
        key_env: Some(match kind {
            WireKind::Openai | WireKind::OpenaiResponses => "OPENAI_API_KEY".into(),
            WireKind::Anthropic => "ANTHROPIC_API_KEY".into(),
        }),
        free: false,
        prompt_cache_key: None,
    }
}

fn adapter(kind: WireKind, base_url: &str, idle_ms: u64) -> std::sync::Arc<dyn Provider> {
    let net = network(idle_ms);
    let client = build_client(&net).unwrap();
    adapter_for(
        &provider(kind, base_url),
        Some(samocoder::keys::Secret::new(KEY)),
        &client,
        &net,
    )
}

fn request() -> Request {
    Request {
        model: "fake-model".into(),
        system: "You write code.".into(),
        messages: vec![Message::User {
            content: "say hi".into(),
        }],
        tools: vec![],
        max_output_tokens: 256,
        temperature: Some(0.2),
        cache_key: None,
    }
}

/// All events up to the first error, and that error.
/// The adapter's events, without the body size it reports first (see
/// `request_bytes_are_the_exact_size_of_the_body_sent`).
async fn run(p: &dyn Provider, req: Request) -> (Vec<StreamEvent>, Option<LlmError>) {
    let mut stream = p.stream(req);
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::RequestBytes { .. }) => {}
            Ok(ev) => events.push(ev),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

async fn answer(kind: WireKind, server: &FakeProvider) -> Response {
    adapter(kind, &server.base_url(), 2000)
        .complete(request())
        .await
        .unwrap()
}

async fn fail(kind: WireKind, server: &FakeProvider, reply: Reply) -> LlmError {
    server.push(reply);
    let (_, err) = run(&*adapter(kind, &server.base_url(), 300), request()).await;
    let err = err.expect("an error");
    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    err
}

#[tokio::test]
async fn status_faults_map_to_classes_in_both_formats() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        let e = fail(
            kind,
            &server,
            Reply::error(429, "rate_limit_error", "Slow down").with_header("retry-after", "2"),
        )
        .await;
        assert_eq!(
            (e.class.clone(), e.status),
            (ErrorClass::RateLimited, Some(429))
        );
        assert!(e.class.is_retryable());
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));

        let e = fail(
            kind,
            &server,
            Reply::error(429, "rate_limit_exceeded", "x").with_header("retry-after-ms", "150"),
        )
        .await;
        assert_eq!(e.retry_after, Some(Duration::from_millis(150)));

        let e = fail(
            kind,
            &server,
            Reply::error(529, "overloaded_error", "Overloaded"),
        )
        .await;
        assert_eq!(e.class, ErrorClass::Overloaded);
        assert!(e.class.is_retryable());

        for status in [500, 503] {
            let e = fail(kind, &server, Reply::error(status, "api_error", "Internal")).await;
            assert_eq!(e.class, ErrorClass::Server, "{status}");
            assert!(e.class.is_retryable());
        }

        let e = fail(kind, &server, Reply::html_502()).await;
        assert_eq!(e.class, ErrorClass::Server);
        assert!(
            e.message.contains("502 Bad Gateway cloudflare"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('<') && !e.message.contains('\n'));

        let e = fail(
            kind,
            &server,
            Reply::error(401, "authentication_error", "invalid x-api-key"),
        )
        .await;
        assert_eq!(e.class, ErrorClass::BadKey);
        assert!(!e.class.is_retryable());
        let var = if kind == WireKind::Openai {
            "OPENAI_API_KEY"
        } else {
            "ANTHROPIC_API_KEY"
        };
        assert!(
            e.message.contains(var) && e.message.contains(&format!("samocoder keys set {kind}")),
            "{}",
            e.message
        );

        let e = fail(
            kind,
            &server,
            Reply::error(404, "not_found_error", "model: nope"),
        )
        .await;
        assert_eq!(e.class, ErrorClass::NotFound);
        assert!(e.message.contains("fake-model"));

        let e = fail(
            kind,
            &server,
            Reply::error(402, "billing_error", "Payment required"),
        )
        .await;
        assert_eq!(e.class, ErrorClass::QuotaExhausted);
        assert!(!e.class.is_retryable());

        let e = fail(
            kind,
            &server,
            Reply::error(403, "permission_error", "Region not supported"),
        )
        .await;
        assert_eq!(e.class, ErrorClass::Forbidden);
        let e = fail(
            kind,
            &server,
            Reply::error(
                413,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes",
            ),
        )
        .await;
        assert_eq!(e.class, ErrorClass::BadRequest);
        let e = fail(kind, &server, Reply::error(409, "conflict", "busy")).await;
        assert_eq!(e.class, ErrorClass::Conflict);
    }
}

#[tokio::test]
async fn quota_and_context_length_by_each_providers_wording() {
    let server = FakeProvider::start().await;
    let e = fail(
        WireKind::Openai,
        &server,
        Reply::error(
            429,
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
        )
        .with_code("insufficient_quota"),
    )
    .await;
    assert_eq!(e.class, ErrorClass::QuotaExhausted);
    assert!(!e.class.is_retryable());

    // Anthropic: a 429 without retry-after whose message is about a spend limit.
    let e = fail(
        WireKind::Anthropic,
        &server,
        Reply::error(429, "rate_limit_error", "You have reached your specified API usage limits. You will regain access on 2026-12-01."),
    )
    .await;
    assert_eq!(e.class, ErrorClass::QuotaExhausted);

    let e = fail(
        WireKind::Openai,
        &server,
        Reply::error(400, "invalid_request_error", "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.")
            .with_code("context_length_exceeded"),
    )
    .await;
    assert_eq!(e.class, ErrorClass::ContextLength);
    let e = fail(
        WireKind::Anthropic,
        &server,
        Reply::error(
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        ),
    )
    .await;
    assert_eq!(e.class, ErrorClass::ContextLength);
    assert!(!e.class.is_retryable());
}

#[tokio::test]
async fn transport_faults_in_both_formats() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        let p = adapter(kind, &closed_port_url(), 300);
        let (_, e) = run(&*p, request()).await;
        let e = e.unwrap();
        assert_eq!(e.class, ErrorClass::Connect, "{e}");
        assert!(e.class.is_retryable());

        server.push(Reply::ResetAfterHeaders);
        let (events, e) = run(&*adapter(kind, &server.base_url(), 2000), request()).await;
        assert_eq!(e.unwrap().class, ErrorClass::StreamCut);
        assert!(
            events
                .iter()
                .all(|e| !matches!(e, StreamEvent::Finish { .. }))
        );

        for cut in [1, 3, 5] {
            let e = fail(
                kind,
                &server,
                Reply::Cut {
                    answer: Answer::text("one two three four"),
                    events: cut,
                },
            )
            .await;
            assert_eq!(e.class, ErrorClass::StreamCut, "{kind} cut after {cut}");
            assert!(e.class.is_retryable());
        }
    }
}

#[tokio::test]
async fn idle_timeout_fires_despite_keepalives() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        server.push(Reply::Stall { keepalive_ms: 50 });
        let started = Instant::now();
        let (_, e) = run(&*adapter(kind, &server.base_url(), 200), request()).await;
        let e = e.unwrap();
        assert_eq!(e.class, ErrorClass::IdleTimeout, "{kind}: {e}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn first_byte_timeout_when_no_headers_come() {
    // Accepts connections (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", silent.local_addr().unwrap());
    let mut net = network(200);
    net.first_byte_timeout_s = 0.2;
    let client = build_client(&net).unwrap();
    for kind in WIRES {
        let p = adapter_for(
            &provider(kind, &url),
            Some(samocoder::keys::Secret::new(KEY)),
            &client,
            &net,
        );
        let (_, e) = run(&*p, request()).await;
        assert_eq!(e.unwrap().class, ErrorClass::Timeout);
    }
}

#[tokio::test]
async fn error_events_inside_a_200_stream() {
    let server = FakeProvider::start().await;
    let cases = [
        (WireKind::Openai, "server_error", false, ErrorClass::Server),
        (WireKind::Openai, "server_error", true, ErrorClass::Server),
        (
            WireKind::Openai,
            "rate_limit_exceeded",
            false,
            ErrorClass::RateLimited,
        ),
        (
            WireKind::Anthropic,
            "overloaded_error",
            false,
            ErrorClass::Overloaded,
        ),
        (
            WireKind::Anthropic,
            "rate_limit_error",
            false,
            ErrorClass::RateLimited,
        ),
        (WireKind::Anthropic, "api_error", false, ErrorClass::Server),
    ];
    for (kind, error_type, openrouter, class) in cases {
        server.push(Reply::StreamError {
            error_type: error_type.into(),
            message: "Overloaded".into(),
            openrouter,
        });
        let (events, e) = run(&*adapter(kind, &server.base_url(), 2000), request()).await;
        assert_eq!(e.unwrap().class, class, "{kind} {error_type}");
        assert!(
            events.contains(&StreamEvent::TextDelta {
                text: "partial".into()
            }),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn byte_shapes_do_not_change_the_answer() {
    let server = FakeProvider::start().await;
    let big = "y".repeat(1024 * 1024 + 512 * 1024);
    for kind in WIRES {
        let base = Answer::tools(&[(
            "c1",
            "write_file",
            r#"{"path":"a.py","content":"print('é✓')"}"#,
        )]);
        let mut plain = base.clone();
        plain.text = "héllo wörld, ✓ done".into();
        server.push_answer(plain.clone());
        let expected = answer(kind, &server).await;
        assert_eq!(expected.text, plain.text);
        let shapes = [
            Shape {
                crlf: true,
                ..Shape::default()
            },
            Shape {
                multiline_data: true,
                ..Shape::default()
            },
            Shape {
                comment: true,
                split_every: Some(1),
                ..Shape::default()
            },
            Shape {
                crlf: true,
                multiline_data: true,
                split_every: Some(3),
                ..Shape::default()
            },
            Shape {
                split_every: Some(7),
                ..Shape::default()
            },
        ];
        for shape in shapes {
            let mut a = plain.clone();
            a.shape = shape.clone();
            server.push_answer(a);
            assert_eq!(answer(kind, &server).await, expected, "{kind} {shape:?}");
        }
        let mut a = Answer::text(&big);
        a.shape.split_every = Some(64 * 1024 + 3);
        server.push_answer(a);
        assert_eq!(answer(kind, &server).await.text.len(), big.len());
    }
}

#[tokio::test]
async fn truncation_and_malformed_tool_arguments_pass_through() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        server.push_answer(Answer {
            text: "cut here".into(),
            finish: Finish::Truncated,
            ..Answer::default()
        });
        let r = answer(kind, &server).await;
        assert!(r.is_truncated(), "{kind}");

        server.push_answer(Answer::tools(&[(
            "t1",
            "write_file",
            r#"{"path": 42, "content": "#,
        )]));
        let r = answer(kind, &server).await;
        assert_eq!(r.tool_calls[0].arguments, r#"{"path": 42, "content": "#);
        assert_eq!(r.finish, Some(FinishReason::ToolCalls));

        server.push_answer(Answer::tools(&[("t2", "list_files", "")]));
        let r = answer(kind, &server).await;
        let expected = if kind == WireKind::Anthropic {
            "{}"
        } else {
            ""
        };
        assert_eq!(r.tool_calls[0].arguments, expected, "{kind}");
    }
}

#[tokio::test]
async fn interleaved_tool_calls_are_reassembled() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        server.push_answer(Answer::tools(&[
            ("call_a", "read_file", r#"{"path":"src/main.rs"}"#),
            (
                "call_b",
                "write_file",
                r##"{"path":"README.md","content":"# Title\nlong text here"}"##,
            ),
        ]));
        let r = answer(kind, &server).await;
        assert_eq!(
            r.tool_calls,
            vec![
                ToolCall {
                    id: "call_a".into(),
                    name: "read_file".into(),
                    arguments: r#"{"path":"src/main.rs"}"#.into()
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "write_file".into(),
                    arguments: r##"{"path":"README.md","content":"# Title\nlong text here"}"##
                        .into()
                },
            ],
            "{kind}"
        );
    }
}

#[tokio::test]
async fn usage_mapping() {
    let server = FakeProvider::start().await;
    let usage = FakeUsage {
        input: 40,
        output: 7,
        cached: 60,
        cache_write: 0,
        cost: Some(0.0042),
        groq: false,
    };
    server.push_answer(Answer {
        text: "hi".into(),
        usage: Some(usage),
        ..Answer::default()
    });
    let u = answer(WireKind::Openai, &server).await.usage;
    assert_eq!(
        (u.input_tokens, u.cached_input_tokens, u.output_tokens),
        (40, 60, 7)
    );
    assert_eq!(u.reported_cost_usd, Some(0.0042));

    let groq = FakeUsage {
        input: 11,
        output: 3,
        groq: true,
        ..FakeUsage::default()
    };
    server.push_answer(Answer {
        text: "hi".into(),
        usage: Some(groq),
        ..Answer::default()
    });
    let u = answer(WireKind::Openai, &server).await.usage;
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.reported_cost_usd),
        (11, 3, None)
    );

    let anth = FakeUsage {
        input: 377,
        output: 65,
        cached: 2000,
        cache_write: 1000,
        ..FakeUsage::default()
    };
    server.push_answer(Answer {
        text: "hi".into(),
        usage: Some(anth),
        ..Answer::default()
    });
    let u = answer(WireKind::Anthropic, &server).await.usage;
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cached_input_tokens,
            u.cache_write_tokens
        ),
        (377, 65, 2000, 1000)
    );
    assert!(!u.estimated);
}

#[tokio::test]
async fn rate_limit_headers_become_an_event() {
    let server = FakeProvider::start().await;
    let mut a = Answer::text("ok");
    a.headers = vec![
        ("x-ratelimit-remaining-requests".into(), "9".into()),
        ("x-ratelimit-reset-tokens".into(), "6m0s".into()),
    ];
    server.push_answer(a);
    let (events, e) = run(
        &*adapter(WireKind::Openai, &server.base_url(), 2000),
        request(),
    )
    .await;
    assert!(e.is_none());
    match &events[0] {
        StreamEvent::RateLimit { info } => {
            assert_eq!(info.remaining_requests, Some(9));
            assert_eq!(info.reset_tokens_ms, Some(360_000));
        }
        other => panic!("expected a rate-limit event first, got {other:?}"),
    }
}

fn rich_request() -> Request {
    Request {
        model: "fake-model".into(),
        system: "You are samocoder.".into(),
        messages: vec![
            Message::User {
                content: "Make a todo app".into(),
            },
            Message::Assistant {
                text: "Reading files.".into(),
                tool_calls: vec![
                    ToolCall {
                        id: "call_1".into(),
                        name: "read_file".into(),
                        arguments: r#"{"path":"a.py"}"#.into(),
                    },
                    ToolCall {
                        id: "call_2".into(),
                        name: "list_files".into(),
                        arguments: "not json".into(),
                    },
                ],
                reasoning: vec![],
            },
            Message::ToolResult {
                call_id: "call_1".into(),
                content: "print(1)".into(),
                is_error: false,
            },
            Message::ToolResult {
                call_id: "call_2".into(),
                content: "bad arguments".into(),
                is_error: true,
            },
            Message::User {
                content: "Go on".into(),
            },
        ],
        tools: vec![
            ToolDef {
                name: "read_file".into(),
                description: "Read a file".into(),
                parameters: serde_json::json!({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}),
            },
            ToolDef {
                name: "list_files".into(),
                description: "List files".into(),
                parameters: serde_json::json!({"type":"object","properties":{}}),
            },
        ],
        max_output_tokens: 4096,
        temperature: Some(0.2),
        cache_key: None,
    }
}

#[tokio::test]
async fn request_bodies_and_headers() {
    let server = FakeProvider::start().await;
    let net = network(2000);
    let client = build_client(&net).unwrap();
    for kind in WIRES {
        // As for api.openai.com: the conversation's key goes out as `prompt_cache_key`.
        let p = ProviderConfig {
            prompt_cache_key: Some(true),
            ..provider(kind, &server.base_url())
        };
        let mut req = rich_request();
        req.cache_key = Some("p1/task:3".into());
        adapter_for(&p, Some(samocoder::keys::Secret::new(KEY)), &client, &net)
            .complete(req)
            .await
            .unwrap();
    }
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(reqs[0].headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(reqs[1].path, "/v1/messages");
    assert_eq!(reqs[1].headers["x-api-key"], KEY);
    assert_eq!(reqs[1].headers["anthropic-version"], "2023-06-01");
    assert!(!reqs[1].headers.contains_key("authorization"));
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("openai_request_body", reqs[0].body);
        insta::assert_json_snapshot!("anthropic_request_body", reqs[1].body);
    });
}

#[tokio::test]
async fn request_bytes_are_the_exact_size_of_the_body_sent() {
    let server = FakeProvider::start().await;
    for kind in WIRES {
        let mut stream = adapter(kind, &server.base_url(), 2000).stream(rich_request());
        let first = stream.next().await.unwrap().unwrap();
        while stream.next().await.is_some() {}
        let sent: u64 = server.requests().last().unwrap().headers["content-length"]
            .parse()
            .unwrap();
        assert_eq!(first, StreamEvent::RequestBytes { bytes: sent }, "{kind}");
    }
}

#[tokio::test]
async fn responses_wire_sends_the_cache_key_and_reports_its_body_size() {
    let server = FakeProvider::start().await;
    let net = network(2000);
    let client = build_client(&net).unwrap();
    for (setting, sent) in [(None, true), (Some(false), false)] {
        let p = ProviderConfig {
            prompt_cache_key: setting,
            ..provider(WireKind::OpenaiResponses, &server.base_url())
        };
        let mut req = rich_request();
        req.cache_key = Some("p1/task:3".into());
        let a = adapter_for(&p, Some(samocoder::keys::Secret::new(KEY)), &client, &net);
        let mut stream = a.stream(req);
        let first = stream.next().await.unwrap().unwrap();
        while stream.next().await.is_some() {}
        let got = server.requests().last().unwrap().clone();
        assert_eq!(got.path, "/v1/responses");
        let size: u64 = got.headers["content-length"].parse().unwrap();
        assert_eq!(first, StreamEvent::RequestBytes { bytes: size });
        assert_eq!(
            got.body.get("prompt_cache_key").is_some(),
            sent,
            "{setting:?}"
        );
        if sent {
            assert_eq!(got.body["prompt_cache_key"], "p1/task:3");
        }
    }
}

/// The Anthropic body of turn N+1 marks the turn N prefix (the previous user turn) and its own
/// last message; never more than the API's four breakpoints.
#[tokio::test]
async fn anthropic_breakpoint_on_the_last_message_reuses_the_previous_turn() {
    let server = FakeProvider::start().await;
    let a = adapter(WireKind::Anthropic, &server.base_url(), 2000);
    let mut first = rich_request();
    first.messages.truncate(4);
    let mut second = rich_request();
    second.messages.truncate(4);
    second.messages.push(Message::assistant("Read it.", vec![]));
    second.messages.push(Message::User {
        content: "Now write tests".into(),
    });
    a.complete(first).await.unwrap();
    a.complete(second).await.unwrap();
    let reqs = server.requests();
    let marked = |body: &serde_json::Value| -> Vec<(usize, usize)> {
        let mut at = Vec::new();
        for (i, m) in body["messages"].as_array().unwrap().iter().enumerate() {
            for (j, b) in m["content"].as_array().unwrap().iter().enumerate() {
                if b.get("cache_control").is_some() {
                    at.push((i, j));
                }
            }
        }
        at
    };
    let count = |body: &serde_json::Value| body.to_string().matches("cache_control").count();
    // Turn 1: [user, assistant, user(tool results)]: the last block of message 2 (and of the
    // first user message).
    assert_eq!(marked(&reqs[0].body), [(0, 0), (2, 1)]);
    // Turn 2 keeps the mark where turn 1 wrote the cache, and adds one on its last message.
    assert_eq!(marked(&reqs[1].body), [(2, 1), (4, 0)]);
    let n = reqs[1].body["messages"].as_array().unwrap().len();
    assert_eq!(n, 5);
    // Turn 1's messages are sent again unchanged (breakpoints are not part of the cached
    // content), so its prefix is read from the cache.
    let unmarked = |body: &serde_json::Value| {
        let text = body["messages"].to_string();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for m in v.as_array_mut().unwrap() {
            for b in m["content"].as_array_mut().unwrap() {
                b.as_object_mut().unwrap().remove("cache_control");
            }
        }
        v
    };
    assert_eq!(
        unmarked(&reqs[0].body).as_array().unwrap()[..3],
        unmarked(&reqs[1].body).as_array().unwrap()[..3]
    );
    for r in &reqs {
        assert!(count(&r.body) <= 4, "{}", r.body);
    }
}

#[tokio::test]
async fn missing_key_and_keyless_local_servers() {
    let server = FakeProvider::start().await;
    let net = network(2000);
    let client = build_client(&net).unwrap();
    for kind in WIRES {
        let p = adapter_for(&provider(kind, &server.base_url()), None, &client, &net);
        let (_, e) = run(&*p, request()).await;
        let e = e.unwrap();
        assert_eq!(e.class, ErrorClass::NoKey);
        assert!(e.message.contains("samocoder keys set"));
    }
    assert!(
        server.requests().is_empty(),
        "nothing is sent without a key"
    );

    let local = ProviderConfig {
        name: "ollama".into(),
        kind: WireKind::Openai,
        base_url: server.base_url(),
        key_env: None,
        free: true,
        prompt_cache_key: None,
    };
    let p = adapter_for(&local, None, &client, &net);
    let r = p.complete(request()).await.unwrap();
    assert_eq!(r.text, "echo: say hi");
    assert!(!server.requests()[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn key_never_in_debug_output() {
    let server = FakeProvider::start().await;
    let p = adapter(WireKind::Openai, &server.base_url(), 2000);
    let _ = p.complete(request()).await;
    let net = network(2000);
    let a = samocoder::llm::OpenAiAdapter::new(
        &provider(WireKind::Openai, "http://x/v1"),
        Some(samocoder::keys::Secret::new(KEY)),
        build_client(&net).unwrap(),
        &net,
    );
    assert!(!format!("{a:?}").contains(KEY));
    let b = samocoder::llm::AnthropicAdapter::new(
        &provider(WireKind::Anthropic, "http://x/v1"),
        Some(samocoder::keys::Secret::new(KEY)),
        build_client(&net).unwrap(),
        &net,
    );
    assert!(!format!("{b:?}").contains(KEY));
}

#[tokio::test]
async fn models_endpoint_lists_the_fake_model() {
    let server = FakeProvider::start().await;
    let body: serde_json::Value = reqwest::get(format!("{}/models", server.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"][0]["id"], "fake-model");
}
