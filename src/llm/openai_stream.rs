//! Parsing an OpenAI Chat Completions stream into [`StreamEvent`]s.
//!
//! End of answer: `data: [DONE]`. A body that ends after a `finish_reason` but without `[DONE]`
//! is accepted (some compatible servers omit it); one that ends before any `finish_reason` is
//! cut. `[DONE]` without a `finish_reason` counts as a normal stop. `Finish` is always the last
//! event, after `Usage`, so a consumer never sees a finish from an answer that then breaks.

use std::collections::BTreeMap;

use serde_json::Value;

use super::classify::ErrorBody;
use super::driver::WireParser;
use super::http::CallCtx;
use super::sse::SseEvent;
use super::{ErrorClass, FinishReason, LlmError, StreamEvent, ToolCall, Usage};

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

#[derive(Debug, Default)]
pub(crate) struct OpenAiParser {
    calls: BTreeMap<usize, PartialCall>,
    last_index: Option<usize>,
    calls_ended: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
}

impl WireParser for OpenAiParser {
    fn on_event(
        &mut self,
        ev: &SseEvent,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            ctx.err(
                ErrorClass::InvalidResponse,
                format!("the answer stream held a chunk that is not JSON: {e}"),
            )
        })?;
        if let Some(err) = ErrorBody::from_value(&chunk) {
            return Err(ctx.stream_error(&err));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(parse_usage(usage));
        }
        if let Some(usage) = chunk.pointer("/x_groq/usage").filter(|u| u.is_object()) {
            self.usage = Some(parse_usage(usage));
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        let Some(choice) = choices.and_then(|c| {
            c.iter()
                .find(|ch| ch.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        }) else {
            return Ok(());
        };
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = delta.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(StreamEvent::TextDelta {
                    text: text.to_string(),
                });
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for call in calls {
                    self.on_tool_fragment(call, out);
                }
            }
        }
        match choice.get("finish_reason").and_then(Value::as_str) {
            Some("error") => {
                return Err(ctx.err(
                    ErrorClass::Server,
                    "the provider ended the answer with an error",
                ));
            }
            Some(reason) => {
                self.finish = Some(map_finish(reason));
                self.end_calls(out);
            }
            None => {}
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
        if self.finish.is_none() {
            return Err(ctx.err(
                ErrorClass::StreamCut,
                "the answer stream ended before the model finished",
            ));
        }
        self.complete(out);
        Ok(())
    }
}

impl OpenAiParser {
    fn on_tool_fragment(&mut self, frag: &Value, out: &mut Vec<StreamEvent>) {
        let id = frag
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let index = match frag.get("index").and_then(Value::as_u64) {
            Some(i) => i as usize,
            // Servers that omit `index`: a new id starts a new call, anything else continues
            // the last one.
            None => match (id, self.last_index) {
                (Some(id), Some(last)) if self.calls[&last].id == id => last,
                (None, Some(last)) => last,
                _ => self.calls.len(),
            },
        };
        self.last_index = Some(index);
        let call = self.calls.entry(index).or_default();
        if let Some(id) = id {
            call.id = id.to_string();
        }
        let function = frag.get("function");
        if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str)
            && !name.is_empty()
            && !call.started
        {
            call.name = name.to_string();
        }
        let args = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        call.arguments.push_str(args);
        if !call.started && !call.name.is_empty() {
            call.started = true;
            if call.id.is_empty() {
                call.id = format!("call_{index}");
            }
            out.push(StreamEvent::ToolCallStart {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            if !call.arguments.is_empty() {
                out.push(StreamEvent::ToolCallDelta {
                    index,
                    arguments: call.arguments.clone(),
                });
            }
        } else if call.started && !args.is_empty() {
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: args.to_string(),
            });
        }
    }

    /// Emits `ToolCallEnd` for every started call, once.
    fn end_calls(&mut self, out: &mut Vec<StreamEvent>) {
        if self.calls_ended {
            return;
        }
        self.calls_ended = true;
        for (&index, call) in &self.calls {
            if !call.started {
                continue;
            }
            out.push(StreamEvent::ToolCallEnd {
                index,
                call: ToolCall {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                },
            });
        }
    }

    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        self.done = true;
        self.end_calls(out);
        let has_calls = self.calls.values().any(|c| c.started);
        let reason = match self.finish.take() {
            // Some servers (Ollama, older vLLM) say `stop` after tool calls.
            Some(FinishReason::Stop) | None if has_calls => FinishReason::ToolCalls,
            Some(r) => r,
            None => FinishReason::Stop,
        };
        if let Some(usage) = self.usage.take() {
            out.push(StreamEvent::Usage { usage });
        }
        out.push(StreamEvent::Finish { reason });
    }
}

fn map_finish(reason: &str) -> FinishReason {
    match reason {
        "stop" | "end_turn" | "eos" => FinishReason::Stop,
        "length" | "max_tokens" => FinishReason::Truncated,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::Refused,
        other => FinishReason::Other(other.to_string()),
    }
}

/// OpenAI-style usage: `prompt_tokens` includes cached tokens, which are split out so that
/// `input_tokens` counts only full-price ones. OpenRouter's `cost` is dollars.
fn parse_usage(u: &Value) -> Usage {
    let num = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let prompt = num("/prompt_tokens");
    let cached = num("/prompt_tokens_details/cached_tokens").min(prompt);
    let output = num("/completion_tokens");
    Usage {
        input_tokens: prompt - cached,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: num("/completion_tokens_details/reasoning_tokens").min(output),
        reported_cost_usd: u
            .get("cost")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite()),
        estimated: false,
    }
}

#[cfg(test)]
mod tests;
