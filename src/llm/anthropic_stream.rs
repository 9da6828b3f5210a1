//! Parsing an Anthropic Messages stream into [`StreamEvent`]s.
//!
//! End of answer: `message_stop`. Anything before it that ends the body is a cut. `Usage` and
//! `Finish` are emitted together at `message_stop`. Anthropic's `input_tokens` already excludes
//! cache reads and writes, so it maps straight to `input_tokens`.
//!
//! Extended thinking: `thinking` blocks stream `thinking_delta` text and one `signature_delta`;
//! `redacted_thinking` blocks carry opaque `data`. Each becomes a [`ReasoningBlock`] (format
//! `anthropic`) to be sent back unchanged. `stop_reason: refusal` comes with `stop_details`
//! (`category`, `explanation`), whose explanation is the refusal text. A whole `message` JSON
//! in answer to `stream: true` is accepted.

use std::collections::BTreeMap;

use serde_json::Value;

use super::classify::ErrorBody;
use super::driver::WireParser;
use super::http::CallCtx;
use super::sse::SseEvent;
use super::{
    ErrorClass, FinishReason, LlmError, ReasoningBlock, ReasoningFormat, StreamEvent, ToolCall,
    Usage,
};

#[derive(Debug)]
struct ToolBlock {
    id: String,
    name: String,
    /// `input` of `content_block_start`, used when no `input_json_delta` follows.
    initial: String,
    arguments: String,
    ended: bool,
}

#[derive(Debug, Default)]
pub(crate) struct AnthropicParser {
    tools: BTreeMap<usize, ToolBlock>,
    /// Thinking blocks being streamed, by index.
    thinking: BTreeMap<usize, ReasoningBlock>,
    usage: Usage,
    stop: Option<FinishReason>,
    refusal: Option<String>,
    done: bool,
}

impl WireParser for AnthropicParser {
    fn on_event(
        &mut self,
        ev: &SseEvent,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        if ev.event == "ping" {
            return Ok(());
        }
        let data: Value = serde_json::from_str(&ev.data).map_err(|e| {
            ctx.err(
                ErrorClass::InvalidResponse,
                format!("the answer stream held an event that is not JSON: {e}"),
            )
        })?;
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&ev.event);
        let index = data.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        match kind {
            "error" => {
                let body = ErrorBody::from_value(&data).unwrap_or_default();
                return Err(ctx.stream_error(&body));
            }
            "message_start" => {
                if let Some(u) = data.pointer("/message/usage") {
                    self.merge_usage(u);
                }
            }
            "content_block_start" => {
                let block = data.get("content_block").unwrap_or(&Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(text) = block.get("text").and_then(Value::as_str)
                            && !text.is_empty()
                        {
                            out.push(StreamEvent::TextDelta {
                                text: text.to_string(),
                            });
                        }
                    }
                    Some("thinking") => {
                        let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                        let mut b = ReasoningBlock::text(ReasoningFormat::Anthropic, text);
                        b.signature = block
                            .get("signature")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string);
                        if !text.is_empty() {
                            out.push(StreamEvent::ReasoningDelta {
                                text: text.to_string(),
                            });
                        }
                        self.thinking.insert(index, b);
                    }
                    Some("redacted_thinking") => {
                        let mut b = ReasoningBlock::text(ReasoningFormat::Anthropic, "");
                        b.data = block
                            .get("data")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        self.thinking.insert(index, b);
                    }
                    Some("tool_use") => {
                        let field = |k: &str| {
                            block
                                .get(k)
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        let initial = match block.get("input") {
                            Some(v @ Value::Object(m)) if !m.is_empty() => v.to_string(),
                            _ => String::new(),
                        };
                        let tool = ToolBlock {
                            id: field("id"),
                            name: field("name"),
                            initial,
                            arguments: String::new(),
                            ended: false,
                        };
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: tool.id.clone(),
                            name: tool.name.clone(),
                        });
                        self.tools.insert(index, tool);
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        if let Some(text) = delta.get("text").and_then(Value::as_str)
                            && !text.is_empty()
                        {
                            out.push(StreamEvent::TextDelta {
                                text: text.to_string(),
                            });
                        }
                    }
                    Some("thinking_delta") => {
                        let text = delta.get("thinking").and_then(Value::as_str).unwrap_or("");
                        if let Some(b) = self.thinking.get_mut(&index)
                            && !text.is_empty()
                        {
                            b.text.push_str(text);
                            out.push(StreamEvent::ReasoningDelta {
                                text: text.to_string(),
                            });
                        }
                    }
                    Some("signature_delta") => {
                        if let Some(b) = self.thinking.get_mut(&index)
                            && let Some(sig) = delta.get("signature").and_then(Value::as_str)
                        {
                            b.signature.get_or_insert_default().push_str(sig);
                        }
                    }
                    Some("input_json_delta") => {
                        let part = delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        if let Some(tool) = self.tools.get_mut(&index)
                            && !part.is_empty()
                        {
                            tool.arguments.push_str(part);
                            out.push(StreamEvent::ToolCallDelta {
                                index,
                                arguments: part.to_string(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                self.end_tool(index, out);
                self.end_thinking(index, out);
            }
            "message_delta" => {
                if let Some(delta) = data.get("delta") {
                    self.on_stop(delta);
                }
                if let Some(u) = data.get("usage") {
                    self.merge_usage(u);
                }
            }
            "message_stop" => self.complete(out),
            _ => {}
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn on_eof(&mut self, ctx: &CallCtx, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if self.done {
            return Ok(());
        }
        // What `message_start` / `message_delta` reported was billed.
        if self.usage != Usage::default() {
            out.push(StreamEvent::Usage {
                usage: self.usage.clone(),
            });
        }
        Err(ctx.err(
            ErrorClass::StreamCut,
            "the answer stream ended before `message_stop`",
        ))
    }

    fn on_whole(
        &mut self,
        body: &Value,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let Some(blocks) = body.get("content").and_then(Value::as_array) else {
            return Err(ctx.err(
                ErrorClass::InvalidResponse,
                "the provider answered without streaming, and its answer has no content",
            ));
        };
        for (index, block) in blocks.iter().enumerate() {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(text) = block.get("text").and_then(Value::as_str)
                        && !text.is_empty()
                    {
                        out.push(StreamEvent::TextDelta {
                            text: text.to_string(),
                        });
                    }
                }
                Some("thinking" | "redacted_thinking") => {
                    let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                    let mut b = ReasoningBlock::text(ReasoningFormat::Anthropic, text);
                    let field = |k: &str| block.get(k).and_then(Value::as_str).map(str::to_string);
                    b.signature = field("signature");
                    b.data = field("data");
                    if !text.is_empty() {
                        out.push(StreamEvent::ReasoningDelta {
                            text: text.to_string(),
                        });
                    }
                    out.push(StreamEvent::Reasoning { block: b });
                }
                Some("tool_use") => {
                    let field = |k: &str| {
                        block
                            .get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    let arguments = match block.get("input") {
                        Some(v @ Value::Object(_)) => v.to_string(),
                        _ => "{}".to_string(),
                    };
                    let call = ToolCall {
                        id: field("id"),
                        name: field("name"),
                        arguments,
                    };
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: call.id.clone(),
                        name: call.name.clone(),
                    });
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: call.arguments.clone(),
                    });
                    out.push(StreamEvent::ToolCallEnd { index, call });
                }
                _ => {}
            }
        }
        if let Some(u) = body.get("usage") {
            self.merge_usage(u);
        }
        self.on_stop(body);
        self.complete(out);
        Ok(())
    }
}

impl AnthropicParser {
    /// Reads `stop_reason` and, for a refusal, `stop_details.explanation`.
    fn on_stop(&mut self, delta: &Value) {
        if let Some(reason) = delta.get("stop_reason").and_then(Value::as_str) {
            self.stop = Some(map_stop(reason));
            if reason == "refusal" {
                let details = delta.get("stop_details");
                let text = |k: &str| {
                    details
                        .and_then(|d| d.get(k))
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                };
                self.refusal = Some(match (text("explanation"), text("category")) {
                    (Some(e), _) => e.to_string(),
                    (None, Some(c)) => format!("the request was refused ({c})"),
                    (None, None) => "the model refused to answer".to_string(),
                });
            }
        }
    }

    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        let open: Vec<usize> = self.tools.keys().copied().collect();
        for i in open {
            self.end_tool(i, out);
        }
        let thinking: Vec<usize> = self.thinking.keys().copied().collect();
        for i in thinking {
            self.end_thinking(i, out);
        }
        self.done = true;
        if let Some(text) = self.refusal.take() {
            out.push(StreamEvent::Refusal { text });
        }
        out.push(StreamEvent::Usage {
            usage: self.usage.clone(),
        });
        out.push(StreamEvent::Finish {
            reason: self.stop.take().unwrap_or(FinishReason::Stop),
        });
    }

    fn end_thinking(&mut self, index: usize, out: &mut Vec<StreamEvent>) {
        if let Some(block) = self.thinking.remove(&index) {
            out.push(StreamEvent::Reasoning { block });
        }
    }

    fn end_tool(&mut self, index: usize, out: &mut Vec<StreamEvent>) {
        let Some(tool) = self.tools.get_mut(&index) else {
            return;
        };
        if tool.ended {
            return;
        }
        tool.ended = true;
        let arguments = if !tool.arguments.trim().is_empty() {
            tool.arguments.clone()
        } else if !tool.initial.is_empty() {
            tool.initial.clone()
        } else {
            "{}".to_string()
        };
        out.push(StreamEvent::ToolCallEnd {
            index,
            call: ToolCall {
                id: tool.id.clone(),
                name: tool.name.clone(),
                arguments,
            },
        });
    }

    /// Usage fields present in `u` replace the earlier ones (`message_delta` is cumulative).
    fn merge_usage(&mut self, u: &Value) {
        let num = |k: &str| u.get(k).and_then(Value::as_u64);
        if let Some(n) = num("input_tokens") {
            self.usage.input_tokens = n;
        }
        if let Some(n) = num("output_tokens") {
            self.usage.output_tokens = n;
        }
        if let Some(n) = num("cache_read_input_tokens") {
            self.usage.cached_input_tokens = n;
        }
        if let Some(n) = num("cache_creation_input_tokens") {
            self.usage.cache_write_tokens = n;
        }
    }
}

fn map_stop(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Truncated,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::Refused,
        other => FinishReason::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
