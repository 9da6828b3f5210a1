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
        /// The reasoning the model produced for this turn, to be sent back unchanged (Anthropic
        /// requires its signed thinking blocks with the tool results that follow them; the
        /// Responses API takes its reasoning items back). Adapters send only the blocks of
        /// their own [`ReasoningFormat`] and drop the rest.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasoning: Vec<ReasoningBlock>,
    },
    /// The result of one tool call, answering the assistant's call with the same id.
    ToolResult {
        call_id: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

impl Message {
    /// An assistant turn without reasoning blocks.
    pub fn assistant(text: impl Into<String>, tool_calls: Vec<ToolCall>) -> Message {
        Message::Assistant {
            text: text.into(),
            tool_calls,
            reasoning: Vec::new(),
        }
    }
}

/// Which wire produced a reasoning block, and so which wire can take it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningFormat {
    /// Plain reasoning text (DeepSeek / vLLM `reasoning_content`, Groq and OpenRouter
    /// `reasoning`): recorded and shown, never sent back (DeepSeek rejects it).
    Text,
    /// Anthropic `thinking` (with `signature`) or `redacted_thinking` (with `data`).
    Anthropic,
    /// An OpenAI Responses `reasoning` item (`id`, summary, `encrypted_content`).
    OpenaiResponses,
    /// OpenRouter `reasoning_details` entries, kept as raw JSON and sent back as they came.
    Openrouter,
}

/// One piece of model reasoning. Untrusted text: shown dimmed, never written as a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningBlock {
    pub format: ReasoningFormat,
    /// The reasoning text (or summary) as the model wrote it; may be empty (redacted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Anthropic's signature of a thinking block; must come back byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Opaque data: Anthropic `redacted_thinking.data`, Responses `encrypted_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Responses reasoning item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OpenRouter's `reasoning_details` entries as they came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

impl ReasoningBlock {
    pub fn text(format: ReasoningFormat, text: impl Into<String>) -> ReasoningBlock {
        ReasoningBlock {
            format,
            text: text.into(),
            signature: None,
            data: None,
            id: None,
            raw: None,
        }
    }
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
    /// The model stopped because its context window was full (a local server's `length` with
    /// fewer output tokens than asked for): never complete, and a larger output limit cannot
    /// help.
    ContextFull,
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
    /// A piece of reasoning text, for live display (dimmed); never answer text.
    ReasoningDelta {
        text: String,
    },
    /// A complete reasoning block (with its signature), in the order the model produced it.
    Reasoning {
        block: ReasoningBlock,
    },
    /// A piece of refusal text (OpenAI `delta.refusal`, Anthropic `stop_details.explanation`).
    Refusal {
        text: String,
    },
    /// Something the user should know about this call that is not an error (e.g. a local
    /// server whose tool-call support is unknown). The router turns it into a notice.
    Notice {
        message: String,
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
    /// Emitted by the router only: a retry, wait, skip or fallback decision, as it is taken.
    #[serde(skip)]
    Routing {
        event: super::router::RouterEvent,
    },
    /// Emitted by the router only, once per attempt (failed ones included), right after the
    /// attempt's usage record was written: what that record says. Summing a call's records
    /// gives exactly what the usage database holds for the call.
    #[serde(skip)]
    Recorded {
        record: Box<super::usage::CallRecord>,
    },
}

/// A collected, complete answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Option<FinishReason>,
    pub usage: Usage,
    /// The model's reasoning, in order (send it back with the next turn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<ReasoningBlock>,
    /// What the model or provider said when refusing (finish is `Refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

impl Response {
    /// Applies one event; `Reset` clears everything collected so far.
    pub fn apply(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::TextDelta { text } => self.text.push_str(&text),
            StreamEvent::Reasoning { block } => self.reasoning.push(block),
            StreamEvent::Refusal { text } => self.refusal.get_or_insert_default().push_str(&text),
            StreamEvent::ToolCallEnd { call, .. } => self.tool_calls.push(call),
            StreamEvent::Usage { usage } => self.usage = usage,
            StreamEvent::Finish { reason } => self.finish = Some(reason),
            StreamEvent::ToolCallStart { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::ReasoningDelta { .. }
            | StreamEvent::Notice { .. }
            | StreamEvent::RateLimit { .. }
            | StreamEvent::RequestBytes { .. }
            | StreamEvent::Routing { .. }
            | StreamEvent::Recorded { .. } => {}
            StreamEvent::Reset { .. } => *self = Response::default(),
        }
    }

    /// True when the answer is incomplete: the model ran out of output tokens or of context.
    pub fn is_truncated(&self) -> bool {
        matches!(
            self.finish,
            Some(FinishReason::Truncated | FinishReason::ContextFull)
        )
    }

    /// True when the provider or model refused.
    pub fn is_refused(&self) -> bool {
        self.finish == Some(FinishReason::Refused)
    }

    /// All reasoning text, joined (for display and records).
    pub fn reasoning_text(&self) -> String {
        self.reasoning
            .iter()
            .map(|b| b.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
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
