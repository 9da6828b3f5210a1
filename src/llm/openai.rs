//! The OpenAI Chat Completions adapter (OpenAI, OpenRouter, Groq, Ollama, llama.cpp, vLLM,
//! LM Studio).
//!
//! Output limit: `max_completion_tokens` for api.openai.com (its newer models reject
//! `max_tokens`), `max_tokens` everywhere else (Groq, OpenRouter and the local servers all
//! accept it, several do not know the newer name). Decided from the base URL so that
//! providers stay plain data. Tool results that are errors are sent with an `ERROR: ` prefix,
//! since the format has no error flag.
//!
//! Reasoning: a configured `reasoning_effort` is sent as `reasoning_effort` (OpenAI, Groq,
//! others) or `reasoning: {effort}` (OpenRouter), switches to `max_completion_tokens`, and
//! drops `temperature` (reasoning models reject it). Reasoning text a model produced is never
//! sent back (DeepSeek rejects `reasoning_content` in input); OpenRouter's `reasoning_details`
//! are, as OpenRouter asks, so Anthropic models behind it keep their signed thinking.
//!
//! An assistant turn is never sent as `content: null` without `tool_calls` (llama-cpp-python
//! answers such a conversation with HTTP 500): an empty answer goes as `content: ""`.
//!
//! Local servers (loopback base URL): before the first request to a model its context window
//! and tool-call support are looked up ([`super::local`]); a prompt that cannot fit fails with
//! `ContextLength` before anything is sent, and the output limit is lowered so prompt plus
//! output stay inside the window.
//!
//! Prompt caching is automatic on this wire; a request's `cache_key` is sent as
//! `prompt_cache_key` so the calls of one conversation are routed to the same cache, to the
//! hosts that honour it (api.openai.com, OpenRouter) or where the provider's config says
//! `prompt_cache_key = true` (Groq, for one, refuses unknown fields with a 400). OpenAI takes
//! at most 64 characters: a longer key, or one with other characters than letters, digits and
//! `_.:/-`, is sent as a hash of itself.

use serde_json::{Value, json};

use std::sync::Arc;

use futures_util::StreamExt;

use super::driver::{self, Limits};
use super::http::Endpoint;
use super::local::{LocalProbe, fit_local};
use super::openai_stream::{CallShape, OpenAiParser};
use super::usage::estimate_tokens;
use super::{EventStream, Message, Provider, ReasoningFormat, Request};
use crate::config::{ModelOptions, NetworkConfig, ProviderConfig, ReasoningEffort};

/// Attribution OpenRouter shows on its dashboards.
const OPENROUTER_REFERER: &str = "https://github.com/samocoder/samocoder";
const OPENROUTER_TITLE: &str = "samocoder";

#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    endpoint: Endpoint,
    client: reqwest::Client,
    limits: Limits,
    options: ModelOptions,
    /// Set for local servers: discovers context window and tool support.
    probe: Option<Arc<LocalProbe>>,
    /// Send `Request.cache_key` as `prompt_cache_key`.
    send_cache_key: bool,
}

/// Hosts known to honour `prompt_cache_key`.
fn honours_cache_key(host: &str) -> bool {
    host == "api.openai.com" || host == "openrouter.ai" || host.ends_with(".openrouter.ai")
}

impl OpenAiAdapter {
    /// `key` is `None` for keyless local servers; a provider with a `key_env` but no key fails
    /// each call with `NoKey`.
    pub fn new(
        provider: &ProviderConfig,
        key: Option<crate::keys::Secret>,
        client: reqwest::Client,
        network: &NetworkConfig,
    ) -> Self {
        let mut adapter = OpenAiAdapter {
            endpoint: Endpoint::new(provider, key),
            client,
            limits: Limits::for_network(network),
            options: ModelOptions::default(),
            probe: None,
            send_cache_key: false,
        };
        adapter.send_cache_key = provider
            .prompt_cache_key
            .unwrap_or_else(|| honours_cache_key(adapter.host()));
        adapter
    }

    /// With per-model settings (reasoning effort, context window).
    pub fn with_options(mut self, options: ModelOptions) -> Self {
        self.options = options;
        self
    }

    /// Looks up a local server's context window and tool support before the first call.
    pub fn with_probe(mut self, probe: Option<Arc<LocalProbe>>) -> Self {
        self.probe = probe;
        self
    }

    fn wire_options(&self) -> WireOptions {
        let host = self.host();
        let openrouter = host == "openrouter.ai" || host.ends_with(".openrouter.ai");
        let effort = self.options.reasoning_effort;
        WireOptions {
            token_param: if host == "api.openai.com" || (effort.is_some() && !openrouter) {
                TokenParam::MaxCompletionTokens
            } else {
                TokenParam::MaxTokens
            },
            effort,
            openrouter,
            cache_key: self.send_cache_key,
        }
    }

    /// The HTTP request for one call (nothing is sent until it is) and the size of its body.
    fn http_request(&self, request: &Request) -> (reqwest::RequestBuilder, u64) {
        let host = self.host().to_string();
        let body =
            serde_json::to_vec(&request_body(request, &self.wire_options())).unwrap_or_default();
        let bytes = body.len() as u64;
        let mut http = self
            .client
            .post(format!("{}/chat/completions", self.endpoint.base_url))
            .header("accept", "text/event-stream")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.endpoint.key {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                    .unwrap_or_else(|_| {
                        reqwest::header::HeaderValue::from_static("Bearer invalid")
                    });
            value.set_sensitive(true);
            http = http.header(reqwest::header::AUTHORIZATION, value);
        }
        if host == "openrouter.ai" || host.ends_with(".openrouter.ai") {
            http = http
                .header("HTTP-Referer", OPENROUTER_REFERER)
                .header("X-Title", OPENROUTER_TITLE);
        }
        (http, bytes)
    }

    fn host(&self) -> &str {
        let base = &*self.endpoint.base_url;
        let rest = base.split_once("://").map_or(base, |x| x.1);
        rest.split(['/', ':']).next().unwrap_or("")
    }
}

impl Provider for OpenAiAdapter {
    fn name(&self) -> &str {
        &self.endpoint.name
    }

    fn stream(&self, request: Request) -> EventStream {
        let ctx = match self.endpoint.call_ctx(&request.model) {
            Ok(ctx) => ctx,
            Err(err) => return super::failed(err),
        };
        let this = self.clone();
        let limits = self.limits;
        Box::pin(
            futures_util::stream::once(async move {
                let mut request = request;
                let mut notices = Vec::new();
                let mut window = this.options.context_window;
                if let Some(probe) = &this.probe {
                    let fit = fit_local(probe, &ctx, &mut request, window).await;
                    match fit {
                        Ok(f) => {
                            window = f.window;
                            notices = f.notices;
                        }
                        Err(e) => {
                            return super::failed(e);
                        }
                    }
                }
                let shape = CallShape {
                    max_output_tokens: request.max_output_tokens,
                    prompt_tokens: estimate_tokens(
                        serde_json::to_vec(&request.messages).map_or(0, |v| v.len() as u64)
                            + request.system.len() as u64,
                    ),
                    context_window: window,
                };
                let (http, bytes) = this.http_request(&request);
                let notices = futures_util::stream::iter(
                    notices
                        .into_iter()
                        .map(|message| Ok(super::StreamEvent::Notice { message })),
                );
                notices
                    .chain(driver::run(
                        ctx,
                        limits,
                        http,
                        bytes,
                        OpenAiParser::new(shape),
                    ))
                    .boxed()
            })
            .flatten(),
        )
    }
}

/// Which name the output limit goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenParam {
    MaxCompletionTokens,
    MaxTokens,
}

/// How a request is written for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireOptions {
    pub token_param: TokenParam,
    pub effort: Option<ReasoningEffort>,
    /// OpenRouter spells reasoning `reasoning: {effort}` and takes `reasoning_details` back.
    pub openrouter: bool,
    /// Send the request's `cache_key` as `prompt_cache_key`.
    pub cache_key: bool,
}

impl WireOptions {
    pub fn plain(token_param: TokenParam) -> WireOptions {
        WireOptions {
            token_param,
            effort: None,
            openrouter: false,
            cache_key: false,
        }
    }
}

/// `prompt_cache_key` as sent: the key itself when OpenAI accepts it (1 to 64 of
/// `A-Z a-z 0-9 _ . : / -`), else `sc-` and 32 hex digits of its SHA-256 (stable, and no
/// longer than the limit); `None` for an empty key.
pub fn wire_cache_key(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let plain = key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b));
    if plain {
        return Some(key.to_string());
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("sc-{hex}"))
}

/// The JSON body for `POST /chat/completions`.
pub fn request_body(request: &Request, opts: &WireOptions) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for m in &request.messages {
        messages.push(match m {
            Message::User { content } => json!({"role": "user", "content": content}),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                // `null` content is only valid beside tool calls (llama-cpp-python rejects
                // the whole conversation otherwise).
                let content = if text.is_empty() && !tool_calls.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                };
                let mut msg = json!({"role": "assistant", "content": content});
                if opts.openrouter {
                    let details: Vec<Value> = reasoning
                        .iter()
                        .filter(|b| b.format == ReasoningFormat::Openrouter)
                        .filter_map(|b| b.raw.as_ref())
                        .flat_map(|raw| match raw {
                            Value::Array(items) => items.clone(),
                            other => vec![other.clone()],
                        })
                        .collect();
                    if !details.is_empty() {
                        msg["reasoning_details"] = Value::Array(details);
                    }
                }
                if !tool_calls.is_empty() {
                    msg["tool_calls"] = tool_calls
                        .iter()
                        .map(|c| {
                            json!({
                                "id": c.id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            })
                        })
                        .collect();
                }
                msg
            }
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => json!({
                "role": "tool",
                "tool_call_id": call_id,
                "content": if *is_error { format!("ERROR: {content}") } else { content.clone() },
            }),
        });
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                })
            })
            .collect();
    }
    match opts.effort {
        // Reasoning models reject `temperature`.
        Some(effort) if opts.openrouter => body["reasoning"] = json!({"effort": effort.as_str()}),
        Some(effort) => body["reasoning_effort"] = json!(effort.as_str()),
        None => {
            if let Some(t) = request.temperature {
                body["temperature"] = temperature(t);
            }
        }
    }
    let limit = match opts.token_param {
        TokenParam::MaxCompletionTokens => "max_completion_tokens",
        TokenParam::MaxTokens => "max_tokens",
    };
    body[limit] = json!(request.max_output_tokens);
    if opts.cache_key
        && let Some(key) = request.cache_key.as_deref().and_then(wire_cache_key)
    {
        body["prompt_cache_key"] = json!(key);
    }
    body
}

/// An `f32` temperature as the JSON number the user wrote (`0.2`, not `0.20000000298`).
pub(crate) fn temperature(t: f32) -> Value {
    let shortest: f64 = t.to_string().parse().unwrap_or(f64::from(t));
    json!(shortest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WireKind;

    fn built(base_url: &str) -> (reqwest::Request, Value) {
        built_with(base_url, None, Some("task:7"))
    }

    fn built_with(
        base_url: &str,
        prompt_cache_key: Option<bool>,
        cache_key: Option<&str>,
    ) -> (reqwest::Request, Value) {
        let provider = ProviderConfig {
            name: "p".into(),
            kind: WireKind::Openai,
            base_url: base_url.into(),
            key_env: Some("P_KEY".into()),
            free: false,
            prompt_cache_key,
        };
        let network = NetworkConfig {
            connect_timeout_s: 1.0,
            first_byte_timeout_s: 1.0,
            idle_timeout_s: 1.0,
            max_retries: 0,
            max_retry_wait_s: 1.0,
            breaker_failures: 1,
            breaker_cooldown_s: 1.0,
            max_answer_bytes: 1 << 20,
            max_answer_s: 60.0,
        };
        let a = OpenAiAdapter::new(
            &provider,
            Some(crate::keys::Secret::new("k")),
            reqwest::Client::new(),
            &network,
        );
        let req = Request {
            model: "m".into(),
            system: String::new(),
            messages: vec![],
            tools: vec![],
            max_output_tokens: 10,
            temperature: None,
            cache_key: cache_key.map(str::to_string),
        };
        let (http, bytes) = a.http_request(&req);
        let http = http.build().unwrap();
        let raw = http.body().unwrap().as_bytes().unwrap();
        assert_eq!(bytes, raw.len() as u64, "the size reported is the body's");
        let body = serde_json::from_slice(raw).unwrap();
        (http, body)
    }

    #[test]
    fn token_parameter_and_openrouter_attribution_follow_the_host() {
        let (http, body) = built("https://api.openai.com/v1");
        assert_eq!(body["max_completion_tokens"], 10);
        assert!(body.get("max_tokens").is_none());
        assert!(http.headers().get("x-title").is_none());
        assert!(http.headers()["authorization"].is_sensitive());

        let (http, body) = built("https://openrouter.ai/api/v1/");
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(http.headers()["x-title"], OPENROUTER_TITLE);
        assert_eq!(http.headers()["http-referer"], OPENROUTER_REFERER);
        assert_eq!(
            http.url().as_str(),
            "https://openrouter.ai/api/v1/chat/completions"
        );
    }

    #[test]
    fn prompt_cache_key_goes_only_where_it_is_honoured() {
        for (url, sent) in [
            ("https://api.openai.com/v1", true),
            ("https://openrouter.ai/api/v1", true),
            // Groq answers an unknown field with a 400; local servers do not use it.
            ("https://api.groq.com/openai/v1", false),
            ("http://localhost:11434/v1", false),
        ] {
            let (_, body) = built(url);
            assert_eq!(body.get("prompt_cache_key").is_some(), sent, "{url}");
            if sent {
                assert_eq!(body["prompt_cache_key"], "task:7");
            }
        }
        // The provider's config decides when it says so.
        let (_, body) = built_with("http://127.0.0.1:4000/v1", Some(true), Some("task:7"));
        assert_eq!(body["prompt_cache_key"], "task:7");
        let (_, body) = built_with("https://api.openai.com/v1", Some(false), Some("task:7"));
        assert!(body.get("prompt_cache_key").is_none());
        // No key on the request: nothing sent.
        let (_, body) = built_with("https://api.openai.com/v1", None, None);
        assert!(body.get("prompt_cache_key").is_none());
    }

    #[test]
    fn openai_prompt_cache_key_over_64_chars_is_hashed_not_refused() {
        let long = "project:12345/thread:".to_string() + &"x".repeat(60);
        let k = wire_cache_key(&long).unwrap();
        assert!(k.starts_with("sc-") && k.len() == 35, "{k}");
        assert_eq!(wire_cache_key(&long), Some(k.clone()), "stable");
        assert_ne!(wire_cache_key(&(long + "y")), Some(k));
        assert_eq!(wire_cache_key("task:7").as_deref(), Some("task:7"));
        assert_eq!(wire_cache_key("p12/task:3").as_deref(), Some("p12/task:3"));
        assert_eq!(wire_cache_key(&"a".repeat(64)), Some("a".repeat(64)));
        assert!(wire_cache_key(&"a".repeat(65)).unwrap().starts_with("sc-"));
        // A space, a quote or a non-ASCII letter is not sent as it is.
        for odd in ["task 3", "a\"b", "tâche"] {
            assert!(wire_cache_key(odd).unwrap().starts_with("sc-"), "{odd}");
        }
        assert_eq!(wire_cache_key(""), None);
    }
}

#[cfg(test)]
mod reasoning_tests {
    use super::*;
    use crate::llm::{ReasoningBlock, ToolCall};

    fn req() -> Request {
        Request {
            model: "o4-mini".into(),
            system: String::new(),
            messages: vec![
                Message::User {
                    content: "hi".into(),
                },
                Message::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "c1".into(),
                        name: "read_file".into(),
                        arguments: "{}".into(),
                    }],
                    reasoning: vec![
                        ReasoningBlock::text(ReasoningFormat::Text, "private"),
                        ReasoningBlock {
                            raw: Some(
                                json!([{"type": "reasoning.text", "text": "t", "signature": "S", "index": 0}]),
                            ),
                            ..ReasoningBlock::text(ReasoningFormat::Openrouter, "t")
                        },
                    ],
                },
            ],
            tools: vec![],
            max_output_tokens: 100,
            temperature: Some(0.5),
            cache_key: None,
        }
    }

    #[test]
    fn reasoning_effort_uses_max_completion_tokens_and_drops_temperature() {
        let opts = WireOptions {
            token_param: TokenParam::MaxCompletionTokens,
            effort: Some(ReasoningEffort::High),
            openrouter: false,
            cache_key: false,
        };
        let body = request_body(&req(), &opts);
        assert_eq!(body["reasoning_effort"], "high");
        assert_eq!(body["max_completion_tokens"], 100);
        assert!(body.get("temperature").is_none());
        assert!(body.get("max_tokens").is_none());
        // Reasoning text is never sent back (DeepSeek rejects it).
        assert!(!body.to_string().contains("private"));
        assert!(body["messages"][1].get("reasoning_details").is_none());
    }

    #[test]
    fn openrouter_gets_reasoning_effort_and_its_details_back() {
        let opts = WireOptions {
            token_param: TokenParam::MaxTokens,
            effort: Some(ReasoningEffort::Low),
            openrouter: true,
            cache_key: false,
        };
        let body = request_body(&req(), &opts);
        assert_eq!(body["reasoning"]["effort"], "low");
        assert_eq!(
            body["messages"][1]["reasoning_details"][0]["signature"],
            "S"
        );
        assert_eq!(
            body["messages"][1]["content"],
            Value::Null,
            "null beside tool calls"
        );
        let plain = request_body(&req(), &WireOptions::plain(TokenParam::MaxTokens));
        assert_eq!(plain["temperature"], 0.5);
        assert!(plain.get("reasoning").is_none());
    }
}
