//! Model-call failures, classified so the router knows what to retry, what to fall back from,
//! and what to stop on.

use std::time::Duration;

use crate::exit::{Exit, ExitStatus};

/// What went wrong, independent of the wire format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Could not connect (refused, DNS, TLS).
    Connect,
    /// No response headers within the first-byte timeout, or connect timeout.
    Timeout,
    /// No stream event within the idle timeout (keep-alives do not count).
    IdleTimeout,
    /// The stream ended (or the connection reset) before its end marker.
    StreamCut,
    /// 429 rate limit (not quota): retry after a wait.
    RateLimited,
    /// 529 / `overloaded_error`.
    Overloaded,
    /// 5xx, or an error event inside a 200 stream that is not an overload.
    Server,
    /// 408 / 409.
    Conflict,
    /// 401: the key is wrong. Not retried; the router falls back.
    BadKey,
    /// 403: region or permission.
    Forbidden,
    /// 404: unknown model or endpoint.
    NotFound,
    /// 429 `insufficient_quota`, 402 billing, spend limits: money is gone, never retried.
    QuotaExhausted,
    /// The prompt does not fit the model's context window.
    ContextLength,
    /// 400 / 413 and other request errors.
    BadRequest,
    /// The provider answered something that is not its documented format.
    InvalidResponse,
    /// No key is configured for a provider that needs one.
    NoKey,
    /// The user cancelled (Ctrl-C).
    Cancelled,
    /// A replay cassette has no more responses.
    CassetteExhausted,
    /// A local record of a call (usage row, cassette line) could not be written; the answer is
    /// not handed on so no paid call goes unrecorded.
    RecordFailed,
    /// The request names a provider or route the config does not have.
    Config,
}

impl ErrorClass {
    /// Whether the same route entry may be tried again after a wait.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorClass::Connect
                | ErrorClass::Timeout
                | ErrorClass::IdleTimeout
                | ErrorClass::StreamCut
                | ErrorClass::RateLimited
                | ErrorClass::Overloaded
                | ErrorClass::Server
                | ErrorClass::Conflict
        )
    }

    /// Whether the router stops the whole request instead of falling back.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ErrorClass::Cancelled
                | ErrorClass::CassetteExhausted
                | ErrorClass::RecordFailed
                | ErrorClass::Config
        )
    }

    /// The snake-case name used in records and JSON (`rate_limited`, `bad_key`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::IdleTimeout => "idle_timeout",
            ErrorClass::StreamCut => "stream_cut",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::Server => "server",
            ErrorClass::Conflict => "conflict",
            ErrorClass::BadKey => "bad_key",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::NotFound => "not_found",
            ErrorClass::QuotaExhausted => "quota_exhausted",
            ErrorClass::ContextLength => "context_length",
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::InvalidResponse => "invalid_response",
            ErrorClass::NoKey => "no_key",
            ErrorClass::Cancelled => "cancelled",
            ErrorClass::CassetteExhausted => "cassette_exhausted",
            ErrorClass::RecordFailed => "record_failed",
            ErrorClass::Config => "config",
        }
    }
}

/// One failed model call (or a whole route that could not serve).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{provider}:{model}: {message}")]
pub struct LlmError {
    pub class: ErrorClass,
    /// Provider name (e.g. `openai`), or `route` for a route-level error.
    pub provider: String,
    pub model: String,
    pub status: Option<u16>,
    /// One line for the user. Never contains a key.
    pub message: String,
    /// A wait the provider asked for (`retry-after-ms`, `retry-after`, rate-limit reset).
    pub retry_after: Option<Duration>,
}

impl LlmError {
    pub fn new(class: ErrorClass, provider: &str, model: &str, message: impl Into<String>) -> Self {
        LlmError {
            class,
            provider: provider.to_string(),
            model: model.to_string(),
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
}

impl ExitStatus for LlmError {
    fn exit(&self) -> Exit {
        match self.class {
            ErrorClass::Cancelled => Exit::Interrupted,
            ErrorClass::CassetteExhausted | ErrorClass::NoKey | ErrorClass::Config => Exit::Usage,
            ErrorClass::RecordFailed => Exit::Failure,
            _ => Exit::NoProvider,
        }
    }
}
