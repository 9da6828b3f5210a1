//! A fake model provider on 127.0.0.1 that speaks both wire formats byte for byte
//! (`POST /v1/chat/completions`, `POST /v1/messages`, `GET /v1/models`), serves a queue of
//! scripted replies (or an echo answer), paces its streams, records every request, and injects
//! the faults listed in /work/shared/provider-wire.md on demand.
//!
//! Used by the integration tests (`tests/common/mod.rs`) and by `examples/fake_provider.rs`,
//! which the benchmarks run as a separate process.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Which format a request came in (and its reply goes out) in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    Openai,
    Anthropic,
}

/// Why the scripted answer stops, written per wire (`length` / `max_tokens`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// `stop` / `end_turn`, or `tool_calls` / `tool_use` when the answer has tool calls.
    #[default]
    Natural,
    Truncated,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeToolCall {
    pub id: String,
    pub name: String,
    /// Raw argument text, sent as is (may be malformed on purpose).
    pub arguments: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeUsage {
    /// Full-price input tokens (OpenAI `prompt_tokens` is this plus `cached`).
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub cache_write: u64,
    /// OpenRouter-style `usage.cost` in dollars.
    pub cost: Option<f64>,
    /// Put OpenAI-format usage in `x_groq.usage` of the last chunk instead of a usage chunk.
    pub groq: bool,
}

/// How the bytes of a stream are cut and written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shape {
    /// `\r\n` line endings.
    pub crlf: bool,
    /// JSON payloads pretty-printed over several `data:` lines.
    pub multiline_data: bool,
    /// Re-cut the whole body into pieces of this many bytes (no pacing between them).
    pub split_every: Option<usize>,
    /// Start with a `: OPENROUTER PROCESSING` comment.
    pub comment: bool,
}

/// A scripted successful answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Answer {
    pub text: String,
    pub tool_calls: Vec<FakeToolCall>,
    pub finish: Finish,
    /// `None`: computed from the request and answer sizes.
    pub usage: Option<FakeUsage>,
    pub shape: Shape,
    /// Extra response headers (e.g. rate-limit state).
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn text(text: &str) -> Answer {
        Answer {
            text: text.to_string(),
            ..Answer::default()
        }
    }

    pub fn tools(calls: &[(&str, &str, &str)]) -> Answer {
        Answer {
            tool_calls: calls
                .iter()
                .map(|(id, name, args)| FakeToolCall {
                    id: id.to_string(),
                    name: name.to_string(),
                    arguments: args.to_string(),
                })
                .collect(),
            ..Answer::default()
        }
    }
}

/// One scripted reply; faults included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    Answer(Answer),
    /// An error answer in the requesting wire's error shape.
    Error {
        status: u16,
        /// OpenAI `type` / Anthropic `error.type`.
        error_type: String,
        #[serde(default)]
        code: Option<String>,
        message: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// Any status with a raw body (e.g. a proxy's HTML 502).
    Raw {
        status: u16,
        #[serde(default)]
        content_type: String,
        body: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// 200 and stream headers, a little of the answer, then the connection is aborted.
    ResetAfterHeaders,
    /// The answer's first `events` events, then a clean end of body without the end marker.
    Cut {
        answer: Answer,
        events: usize,
    },
    /// An answer served only to a request whose JSON body contains `when` (for concurrent
    /// requests whose arrival order varies); other replies are served in order around it.
    Matching {
        when: String,
        answer: Answer,
    },
    /// 200 and stream headers, then only keep-alives (comments for OpenAI, `ping` events for
    /// Anthropic) every `keepalive_ms` until the client gives up.
    Stall {
        keepalive_ms: u64,
    },
    /// An error event inside a 200 stream, after one text delta. `openrouter` selects
    /// OpenRouter's form (`code` plus `finish_reason: "error"`).
    StreamError {
        error_type: String,
        message: String,
        #[serde(default)]
        openrouter: bool,
    },
}

impl Reply {
    pub fn error(status: u16, error_type: &str, message: &str) -> Reply {
        Reply::Error {
            status,
            error_type: error_type.to_string(),
            code: None,
            message: message.to_string(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        match &mut self {
            Reply::Error { headers, .. } | Reply::Raw { headers, .. } => {
                headers.push((name.to_string(), value.to_string()))
            }
            Reply::Answer(a) => a.headers.push((name.to_string(), value.to_string())),
            _ => {}
        }
        self
    }

    pub fn with_code(mut self, c: &str) -> Reply {
        if let Reply::Error { code, .. } = &mut self {
            *code = Some(c.to_string());
        }
        self
    }

    pub fn html_502() -> Reply {
        Reply::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n".into(),
            headers: Vec::new(),
        }
    }
}

/// Pacing of streamed answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// Delay before the first content event.
    pub ttft_ms: u64,
    /// Text pieces per second after that; 0 means as fast as possible.
    pub tokens_per_s: f64,
}

/// One request as received.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub path: String,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Reply>,
    /// Chat requests only (model-list and local-server metadata requests are kept apart).
    requests: Vec<Recorded>,
    /// `GET /v1/models` and local-server metadata requests (`/props`, `/api/show`, ...).
    meta_requests: Vec<Recorded>,
    /// Answers for metadata paths (`/props`, `/api/show`, `/v1/models`), replacing the
    /// defaults: (status, JSON body).
    meta: BTreeMap<String, (u16, String)>,
    timing: Timing,
    /// When set, requests without this key (`Authorization: Bearer` or `x-api-key`) get a 401.
    required_key: Option<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake server; stops when dropped.
pub struct FakeProvider {
    pub addr: SocketAddr,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeProvider {
    /// Starts on 127.0.0.1 and an OS-chosen port.
    pub async fn start() -> FakeProvider {
        FakeProvider::start_on(0).await.expect("bind 127.0.0.1")
    }

    pub async fn start_on(port: u16) -> std::io::Result<FakeProvider> {
        let inner: Shared = Arc::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/v1/responses", post(responses))
            .route("/v1/models", get(models))
            .fallback(meta)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeProvider { addr, inner, task })
    }

    /// Base URL for provider configs: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, reply: Reply) -> &Self {
        self.inner.lock().unwrap().queue.push_back(reply);
        self
    }

    pub fn push_answer(&self, answer: Answer) -> &Self {
        self.push(Reply::Answer(answer))
    }

    /// Answers 401 (in the wire's error shape) to requests that do not carry this key.
    pub fn require_key(&self, key: &str) {
        self.inner.lock().unwrap().required_key = Some(key.to_string());
    }

    pub fn set_timing(&self, timing: Timing) {
        self.inner.lock().unwrap().timing = timing;
    }

    /// Chat requests received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Model-list and local-server metadata requests received, in order.
    pub fn meta_requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().meta_requests.clone()
    }

    /// Answers `path` (`/props`, `/api/show`, `/v1/models`, ...) with this status and JSON.
    pub fn serve_meta(&self, path: &str, status: u16, body: &str) -> &Self {
        self.inner
            .lock()
            .unwrap()
            .meta
            .insert(path.to_string(), (status, body.to_string()));
        self
    }

    /// Scripted replies not served yet.
    pub fn pending(&self) -> usize {
        self.inner.lock().unwrap().queue.len()
    }
}

/// A URL on which nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/v1")
}

async fn openai(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Wire::Openai, "/v1/chat/completions", headers, body)
}

async fn anthropic(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Wire::Anthropic, "/v1/messages", headers, body)
}

async fn responses(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Wire::Openai, "/v1/responses", headers, body)
}

/// Local-server metadata (`/props`, `/api/show`, ...): what [`FakeProvider::serve_meta`] set,
/// else llama.cpp's `/props` saying the context is large and tools are supported (so runs
/// against the fake see no local-server warnings), else 404.
async fn meta(
    State(s): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = s.lock().unwrap();
    inner.meta_requests.push(record(&path, &headers, json));
    if let Some((status, body)) = inner.meta.get(&path).cloned() {
        return respond(status, "application/json", &[], Body::from(body));
    }
    if path == "/props" {
        let body = json!({"default_generation_settings": {"n_ctx": 1_048_576},
                          "chat_template_caps": {"supports_tools": true}});
        return respond(200, "application/json", &[], Body::from(body.to_string()));
    }
    respond(404, "text/plain", &[], Body::from("404 page not found"))
}

async fn models(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let wire = if headers.contains_key("anthropic-version") {
        Wire::Anthropic
    } else {
        Wire::Openai
    };
    {
        let mut inner = s.lock().unwrap();
        inner
            .meta_requests
            .push(record("/v1/models", &headers, Value::Null));
        if let Some(denied) = check_key(&inner, wire, &headers) {
            return denied;
        }
        if let Some((status, body)) = inner.meta.get("/v1/models").cloned() {
            return respond(status, "application/json", &[], Body::from(body));
        }
    }
    let body = json!({
        "object": "list",
        "data": [{"id": "fake-model", "object": "model", "type": "model", "owned_by": "fake"}],
        "has_more": false,
    });
    respond(200, "application/json", &[], Body::from(body.to_string()))
}

fn serve(s: Shared, wire: Wire, path: &str, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (reply, timing) = {
        let mut inner = s.lock().unwrap();
        inner.requests.push(record(path, &headers, json.clone()));
        if let Some(denied) = check_key(&inner, wire, &headers) {
            return denied;
        }
        let body = json.to_string();
        let next = inner.queue.iter().position(|r| match r {
            Reply::Matching { when, .. } => body.contains(when.as_str()),
            _ => true,
        });
        let reply = next
            .and_then(|i| inner.queue.remove(i))
            .unwrap_or_else(|| Reply::Answer(echo(&json)));
        let reply = match reply {
            Reply::Matching { answer, .. } => Reply::Answer(answer),
            other => other,
        };
        (reply, inner.timing)
    };
    match reply {
        Reply::Answer(a) | Reply::Matching { answer: a, .. } => {
            stream_answer(wire, &json, a, timing, None)
        }
        Reply::Cut { answer, events } => stream_answer(wire, &json, answer, timing, Some(events)),
        Reply::Error {
            status,
            error_type,
            code,
            message,
            headers,
        } => {
            let body = match wire {
                Wire::Openai => json!({"error": {
                    "message": message, "type": error_type, "param": null, "code": code,
                }}),
                Wire::Anthropic => json!({
                    "type": "error",
                    "error": {"type": error_type, "message": message},
                    "request_id": "req_fake",
                }),
            };
            respond(
                status,
                "application/json",
                &headers,
                Body::from(body.to_string()),
            )
        }
        Reply::Raw {
            status,
            content_type,
            body,
            headers,
        } => respond(status, &content_type, &headers, Body::from(body)),
        Reply::ResetAfterHeaders => {
            let events = sse_events(wire, &json, &Answer::text("partial answer"));
            let first = Bytes::from(events[..lead_in(wire)].concat());
            // The pause lets the headers and first events go out before the abort.
            let stream = futures_util::stream::unfold(Some(first), |first| async move {
                match first {
                    Some(bytes) => Some((Ok(bytes), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let reset =
                            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
                        Some((Err(reset), None))
                    }
                }
            });
            respond(200, "text/event-stream", &[], Body::from_stream(stream))
        }
        Reply::Stall { keepalive_ms } => {
            let beat: &'static [u8] = match wire {
                Wire::Openai => b": OPENROUTER PROCESSING\n\n",
                Wire::Anthropic => b"event: ping\ndata: {\"type\": \"ping\"}\n\n",
            };
            let stream = futures_util::stream::unfold(0u64, move |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_millis(keepalive_ms.max(1))).await;
                }
                Some((Ok::<_, std::io::Error>(Bytes::from_static(beat)), n + 1))
            });
            respond(200, "text/event-stream", &[], Body::from_stream(stream))
        }
        Reply::StreamError {
            error_type,
            message,
            openrouter,
        } => {
            let events = sse_events(wire, &json, &Answer::text("partial"));
            let first = events[..lead_in(wire)].concat();
            let error = match (wire, openrouter) {
                (Wire::Openai, false) => format!(
                    "data: {}\n\n",
                    json!({"error": {"message": message, "type": error_type}})
                ),
                (Wire::Openai, true) => format!(
                    "data: {}\n\n",
                    json!({"id": "gen-1", "object": "chat.completion.chunk",
                           "error": {"code": error_type, "message": message},
                           "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})
                ),
                (Wire::Anthropic, _) => format!(
                    "event: error\ndata: {}\n\n",
                    json!({"type": "error", "error": {"type": error_type, "message": message}})
                ),
            };
            let body = first + &error;
            respond(200, "text/event-stream", &[], Body::from(body))
        }
    }
}

fn record(path: &str, headers: &HeaderMap, body: Value) -> Recorded {
    Recorded {
        path: path.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

/// A 401 when a key is required and the request does not carry it.
fn check_key(inner: &Inner, wire: Wire, headers: &HeaderMap) -> Option<Response> {
    let want = inner.required_key.as_deref()?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = match wire {
        Wire::Openai => header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Wire::Anthropic => header("x-api-key"),
    };
    if given == Some(want) {
        return None;
    }
    let body = match wire {
        Wire::Openai => json!({"error": {
            "message": "Incorrect API key provided.", "type": "invalid_request_error",
            "param": null, "code": "invalid_api_key",
        }}),
        Wire::Anthropic => json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            "request_id": "req_fake",
        }),
    };
    Some(respond(
        401,
        "application/json",
        &[],
        Body::from(body.to_string()),
    ))
}

fn respond(status: u16, content_type: &str, headers: &[(String, String)], body: Body) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if !content_type.is_empty() {
        r = r.header("content-type", content_type);
    }
    for (k, v) in headers {
        r = r.header(k.as_str(), v.as_str());
    }
    r.body(body).unwrap()
}

/// The default answer: echoes the last user text.
fn echo(request: &Value) -> Answer {
    let last = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str().or(b["content"].as_str()))
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        })
        .unwrap_or_default();
    Answer::text(&format!("echo: {last}"))
}

/// Splits text into word-sized pieces, the unit of pacing.
fn pieces(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split_inclusive(' ').collect()
}

fn usage_for(request: &Value, a: &Answer) -> FakeUsage {
    a.usage.clone().unwrap_or_else(|| FakeUsage {
        input: (request.to_string().len() as u64 / 4).max(1),
        output: (pieces(&a.text).len() + a.tool_calls.len() * 8) as u64,
        ..FakeUsage::default()
    })
}

/// The answer as complete SSE event texts, in order. The first one carries no content; the
/// time-to-first-token delay comes after it.
fn sse_events(wire: Wire, request: &Value, a: &Answer) -> Vec<String> {
    let model = request["model"]
        .as_str()
        .unwrap_or("fake-model")
        .to_string();
    let usage = usage_for(request, a);
    let mut out = Vec::new();
    let data = |v: Value| -> String {
        if a.shape.multiline_data {
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            pretty
                .lines()
                .map(|l| format!("data: {l}\n"))
                .collect::<String>()
                + "\n"
        } else {
            format!("data: {v}\n\n")
        }
    };
    match wire {
        Wire::Openai => {
            let chunk = |delta: Value, finish: Value| {
                json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1,
                       "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            out.push(data(chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
            )));
            for p in pieces(&a.text) {
                out.push(data(chunk(json!({"content": p}), Value::Null)));
            }
            // First fragments of every call, then their arguments interleaved by index.
            for (i, c) in a.tool_calls.iter().enumerate() {
                out.push(data(chunk(
                    json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                                           "function": {"name": c.name, "arguments": ""}}]}),
                    Value::Null,
                )));
            }
            let split: Vec<Vec<String>> = a
                .tool_calls
                .iter()
                .map(|c| split_chars(&c.arguments, 7))
                .collect();
            let rounds = split.iter().map(Vec::len).max().unwrap_or(0);
            for r in 0..rounds {
                for (i, parts) in split.iter().enumerate() {
                    if let Some(p) = parts.get(r) {
                        out.push(data(chunk(
                            json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                            Value::Null,
                        )));
                    }
                }
            }
            let finish = match a.finish {
                Finish::Truncated => "length",
                Finish::Refused => "content_filter",
                Finish::Natural if !a.tool_calls.is_empty() => "tool_calls",
                Finish::Natural => "stop",
            };
            let usage_json = json!({
                "prompt_tokens": usage.input + usage.cached,
                "completion_tokens": usage.output,
                "total_tokens": usage.input + usage.cached + usage.output,
                "prompt_tokens_details": {"cached_tokens": usage.cached},
            });
            let mut usage_json = usage_json;
            if let Some(cost) = usage.cost {
                usage_json["cost"] = json!(cost);
            }
            let mut last = chunk(json!({}), json!(finish));
            if usage.groq {
                last["x_groq"] = json!({"id": "req_fake", "usage": usage_json});
                out.push(data(last));
            } else {
                out.push(data(last));
                out.push(data(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                     "created": 1, "model": model, "choices": [], "usage": usage_json})));
            }
            out.push("data: [DONE]\n\n".to_string());
        }
        Wire::Anthropic => {
            let ev = |name: &str, v: Value| format!("event: {name}\n") + &data(v);
            out.push(ev("message_start", json!({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": usage.input, "cache_creation_input_tokens": usage.cache_write,
                          "cache_read_input_tokens": usage.cached, "output_tokens": 1}}})));
            let mut index = 0;
            if !a.text.is_empty() {
                out.push(ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
                ));
                out.push(ev("ping", json!({"type": "ping"})));
                for p in pieces(&a.text) {
                    out.push(ev(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": p}}),
                    ));
                }
                out.push(ev(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 0}),
                ));
                index += 1;
            }
            for c in &a.tool_calls {
                out.push(ev("content_block_start", json!({"type": "content_block_start", "index": index,
                    "content_block": {"type": "tool_use", "id": c.id, "name": c.name, "input": {}}})));
                for p in split_chars(&c.arguments, 7) {
                    out.push(ev(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": p}}),
                    ));
                }
                out.push(ev(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": index}),
                ));
                index += 1;
            }
            let stop = match a.finish {
                Finish::Truncated => "max_tokens",
                Finish::Refused => "refusal",
                Finish::Natural if !a.tool_calls.is_empty() => "tool_use",
                Finish::Natural => "end_turn",
            };
            out.push(ev(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"output_tokens": usage.output}}),
            ));
            out.push(ev("message_stop", json!({"type": "message_stop"})));
        }
    }
    if a.shape.comment {
        out.insert(0, ": OPENROUTER PROCESSING\n\n".to_string());
    }
    if a.shape.crlf {
        for e in &mut out {
            *e = e.replace('\n', "\r\n");
        }
    }
    out
}

/// How many events of a text answer reach its first text delta.
fn lead_in(wire: Wire) -> usize {
    match wire {
        Wire::Openai => 2,
        Wire::Anthropic => 4,
    }
}

fn split_chars(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

fn stream_answer(
    wire: Wire,
    request: &Value,
    a: Answer,
    timing: Timing,
    cut_after: Option<usize>,
) -> Response {
    let mut events = sse_events(wire, request, &a);
    if let Some(n) = cut_after {
        events.truncate(n);
    }
    let chunks: Vec<Vec<u8>> = match a.shape.split_every {
        Some(n) => events
            .concat()
            .into_bytes()
            .chunks(n.max(1))
            .map(<[u8]>::to_vec)
            .collect(),
        None => events.into_iter().map(String::into_bytes).collect(),
    };
    let ttft = Duration::from_millis(timing.ttft_ms);
    let gap =
        (timing.tokens_per_s > 0.0).then(|| Duration::from_secs_f64(1.0 / timing.tokens_per_s));
    let stream = futures_util::stream::unfold(
        (chunks.into_iter(), 0usize),
        move |(mut it, n)| async move {
            let chunk = it.next()?;
            if n == 1 && !ttft.is_zero() {
                tokio::time::sleep(ttft).await;
            } else if n > 1
                && let Some(gap) = gap
            {
                tokio::time::sleep(gap).await;
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), (it, n + 1)))
        },
    );
    respond(
        200,
        "text/event-stream",
        &a.headers,
        Body::from_stream(stream),
    )
}
