//! Parsing an OpenAI Chat Completions stream into [`StreamEvent`]s.
//!
//! End of answer: `data: [DONE]`. A body that ends after a `finish_reason` but without `[DONE]`
//! is accepted (some compatible servers omit it); one that ends before any `finish_reason` is
//! cut. `[DONE]` without a `finish_reason` counts as a normal stop. `Finish` is always the last
//! event, after `Usage`, so a consumer never sees a finish from an answer that then breaks.
//!
//! Beyond the documented shape (all met in recorded traffic):
//! - `delta.refusal` is refusal text, not answer text: the answer finishes `Refused`.
//! - Reasoning arrives as `delta.reasoning` (OpenRouter, Groq), `delta.reasoning_content`
//!   (DeepSeek, vLLM, xAI) and OpenRouter's `delta.reasoning_details` (with signatures of
//!   Anthropic models, merged by `index` and kept to send back). Never answer text.
//! - An error chunk may carry the `usage` the provider billed: it is emitted before the error.
//! - `prompt_tokens_details.cache_write_tokens` (OpenRouter, LiteLLM for Anthropic models) is
//!   split out of `prompt_tokens` like `cached_tokens`; `completion_tokens_details.
//!   reasoning_tokens` is recorded.
//! - `finish_reason: length` with fewer output tokens than asked for is a full context window
//!   (llama.cpp), not the output limit.
//! - A 200 whose body holds no event at all is an empty answer; when the prompt is near the
//!   context window the server is known to have, it is a context-length failure.
//! - A whole `chat.completion` JSON in answer to `stream: true` is accepted.
//! - `content` may be an array of parts (Mistral's reasoning models): `text` parts are answer
//!   text, `thinking` parts reasoning.

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

/// What the parser knows about the request it answers.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CallShape {
    /// The output limit sent (`max_tokens` / `max_completion_tokens`).
    pub max_output_tokens: u32,
    /// Estimated prompt tokens, and the server's context window when known.
    pub prompt_tokens: u64,
    pub context_window: Option<u64>,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

#[derive(Debug, Default)]
pub(crate) struct OpenAiParser {
    shape: CallShape,
    calls: BTreeMap<usize, PartialCall>,
    last_index: Option<usize>,
    calls_ended: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
    /// Any event (other than comments) arrived.
    events: usize,
    refused: bool,
    reasoning: String,
    /// OpenRouter `reasoning_details`, merged by index.
    details: BTreeMap<u64, serde_json::Map<String, Value>>,
}

impl WireParser for OpenAiParser {
    fn on_event(
        &mut self,
        ev: &SseEvent,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        self.events += 1;
        if data == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            ctx.err(
                ErrorClass::InvalidResponse,
                format!("the answer stream held a chunk that is not JSON: {e}"),
            )
        })?;
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(parse_usage(usage));
        }
        if let Some(usage) = chunk.pointer("/x_groq/usage").filter(|u| u.is_object()) {
            self.usage = Some(parse_usage(usage));
        }
        if let Some(err) = ErrorBody::from_value(&chunk) {
            self.flush_usage(out);
            return Err(ctx.stream_error(&err));
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        let Some(choice) = choices.and_then(|c| {
            c.iter()
                .find(|ch| ch.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        }) else {
            return Ok(());
        };
        if let Some(delta) = choice.get("delta") {
            self.on_delta(delta, out);
        }
        self.on_finish_reason(choice, ctx, out)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn on_eof(&mut self, ctx: &CallCtx, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if self.done {
            return Ok(());
        }
        if self.events == 0 {
            return Err(self.empty_answer(ctx));
        }
        if self.finish.is_none() {
            self.flush_usage(out);
            return Err(ctx.err(
                ErrorClass::StreamCut,
                "the answer stream ended before the model finished",
            ));
        }
        self.complete(out);
        Ok(())
    }

    fn on_whole(
        &mut self,
        body: &Value,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let choice = body
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first());
        let Some(choice) = choice else {
            return Err(ctx.err(
                ErrorClass::InvalidResponse,
                "the provider answered without streaming, and its answer has no choices",
            ));
        };
        self.events += 1;
        if let Some(usage) = body.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(parse_usage(usage));
        }
        if let Some(message) = choice.get("message") {
            // A whole message reads like one delta whose tool calls carry their index.
            let mut delta = message.clone();
            if let Some(calls) = delta.get_mut("tool_calls").and_then(Value::as_array_mut) {
                for (i, c) in calls.iter_mut().enumerate() {
                    if c.get("index").is_none() {
                        c["index"] = Value::from(i);
                    }
                }
            }
            self.on_delta(&delta, out);
        }
        if choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .is_none()
        {
            self.finish = Some(FinishReason::Stop);
        }
        self.on_finish_reason(choice, ctx, out)?;
        self.complete(out);
        Ok(())
    }
}

impl OpenAiParser {
    pub(crate) fn new(shape: CallShape) -> OpenAiParser {
        OpenAiParser {
            shape,
            ..OpenAiParser::default()
        }
    }

    fn on_delta(&mut self, delta: &Value, out: &mut Vec<StreamEvent>) {
        for key in ["reasoning_content", "reasoning"] {
            if let Some(text) = delta.get(key).and_then(Value::as_str)
                && !text.is_empty()
            {
                self.reasoning.push_str(text);
                out.push(StreamEvent::ReasoningDelta {
                    text: text.to_string(),
                });
                break;
            }
        }
        if let Some(details) = delta.get("reasoning_details").and_then(Value::as_array) {
            for d in details {
                self.merge_detail(d);
            }
        }
        if let Some(text) = delta.get("refusal").and_then(Value::as_str)
            && !text.is_empty()
        {
            self.refused = true;
            out.push(StreamEvent::Refusal {
                text: text.to_string(),
            });
        }
        match delta.get("content") {
            Some(Value::String(text)) if !text.is_empty() => {
                out.push(StreamEvent::TextDelta { text: text.clone() })
            }
            // Mistral's reasoning models send content as parts: `text`, and `thinking` whose
            // own parts hold the reasoning text.
            Some(Value::Array(parts)) => self.on_content_parts(parts, out),
            _ => {}
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.on_tool_fragment(call, out);
            }
        }
    }

    fn on_content_parts(&mut self, parts: &[Value], out: &mut Vec<StreamEvent>) {
        for part in parts {
            match part.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(text) = part.get("text").and_then(Value::as_str)
                        && !text.is_empty()
                    {
                        out.push(StreamEvent::TextDelta {
                            text: text.to_string(),
                        });
                    }
                }
                Some("thinking") => {
                    let pieces = part.get("thinking").and_then(Value::as_array);
                    for t in pieces.into_iter().flatten() {
                        if let Some(text) = t.get("text").and_then(Value::as_str)
                            && !text.is_empty()
                        {
                            self.reasoning.push_str(text);
                            out.push(StreamEvent::ReasoningDelta {
                                text: text.to_string(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn on_finish_reason(
        &mut self,
        choice: &Value,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        match choice.get("finish_reason").and_then(Value::as_str) {
            Some("error") => {
                self.flush_usage(out);
                Err(ctx.err(
                    ErrorClass::Server,
                    "the provider ended the answer with an error",
                ))
            }
            Some(reason) => {
                self.finish = Some(map_finish(reason));
                self.end_calls(out);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// OpenRouter sends `reasoning_details` entries in pieces keyed by `index`: texts are
    /// joined, the last signature wins, other fields are kept as first seen.
    fn merge_detail(&mut self, d: &Value) {
        let Some(obj) = d.as_object() else { return };
        let index = obj.get("index").and_then(Value::as_u64).unwrap_or(0);
        let entry = self.details.entry(index).or_default();
        for (k, v) in obj {
            match (k.as_str(), v) {
                ("text" | "summary" | "data", Value::String(piece)) => {
                    let joined = match entry.get(k) {
                        Some(Value::String(prev)) => format!("{prev}{piece}"),
                        _ => piece.clone(),
                    };
                    entry.insert(k.clone(), Value::String(joined));
                }
                ("signature", Value::String(sig)) if !sig.is_empty() => {
                    entry.insert(k.clone(), v.clone());
                }
                ("signature", _) => {}
                _ => {
                    entry.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }

    /// Emits the usage seen so far (before an error: the attempt was billed).
    fn flush_usage(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(usage) = self.usage.take() {
            out.push(StreamEvent::Usage { usage });
        }
    }

    /// Whether a `length` stop came from the context window rather than the output limit:
    /// prompt plus output reached the known window, or (window unknown) the output is under
    /// half the limit asked for, which no provider's own limit explains.
    fn context_full(&self) -> bool {
        let max = u64::from(self.shape.max_output_tokens);
        let Some(u) = self
            .usage
            .as_ref()
            .filter(|u| !u.estimated && u.output_tokens > 0)
        else {
            return false;
        };
        if max == 0 || u.output_tokens >= max {
            return false;
        }
        match self.shape.context_window {
            Some(window) => {
                let used =
                    u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens;
                used * 100 >= window * 95
            }
            None => u.output_tokens * 2 < max,
        }
    }

    fn empty_answer(&self, ctx: &CallCtx) -> LlmError {
        match self.shape.context_window {
            Some(window)
                if self.shape.prompt_tokens + u64::from(self.shape.max_output_tokens.min(256))
                    >= window * 9 / 10 =>
            {
                ctx.err(
                    ErrorClass::ContextLength,
                    format!(
                        "the server sent an empty answer to a prompt of about {} tokens, at its context window of {window}: shorten the work or raise the server's context size",
                        self.shape.prompt_tokens
                    ),
                )
            }
            _ => ctx.err(
                ErrorClass::StreamCut,
                "the server sent an empty answer (no events at all); a local server does this when the prompt is longer than its context size",
            ),
        }
    }

    fn reasoning_block(&mut self) -> Option<ReasoningBlock> {
        let text = std::mem::take(&mut self.reasoning);
        if !self.details.is_empty() {
            let details: Vec<Value> = std::mem::take(&mut self.details)
                .into_values()
                .map(Value::Object)
                .collect();
            let text = if text.is_empty() {
                details
                    .iter()
                    .filter_map(|d| d.get("text").or(d.get("summary")).and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("")
            } else {
                text
            };
            let mut block = ReasoningBlock::text(ReasoningFormat::Openrouter, text);
            block.raw = Some(Value::Array(details));
            return Some(block);
        }
        (!text.is_empty()).then(|| ReasoningBlock::text(ReasoningFormat::Text, text))
    }

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
            _ if self.refused && !has_calls => FinishReason::Refused,
            // Some servers (Ollama, older vLLM) say `stop` after tool calls.
            Some(FinishReason::Stop) | None if has_calls => FinishReason::ToolCalls,
            // `length` well before the output limit: the context window is full (llama.cpp).
            Some(FinishReason::Truncated) if self.context_full() => FinishReason::ContextFull,
            Some(r) => r,
            None => FinishReason::Stop,
        };
        if let Some(block) = self.reasoning_block() {
            out.push(StreamEvent::Reasoning { block });
        }
        self.flush_usage(out);
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

/// OpenAI-style usage: `prompt_tokens` includes cached and cache-write tokens, which are split
/// out so that `input_tokens` counts only full-price ones. OpenRouter's `cost` is dollars.
pub(crate) fn parse_usage(u: &Value) -> Usage {
    let num = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let prompt = num("/prompt_tokens");
    let cached = num("/prompt_tokens_details/cached_tokens").min(prompt);
    let write = num("/prompt_tokens_details/cache_write_tokens")
        .max(num("/cache_creation_input_tokens"))
        .min(prompt - cached);
    let output = num("/completion_tokens");
    Usage {
        input_tokens: prompt - cached - write,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_tokens: write,
        reasoning_tokens: num("/completion_tokens_details/reasoning_tokens").min(output),
        reported_cost_usd: u
            .get("cost")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite() && *c >= 0.0),
        estimated: false,
    }
}

#[cfg(test)]
mod tests;
