//! The OpenAI Chat Completions adapter (OpenAI, OpenRouter, Groq, Ollama, llama.cpp, vLLM,
//! LM Studio).
//!
//! Output limit: `max_completion_tokens` for api.openai.com (its newer models reject
//! `max_tokens`), `max_tokens` everywhere else (Groq, OpenRouter and the local servers all
//! accept it, several do not know the newer name). Decided from the base URL so that
//! providers stay plain data. Tool results that are errors are sent with an `ERROR: ` prefix,
//! since the format has no error flag.

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
        OpenAiAdapter {
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
        }
    }

    /// The HTTP request for one call (nothing is sent until it is).
    fn http_request(&self, request: &Request) -> reqwest::RequestBuilder {
        let host = self.host();
        let style = if host == "api.openai.com" {
            TokenParam::MaxCompletionTokens
        } else {
            TokenParam::MaxTokens
        };
        let mut http = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .header("accept", "text/event-stream")
            .json(&request_body(request, style));
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
        http
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
        let http = self.http_request(&request);
        driver::run(ctx, self.limits, http, OpenAiParser::default())
    }
}

/// Which name the output limit goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenParam {
    MaxCompletionTokens,
    MaxTokens,
}

/// The JSON body for `POST /chat/completions`.
pub fn request_body(request: &Request, style: TokenParam) -> Value {
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
        let provider = ProviderConfig {
            name: "p".into(),
            kind: WireKind::Openai,
            base_url: base_url.into(),
            key_env: Some("P_KEY".into()),
            free: false,
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
        };
        let http = a.http_request(&req).build().unwrap();
        let body = serde_json::from_slice(http.body().unwrap().as_bytes().unwrap()).unwrap();
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
}
