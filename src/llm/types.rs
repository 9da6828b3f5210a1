//! The provider-neutral request and stream event types every adapter speaks.

use serde::{Deserialize, Serialize};

/// One model request, independent of the wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The model id on its provider (the part after `PROVIDER:`). The router sets it per route
    /// entry.
    pub model: String,
    pub system: String,
    pub messages: Vec<Message>,
    /// Tool definitions (JSON Schema parameters). Empty: no tools.
    pub tools: Vec<ToolDef>,
    /// Always sent (Anthropic requires it).
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
    /// A stable key per conversation (the agent sets it to the thread's key): sent as
    /// `prompt_cache_key` to OpenAI-compatible providers that honour it (api.openai.com,
    /// OpenRouter, or `prompt_cache_key = true` in the provider's config), so the requests of
    /// one conversation reach the same prompt cache. `None`: no key is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
}

/// A turn in the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering the assistant's call with the same id.
    ToolResult {
        call_id: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A complete tool call as the model made it. `arguments` is the raw JSON text the model sent:
/// untrusted, validated by whoever executes the tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end (`stop`, `end_turn`, `stop_sequence`).
    Stop,
    /// The model wants its tool calls run (`tool_calls`, `tool_use`).
    ToolCalls,
    /// Output was cut by the token limit (`length`, `max_tokens`): never complete.
    Truncated,
    /// The provider filtered or refused the output (`content_filter`, `refusal`).
    Refused,
    /// Anything else the provider said, kept verbatim.
    Other(String),
}

/// Tokens (and, where the provider reports it, money) of one response. Missing fields read as
/// zero (hand-written cassettes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Input tokens billed at the full price (excludes cached and cache-write tokens).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache (Anthropic).
    pub cache_write_tokens: u64,
    /// Output tokens the model spent reasoning: a part of `output_tokens` (as OpenAI's
    /// `completion_tokens_details.reasoning_tokens` is of `completion_tokens`). Priced at the
    /// table's reasoning price where it has one, else as output.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_tokens: u64,
    /// Cost the provider itself reported in dollars (OpenRouter's `usage.cost`); wins over the
    /// price table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_cost_usd: Option<f64>,
    /// True when the provider reported nothing (e.g. a broken stream) and these are estimates.
    #[serde(default)]
    pub estimated: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a provider stream yields, in order. A well-formed stream ends with exactly one
/// `Finish`; `Usage` may come before or after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    TextDelta {
        text: String,
    },
    ToolCallStart {
        index: usize,
        id: String,
        name: String,
    },
    ToolCallDelta {
        index: usize,
        arguments: String,
    },
    /// A tool call whose arguments are complete.
    ToolCallEnd {
        index: usize,
        call: ToolCall,
    },
    Usage {
        usage: Usage,
    },
    Finish {
        reason: FinishReason,
    },
    /// Rate-limit state read from the response headers (`x-ratelimit-*`, `anthropic-ratelimit-*`),
    /// emitted by adapters before any content. The router consumes it to pace later requests.
    RateLimit {
        info: RateLimitInfo,
    },
    /// Emitted by adapters first, before the request goes out: the exact size of the HTTP
    /// body. The router consumes it (it becomes the call's `request_bytes`); consumers of a
    /// router never see it.
    RequestBytes {
        bytes: u64,
    },
    /// Emitted by the router only: what was streamed so far is discarded (the attempt failed
    /// mid-stream and is being re-issued). Consumers that show text live must drop it; the
    /// collected [`Response`] never contains text from a discarded attempt.
    Reset {
        reason: String,
    },
}

/// A collected, complete answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Option<FinishReason>,
    pub usage: Usage,
}

impl Response {
    /// Applies one event; `Reset` clears everything collected so far.
    pub fn apply(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::TextDelta { text } => self.text.push_str(&text),
            StreamEvent::ToolCallEnd { call, .. } => self.tool_calls.push(call),
            StreamEvent::Usage { usage } => self.usage = usage,
            StreamEvent::Finish { reason } => self.finish = Some(reason),
            StreamEvent::ToolCallStart { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::RateLimit { .. }
            | StreamEvent::RequestBytes { .. } => {}
            StreamEvent::Reset { .. } => *self = Response::default(),
        }
    }

    /// True when the model stopped because it ran out of output tokens.
    pub fn is_truncated(&self) -> bool {
        self.finish == Some(FinishReason::Truncated)
    }
}

/// What a provider's rate-limit headers said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    pub remaining_requests: Option<u64>,
    pub remaining_tokens: Option<u64>,
    /// Time until the request allowance resets.
    pub reset_requests_ms: Option<u64>,
    /// Time until the token allowance resets.
    pub reset_tokens_ms: Option<u64>,
}
