//! Parsing an Anthropic Messages stream into [`StreamEvent`]s.
//!
//! End of answer: `message_stop`. Anything before it that ends the body is a cut. `Usage` and
//! `Finish` are emitted together at `message_stop`. Anthropic's `input_tokens` already excludes
//! cache reads and writes, so it maps straight to `input_tokens`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::classify::ErrorBody;
use super::driver::WireParser;
use super::http::CallCtx;
use super::sse::SseEvent;
use super::{ErrorClass, FinishReason, LlmError, StreamEvent, ToolCall, Usage};

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
    usage: Usage,
    stop: Option<FinishReason>,
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
            "content_block_stop" => self.end_tool(index, out),
            "message_delta" => {
                if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop = Some(map_stop(reason));
                }
                if let Some(u) = data.get("usage") {
                    self.merge_usage(u);
                }
            }
            "message_stop" => {
                let open: Vec<usize> = self.tools.keys().copied().collect();
                for i in open {
                    self.end_tool(i, out);
                }
                self.done = true;
                out.push(StreamEvent::Usage {
                    usage: self.usage.clone(),
                });
                out.push(StreamEvent::Finish {
                    reason: self.stop.take().unwrap_or(FinishReason::Stop),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn on_eof(&mut self, ctx: &CallCtx, _out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if self.done {
            return Ok(());
        }
        Err(ctx.err(
            ErrorClass::StreamCut,
            "the answer stream ended before `message_stop`",
        ))
    }
}

impl AnthropicParser {
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
