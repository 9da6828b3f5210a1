//! The OpenAI Chat Completions adapter (OpenAI, OpenRouter, Groq, Ollama, llama.cpp, vLLM,
//! LM Studio).
//!
//! Output limit: `max_completion_tokens` for api.openai.com (its newer models reject
//! `max_tokens`), `max_tokens` everywhere else (Groq, OpenRouter and the local servers all
//! accept it, several do not know the newer name). Decided from the base URL so that
//! providers stay plain data. Tool results that are errors are sent with an `ERROR: ` prefix,
//! since the format has no error flag.
//!
//! Prompt caching is automatic on this wire; a request's `cache_key` is sent as
//! `prompt_cache_key` so the calls of one conversation are routed to the same cache, to the
//! hosts that honour it (api.openai.com, OpenRouter) or where the provider's config says
//! `prompt_cache_key = true` (Groq, for one, refuses unknown fields with a 400). OpenAI takes
//! at most 64 characters: a longer key, or one with other characters than letters, digits and
//! `_.:/-`, is sent as a hash of itself.

use serde_json::{Value, json};

use super::driver::{self, Limits};
use super::http::{ApiKey, CallCtx, secs};
use super::openai_stream::OpenAiParser;
use super::sse::DEFAULT_MAX_EVENT_BYTES;
use super::{EventStream, Message, Provider, Request};
use crate::config::{NetworkConfig, ProviderConfig};

/// Attribution OpenRouter shows on its dashboards.
const OPENROUTER_REFERER: &str = "https://github.com/samocoder/samocoder";
const OPENROUTER_TITLE: &str = "samocoder";

#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    name: String,
    base_url: String,
    key_env: Option<String>,
    key: Option<ApiKey>,
    client: reqwest::Client,
    limits: Limits,
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
            name: provider.name.clone(),
            base_url: provider.base_url.trim_end_matches('/').to_string(),
            key_env: provider.key_env.clone(),
            key: key.filter(|k| !k.expose().is_empty()).map(ApiKey::new),
            client,
            limits: Limits {
                first_byte: secs(network.first_byte_timeout_s),
                idle: secs(network.idle_timeout_s),
                max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            },
            send_cache_key: false,
        };
        adapter.send_cache_key = provider
            .prompt_cache_key
            .unwrap_or_else(|| honours_cache_key(adapter.host()));
        adapter
    }

    /// The HTTP request for one call (nothing is sent until it is) and the size of its body.
    fn http_request(&self, request: &Request) -> (reqwest::RequestBuilder, u64) {
        let host = self.host();
        let style = if host == "api.openai.com" {
            TokenParam::MaxCompletionTokens
        } else {
            TokenParam::MaxTokens
        };
        let cache_key = request.cache_key.as_deref().filter(|_| self.send_cache_key);
        let body = serde_json::to_vec(&request_body(request, style, cache_key)).unwrap_or_default();
        let bytes = body.len() as u64;
        let mut http = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .header("accept", "text/event-stream")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.key {
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
        let rest = self
            .base_url
            .split_once("://")
            .map_or(&*self.base_url, |x| x.1);
        rest.split(['/', ':']).next().unwrap_or("")
    }
}

impl Provider for OpenAiAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn stream(&self, request: Request) -> EventStream {
        let ctx = CallCtx {
            provider: self.name.clone(),
            model: request.model.clone(),
            key_env: self.key_env.clone(),
            key: self.key.clone(),
        };
        if self.key.is_none() && self.key_env.is_some() {
            let err = ctx.no_key();
            return Box::pin(futures_util::stream::once(async move { Err(err) }));
        }
        let (http, bytes) = self.http_request(&request);
        driver::run(ctx, self.limits, http, bytes, OpenAiParser::default())
    }
}

/// Which name the output limit goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenParam {
    MaxCompletionTokens,
    MaxTokens,
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

/// The JSON body for `POST /chat/completions`. `cache_key`: sent as `prompt_cache_key`.
pub fn request_body(request: &Request, style: TokenParam, cache_key: Option<&str>) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for m in &request.messages {
        messages.push(match m {
            Message::User { content } => json!({"role": "user", "content": content}),
            Message::Assistant { text, tool_calls } => {
                let mut msg = json!({
                    "role": "assistant",
                    "content": if text.is_empty() { Value::Null } else { json!(text) },
                });
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
    if let Some(t) = request.temperature {
        body["temperature"] = temperature(t);
    }
    let limit = match style {
        TokenParam::MaxCompletionTokens => "max_completion_tokens",
        TokenParam::MaxTokens => "max_tokens",
    };
    body[limit] = json!(request.max_output_tokens);
    if let Some(key) = cache_key.and_then(wire_cache_key) {
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
