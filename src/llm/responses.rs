//! The OpenAI Responses adapter (`kind = "openai-responses"`, `POST {base}/responses`): the
//! wire where OpenAI serves its newest reasoning models best.
//!
//! Requests are stateless (`store: false`): the whole conversation goes in `input` each time,
//! like the other wires. The system prompt is `instructions`; tool calls are `function_call`
//! items and their results `function_call_output` items. With a `reasoning_effort` configured
//! the request asks for `reasoning: {effort, summary: "auto"}` and
//! `include: ["reasoning.encrypted_content"]`, and each answer's reasoning items come back as
//! reasoning blocks (format `openai_responses`) that are sent back in the next request, in
//! place, with their `encrypted_content`, so the model keeps its reasoning across tool calls.
//! `temperature` is only sent without reasoning (reasoning models reject it). A request's
//! `cache_key` goes out as `prompt_cache_key` (a parameter of this API; `prompt_cache_key =
//! false` in the provider's config leaves it out).

use serde_json::{Value, json};

use super::driver::{self, Limits};
use super::http::Endpoint;
use super::openai::{temperature, wire_cache_key};
use super::responses_stream::ResponsesParser;
use super::{EventStream, Message, Provider, ReasoningFormat, Request};
use crate::config::{ModelOptions, NetworkConfig, ProviderConfig, ReasoningEffort};

#[derive(Debug, Clone)]
pub struct ResponsesAdapter {
    endpoint: Endpoint,
    client: reqwest::Client,
    limits: Limits,
    options: ModelOptions,
    /// Send `Request.cache_key` as `prompt_cache_key`.
    send_cache_key: bool,
}

impl ResponsesAdapter {
    pub fn new(
        provider: &ProviderConfig,
        key: Option<crate::keys::Secret>,
        client: reqwest::Client,
        network: &NetworkConfig,
    ) -> Self {
        ResponsesAdapter {
            endpoint: Endpoint::new(provider, key),
            client,
            limits: Limits::for_network(network),
            options: ModelOptions::default(),
            send_cache_key: provider.prompt_cache_key.unwrap_or(true),
        }
    }

    /// With per-model settings (the reasoning effort).
    pub fn with_options(mut self, options: ModelOptions) -> Self {
        self.options = options;
        self
    }
}

impl Provider for ResponsesAdapter {
    fn name(&self) -> &str {
        &self.endpoint.name
    }

    fn stream(&self, request: Request) -> EventStream {
        let ctx = match self.endpoint.call_ctx(&request.model) {
            Ok(ctx) => ctx,
            Err(err) => return super::failed(err),
        };
        let mut body = request_body(&request, self.options.reasoning_effort);
        if self.send_cache_key
            && let Some(key) = request.cache_key.as_deref().and_then(wire_cache_key)
        {
            body["prompt_cache_key"] = json!(key);
        }
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let bytes = body.len() as u64;
        let mut http = self
            .client
            .post(format!("{}/responses", self.endpoint.base_url))
            .header("accept", "text/event-stream")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.endpoint.key
            && let Ok(mut value) =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        {
            value.set_sensitive(true);
            http = http.header(reqwest::header::AUTHORIZATION, value);
        }
        driver::run(ctx, self.limits, http, bytes, ResponsesParser::default())
    }
}

/// The JSON body for `POST /responses`.
pub fn request_body(request: &Request, effort: Option<ReasoningEffort>) -> Value {
    let mut input: Vec<Value> = Vec::with_capacity(request.messages.len());
    for m in &request.messages {
        match m {
            Message::User { content } => input.push(json!({"role": "user", "content": content})),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                for b in reasoning
                    .iter()
                    .filter(|b| b.format == ReasoningFormat::OpenaiResponses)
                {
                    // Without its encrypted content a stateless request cannot use the item.
                    let Some(data) = &b.data else { continue };
                    let mut item = json!({
                        "type": "reasoning",
                        "summary": if b.text.is_empty() {
                            json!([])
                        } else {
                            json!([{"type": "summary_text", "text": b.text}])
                        },
                        "encrypted_content": data,
                    });
                    if let Some(id) = &b.id {
                        item["id"] = json!(id);
                    }
                    input.push(item);
                }
                if !text.is_empty() {
                    input.push(json!({"role": "assistant", "content": text}));
                }
                for c in tool_calls {
                    input.push(json!({
                        "type": "function_call",
                        "call_id": c.id,
                        "name": c.name,
                        "arguments": c.arguments,
                    }));
                }
            }
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => input.push(json!({
                "type": "function_call_output",
                "call_id": call_id,
                "output": if *is_error { format!("ERROR: {content}") } else { content.clone() },
            })),
        }
    }
    let mut body = json!({
        "model": request.model,
        "input": input,
        "stream": true,
        "store": false,
        "max_output_tokens": request.max_output_tokens,
    });
    if !request.system.is_empty() {
        body["instructions"] = json!(request.system);
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                })
            })
            .collect();
    }
    match effort {
        Some(e) => {
            body["reasoning"] = json!({"effort": e.as_str(), "summary": "auto"});
            body["include"] = json!(["reasoning.encrypted_content"]);
        }
        None => {
            if let Some(t) = request.temperature {
                body["temperature"] = temperature(t);
            }
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ReasoningBlock, ToolCall};

    #[test]
    fn reasoning_items_go_back_before_the_calls_they_led_to() {
        let mut block = ReasoningBlock::text(ReasoningFormat::OpenaiResponses, "plan");
        block.id = Some("rs_1".into());
        block.data = Some("ENC".into());
        let foreign = ReasoningBlock::text(ReasoningFormat::Text, "not mine");
        let req = Request {
            model: "o4-mini".into(),
            system: "sys".into(),
            messages: vec![
                Message::User {
                    content: "hi".into(),
                },
                Message::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "read_file".into(),
                        arguments: "{\"path\":\"a\"}".into(),
                    }],
                    reasoning: vec![block, foreign],
                },
                Message::ToolResult {
                    call_id: "call_1".into(),
                    content: "nope".into(),
                    is_error: true,
                },
            ],
            tools: vec![],
            max_output_tokens: 100,
            temperature: Some(0.2),
            cache_key: None,
        };
        let body = request_body(&req, Some(ReasoningEffort::High));
        let input = body["input"].as_array().unwrap();
        assert_eq!(input.len(), 4);
        assert_eq!(input[1]["type"], "reasoning");
        assert_eq!(input[1]["encrypted_content"], "ENC");
        assert_eq!(input[1]["id"], "rs_1");
        assert_eq!(input[2]["type"], "function_call");
        assert_eq!(input[3]["output"], "ERROR: nope");
        assert_eq!(body["reasoning"]["effort"], "high");
        assert_eq!(body["store"], false);
        assert!(body.get("temperature").is_none());
        assert_eq!(body["instructions"], "sys");
        let plain = request_body(&req, None);
        assert_eq!(plain["temperature"], 0.2);
        assert!(plain.get("include").is_none());
    }
}
