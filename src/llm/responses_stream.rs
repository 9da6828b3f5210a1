//! Parsing an OpenAI Responses stream (`response.*` events) into [`StreamEvent`]s.
//!
//! Text: `response.output_text.delta`; refusals: `response.refusal.delta`; reasoning summaries:
//! `response.reasoning_summary_text.delta` (and `response.reasoning_text.delta`). Tool calls
//! start with `response.output_item.added` (a `function_call` item), stream
//! `response.function_call_arguments.delta` and end with `response.output_item.done`, whose
//! `arguments` are the final text. A finished `reasoning` item becomes a reasoning block with
//! its `encrypted_content`. The end: `response.completed` or `response.incomplete` (with
//! usage); `response.failed` and `error` events fail the call, classified by their code.

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

#[derive(Debug, Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
    ended: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ResponsesParser {
    calls: BTreeMap<usize, Call>,
    refused: bool,
    done: bool,
}

impl WireParser for ResponsesParser {
    fn on_event(
        &mut self,
        ev: &SseEvent,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ctx.err(
                ErrorClass::InvalidResponse,
                format!("the answer stream held an event that is not JSON: {e}"),
            )
        })?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(&ev.event);
        let index = v.get("output_index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let delta = || v.get("delta").and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.output_text.delta" if !delta().is_empty() => {
                out.push(StreamEvent::TextDelta {
                    text: delta().to_string(),
                });
            }
            "response.refusal.delta" if !delta().is_empty() => {
                self.refused = true;
                out.push(StreamEvent::Refusal {
                    text: delta().to_string(),
                });
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta"
                if !delta().is_empty() =>
            {
                out.push(StreamEvent::ReasoningDelta {
                    text: delta().to_string(),
                });
            }
            "response.output_item.added" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    self.start_call(index, item, out);
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(call) = self.calls.get_mut(&index)
                    && !delta().is_empty()
                {
                    call.arguments.push_str(delta());
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: delta().to_string(),
                    });
                }
            }
            "response.output_item.done" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                self.item_done(index, item, out);
            }
            "response.completed" | "response.incomplete" => {
                let response = v.get("response").unwrap_or(&Value::Null);
                self.complete(response, out);
            }
            "response.failed" => {
                let err = v.pointer("/response/error").cloned().unwrap_or(Value::Null);
                let body =
                    ErrorBody::from_value(&serde_json::json!({ "error": err })).unwrap_or_default();
                return Err(ctx.stream_error(&body));
            }
            "error" => {
                // `{"type":"error","error":{...}}`, or the fields at the top level.
                let body = ErrorBody::from_value(&v)
                    .filter(|b| b.message.is_some() || b.code.is_some())
                    .or_else(|| ErrorBody::from_value(&serde_json::json!({ "error": v })))
                    .unwrap_or_default();
                return Err(ctx.stream_error(&body));
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
            "the answer stream ended before `response.completed`",
        ))
    }

    fn on_whole(
        &mut self,
        body: &Value,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        let Some(items) = body.get("output").and_then(Value::as_array) else {
            return Err(ctx.err(
                ErrorClass::InvalidResponse,
                "the provider answered without streaming, and its answer has no output",
            ));
        };
        for (index, item) in items.iter().enumerate() {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    for part in item
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                        match part.get("type").and_then(Value::as_str) {
                            Some("output_text") if !text.is_empty() => {
                                out.push(StreamEvent::TextDelta {
                                    text: text.to_string(),
                                })
                            }
                            Some("refusal") => {
                                self.refused = true;
                                let text =
                                    part.get("refusal").and_then(Value::as_str).unwrap_or("");
                                out.push(StreamEvent::Refusal {
                                    text: text.to_string(),
                                });
                            }
                            _ => {}
                        }
                    }
                }
                Some("function_call") => {
                    self.start_call(index, item, out);
                    self.item_done(index, item, out);
                }
                Some("reasoning") => self.item_done(index, item, out),
                _ => {}
            }
        }
        self.complete(body, out);
        Ok(())
    }
}

impl ResponsesParser {
    fn start_call(&mut self, index: usize, item: &Value, out: &mut Vec<StreamEvent>) {
        let field = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let call = Call {
            id: field("call_id"),
            name: field("name"),
            arguments: String::new(),
            ended: false,
        };
        out.push(StreamEvent::ToolCallStart {
            index,
            id: call.id.clone(),
            name: call.name.clone(),
        });
        self.calls.insert(index, call);
    }

    fn item_done(&mut self, index: usize, item: &Value, out: &mut Vec<StreamEvent>) {
        match item.get("type").and_then(Value::as_str) {
            Some("function_call") => {
                let Some(call) = self.calls.get_mut(&index) else {
                    return;
                };
                if call.ended {
                    return;
                }
                call.ended = true;
                if let Some(args) = item.get("arguments").and_then(Value::as_str) {
                    call.arguments = args.to_string();
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".into();
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
            Some("reasoning") => {
                let text: Vec<&str> = item
                    .get("summary")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("text").and_then(Value::as_str))
                    .collect();
                let mut block =
                    ReasoningBlock::text(ReasoningFormat::OpenaiResponses, text.join("\n\n"));
                block.id = item.get("id").and_then(Value::as_str).map(str::to_string);
                block.data = item
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if block.data.is_some() || !block.text.is_empty() {
                    out.push(StreamEvent::Reasoning { block });
                }
            }
            _ => {}
        }
    }

    fn complete(&mut self, response: &Value, out: &mut Vec<StreamEvent>) {
        let open: Vec<usize> = self.calls.keys().copied().collect();
        for i in open {
            let item = serde_json::json!({"type": "function_call"});
            self.item_done(i, &item, out);
        }
        self.done = true;
        if let Some(u) = response.get("usage").filter(|u| u.is_object()) {
            out.push(StreamEvent::Usage { usage: usage(u) });
        }
        let incomplete = response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str);
        let reason = match (response.get("status").and_then(Value::as_str), incomplete) {
            (_, Some("max_output_tokens")) => FinishReason::Truncated,
            (_, Some("content_filter")) => FinishReason::Refused,
            (Some("incomplete"), Some(other)) => FinishReason::Other(other.to_string()),
            _ if self.refused => FinishReason::Refused,
            _ if !self.calls.is_empty() => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        };
        out.push(StreamEvent::Finish { reason });
    }
}

/// Responses usage: `input_tokens` includes cached (and cache-write) tokens.
fn usage(u: &Value) -> Usage {
    let num = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let input = num("/input_tokens");
    let cached = num("/input_tokens_details/cached_tokens").min(input);
    let write = num("/input_tokens_details/cache_write_tokens").min(input - cached);
    let output = num("/output_tokens");
    Usage {
        input_tokens: input - cached - write,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_tokens: write,
        reasoning_tokens: num("/output_tokens_details/reasoning_tokens").min(output),
        reported_cost_usd: None,
        estimated: false,
    }
}
