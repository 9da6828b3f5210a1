//! The Anthropic Messages adapter.
//!
//! Prompt caching: `cache_control: {"type": "ephemeral"}` marks up to four breakpoints, the
//! API's limit: the last tool definition and the system prompt (the prefix every call of a
//! task shares), the conversation's last message (so the next turn reads this turn's prefix
//! from the cache instead of paying for it again) and the user turn before it (the prefix the
//! previous call wrote, found even when more than the API's 20-block look-back was added
//! since). Consecutive tool results (and a user text right after
//! them) are merged into one user message, as the format requires alternating roles. An
//! assistant tool call whose recorded arguments are not a JSON object is replayed with `{}`:
//! the format only accepts objects, and the tool result that follows already told the model
//! what was wrong.
//!
//! Extended thinking (`thinking_budget_tokens` in the model's settings): the request carries
//! `thinking: {type: "enabled", budget_tokens}`, `max_tokens` becomes the output limit plus the
//! budget, and `temperature` is left out (the API rejects it with thinking). Every assistant
//! turn's Anthropic reasoning blocks go back first in its content, unchanged (`thinking` with
//! its `signature`, `redacted_thinking` with its `data`), as the API requires across tool-use
//! turns. A conversation whose open tool-use turn has no thinking block (recorded without it,
//! or answered by another provider after a fallback) is sent without `thinking`: the API would
//! reject it otherwise.

use serde_json::{Value, json};

use super::anthropic_stream::AnthropicParser;
use super::driver::{self, Limits};
use super::http::Endpoint;
use super::openai::temperature;
use super::{EventStream, Message, Provider, ReasoningFormat, Request};
use crate::config::{ModelOptions, NetworkConfig, ProviderConfig};

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    endpoint: Endpoint,
    client: reqwest::Client,
    limits: Limits,
    options: ModelOptions,
}

impl AnthropicAdapter {
    pub fn new(
        provider: &ProviderConfig,
        key: Option<crate::keys::Secret>,
        client: reqwest::Client,
        network: &NetworkConfig,
    ) -> Self {
        AnthropicAdapter {
            endpoint: Endpoint::new(provider, key),
            client,
            limits: Limits::for_network(network),
            options: ModelOptions::default(),
        }
    }

    /// With per-model settings (the thinking budget).
    pub fn with_options(mut self, options: ModelOptions) -> Self {
        self.options = options;
        self
    }
}

impl Provider for AnthropicAdapter {
    fn name(&self) -> &str {
        &self.endpoint.name
    }

    fn stream(&self, request: Request) -> EventStream {
        let ctx = match self.endpoint.call_ctx(&request.model) {
            Ok(ctx) => ctx,
            Err(err) => return super::failed(err),
        };
        let body = serde_json::to_vec(&request_body_with(
            &request,
            self.options.thinking_budget_tokens,
        ))
        .unwrap_or_default();
        let bytes = body.len() as u64;
        let mut http = self
            .client
            .post(format!("{}/messages", self.endpoint.base_url))
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header("accept", "text/event-stream")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.endpoint.key
            && let Ok(mut value) = reqwest::header::HeaderValue::from_str(key.expose())
        {
            value.set_sensitive(true);
            http = http.header("x-api-key", value);
        }
        driver::run(ctx, self.limits, http, bytes, AnthropicParser::default())
    }
}

/// The JSON body for `POST /messages` without thinking.
pub fn request_body(request: &Request) -> Value {
    request_body_with(request, None)
}

/// Whether the conversation ends in a tool-use turn (the last assistant message has tool
/// calls and only tool results or user text follow) whose assistant message has no thinking
/// block: the API refuses thinking for such a request.
fn open_turn_lacks_thinking(request: &Request) -> bool {
    let Some(last) = request
        .messages
        .iter()
        .rposition(|m| matches!(m, Message::Assistant { .. }))
    else {
        return false;
    };
    match &request.messages[last] {
        Message::Assistant {
            tool_calls,
            reasoning,
            ..
        } => {
            !tool_calls.is_empty()
                && request.messages[last + 1..]
                    .iter()
                    .any(|m| matches!(m, Message::ToolResult { .. }))
                && !reasoning
                    .iter()
                    .any(|b| b.format == ReasoningFormat::Anthropic)
        }
        _ => false,
    }
}

/// The JSON body for `POST /messages`; `thinking` is the thinking budget, if any.
pub fn request_body_with(request: &Request, thinking: Option<u32>) -> Value {
    let thinking = thinking.filter(|_| !open_turn_lacks_thinking(request));
    let mut messages: Vec<Value> = Vec::with_capacity(request.messages.len());
    for m in &request.messages {
        let (role, blocks) = match m {
            Message::User { content } => ("user", text_block(content)),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                // Signed reasoning first, byte for byte, as the API requires.
                let mut blocks: Vec<Value> = reasoning
                    .iter()
                    .filter(|b| b.format == ReasoningFormat::Anthropic)
                    .filter_map(|b| match (&b.signature, &b.data) {
                        (Some(sig), _) => Some(json!({
                            "type": "thinking", "thinking": b.text, "signature": sig,
                        })),
                        (None, Some(data)) => {
                            Some(json!({"type": "redacted_thinking", "data": data}))
                        }
                        // Unsigned thinking cannot be verified by the API: dropped.
                        (None, None) => None,
                    })
                    .collect();
                blocks.extend(text_block(text));
                for c in tool_calls {
                    let input = match serde_json::from_str::<Value>(&c.arguments) {
                        Ok(v @ Value::Object(_)) => v,
                        _ => json!({}),
                    };
                    blocks.push(json!({
                        "type": "tool_use", "id": c.id, "name": c.name, "input": input,
                    }));
                }
                ("assistant", blocks)
            }
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let mut block = json!({
                    "type": "tool_result", "tool_use_id": call_id, "content": content,
                });
                if *is_error {
                    block["is_error"] = json!(true);
                }
                ("user", vec![block])
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(content) = last["content"].as_array_mut() {
                    content.extend(blocks);
                }
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    mark_cached_turns(&mut messages);
    let max_tokens = match thinking {
        Some(budget) => request.max_output_tokens.saturating_add(budget),
        None => request.max_output_tokens,
    };
    let mut body = json!({
        "model": request.model,
        "max_tokens": max_tokens,
        "messages": messages,
        "stream": true,
    });
    if let Some(budget) = thinking {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
    }
    if !request.system.is_empty() {
        body["system"] = json!([{
            "type": "text",
            "text": request.system,
            "cache_control": {"type": "ephemeral"},
        }]);
    }
    if !request.tools.is_empty() {
        let mut tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.parameters,
                })
            })
            .collect();
        if let Some(last) = tools.last_mut() {
            last["cache_control"] = json!({"type": "ephemeral"});
        }
        body["tools"] = Value::Array(tools);
    }
    if let Some(t) = request.temperature
        && thinking.is_none()
    {
        body["temperature"] = temperature(t);
    }
    body
}

/// Most `cache_control` breakpoints the API accepts in one request.
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// Breakpoints on the last message and on the user turn before it (two of the four: the
/// other two are the last tool and the system prompt).
fn mark_cached_turns(messages: &mut [Value]) {
    let Some(last) = messages.len().checked_sub(1) else {
        return;
    };
    let previous_user = messages[..last].iter().rposition(|m| m["role"] == "user");
    for i in [Some(last), previous_user].into_iter().flatten() {
        mark_last_block(&mut messages[i]);
    }
}

/// `cache_control` on the message's last block that may carry one (not a thinking block).
fn mark_last_block(message: &mut Value) {
    let Some(blocks) = message["content"].as_array_mut() else {
        return;
    };
    if let Some(block) = blocks
        .iter_mut()
        .rev()
        .find(|b| !matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")))
    {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
}

/// A text block, or none for empty text (the API rejects empty text blocks).
fn text_block(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::llm::{ToolCall, ToolDef};

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            "[a-z ]{0,8}".prop_map(|content| Message::User { content }),
            ("[a-z ]{0,8}", 0usize..3).prop_map(|(text, n)| Message::Assistant {
                text,
                tool_calls: (0..n)
                    .map(|i| ToolCall {
                        id: format!("c{i}"),
                        name: "read_file".into(),
                        arguments: "{}".into(),
                    })
                    .collect(),
                reasoning: vec![],
            }),
            ("c[0-2]", "[a-z]{0,4}", any::<bool>()).prop_map(|(call_id, content, is_error)| {
                Message::ToolResult {
                    call_id,
                    content,
                    is_error,
                }
            }),
        ]
    }

    fn marks(body: &Value) -> Vec<String> {
        let mut at = Vec::new();
        if body["system"][0].get("cache_control").is_some() {
            at.push("system".to_string());
        }
        for t in body["tools"].as_array().into_iter().flatten() {
            if t.get("cache_control").is_some() {
                at.push(format!("tool {}", t["name"]));
            }
        }
        for (i, m) in body["messages"].as_array().unwrap().iter().enumerate() {
            for (j, b) in m["content"].as_array().unwrap().iter().enumerate() {
                if b.get("cache_control").is_some() {
                    at.push(format!("message {i} block {j}"));
                }
            }
        }
        at
    }

    proptest! {
        /// Any conversation: at most four breakpoints, the last message's last block always
        /// carries one, and the text of the body is otherwise what the messages say.
        #[test]
        fn breakpoints_stay_within_the_api_limit_and_end_on_the_last_message(
            messages in proptest::collection::vec(message(), 0..12),
            system in any::<bool>(),
            tools in 0usize..3,
        ) {
            let request = Request {
                model: "m".into(),
                system: if system { "be brief".into() } else { String::new() },
                messages,
                tools: (0..tools)
                    .map(|i| ToolDef {
                        name: format!("t{i}"),
                        description: String::new(),
                        parameters: json!({"type": "object"}),
                    })
                    .collect(),
                max_output_tokens: 10,
                temperature: None,
                cache_key: None,
            };
            let body = request_body(&request);
            let at = marks(&body);
            prop_assert!(at.len() <= MAX_CACHE_BREAKPOINTS, "{at:?}");
            let sent = body["messages"].as_array().unwrap();
            if let Some(last) = sent.last() {
                let blocks = last["content"].as_array().unwrap();
                prop_assert!(blocks.last().unwrap().get("cache_control").is_some(), "{body}");
                let message_marks = at.iter().filter(|a| a.starts_with("message")).count();
                prop_assert!(message_marks <= 2, "{at:?}");
            } else {
                prop_assert!(at.iter().all(|a| !a.starts_with("message")));
            }
        }
    }

    #[test]
    fn thinking_blocks_never_carry_a_breakpoint() {
        let mut messages = vec![json!({"role": "assistant", "content": [
            {"type": "text", "text": "x"},
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
        ]})];
        mark_cached_turns(&mut messages);
        assert!(messages[0]["content"][1].get("cache_control").is_none());
        assert!(messages[0]["content"][0].get("cache_control").is_some());
    }
}
