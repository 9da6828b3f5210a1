//! Turning a provider's error answer (an HTTP status with a body, or an error object inside a
//! 200 stream) into an [`ErrorClass`] and a one-line message for the user.
//!
//! Quota versus rate limit on 429: OpenAI says `insufficient_quota` in `type`/`code`. Anthropic
//! has no such code; its spend limits and exhausted credit come back as a 429 *without*
//! `retry-after` (or a 400) whose message talks about usage limits, credit or billing. A 429
//! without `retry-after` is therefore only treated as money-gone when its wording says so;
//! a plain 429 without the header stays a (retryable) rate limit, paced by the router's own
//! backoff. Retrying a spend limit a couple of times costs nothing; wrongly giving up on a
//! transient rate limit would stop a run, so ambiguity leans towards retrying.

use serde_json::Value;

use super::ErrorClass;

/// The useful parts of either provider's error object.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: Option<String>,
    /// OpenAI `error.type` / Anthropic `error.type`.
    pub kind: Option<String>,
    /// OpenAI `error.code` (a string, or a number on OpenRouter).
    pub code: Option<String>,
}

impl ErrorBody {
    /// Parses `{"error":{message,type,code}}` and `{"type":"error","error":{type,message}}`;
    /// `None` when the text is not such an object.
    pub fn parse(text: &str) -> Option<ErrorBody> {
        let v: Value = serde_json::from_str(text).ok()?;
        ErrorBody::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Option<ErrorBody> {
        let err = v.get("error")?;
        if let Some(msg) = err.as_str() {
            return Some(ErrorBody {
                message: Some(msg.to_string()),
                ..ErrorBody::default()
            });
        }
        let text = |key: &str| match err.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(ErrorBody {
            message: text("message"),
            kind: text("type"),
            code: text("code"),
        })
    }

    fn has(&self, needle: &str) -> bool {
        self.kind.as_deref() == Some(needle) || self.code.as_deref() == Some(needle)
    }

    fn message_lower(&self) -> String {
        self.message.as_deref().unwrap_or("").to_lowercase()
    }

    fn is_context_length(&self) -> bool {
        let m = self.message_lower();
        self.has("context_length_exceeded")
            || m.contains("prompt is too long")
            || m.contains("maximum context length")
            || m.contains("context window")
            || m.contains("context length")
    }

    fn mentions_money(&self) -> bool {
        let m = self.message_lower();
        [
            "quota",
            "credit balance",
            "insufficient credit",
            "billing",
            "spend limit",
            "spending limit",
            "usage limit",
        ]
        .iter()
        .any(|w| m.contains(w))
    }
}

/// Classifies a non-2xx answer.
pub fn classify_status(status: u16, body: &ErrorBody, has_retry_after: bool) -> ErrorClass {
    match status {
        400 | 413 | 422 if body.is_context_length() => ErrorClass::ContextLength,
        400 if body.mentions_money() && body.message_lower().contains("credit") => {
            ErrorClass::QuotaExhausted
        }
        401 => ErrorClass::BadKey,
        402 => ErrorClass::QuotaExhausted,
        403 => ErrorClass::Forbidden,
        404 => ErrorClass::NotFound,
        408 | 409 => ErrorClass::Conflict,
        429 if body.has("insufficient_quota") || body.has("billing_error") => {
            ErrorClass::QuotaExhausted
        }
        429 if !has_retry_after && body.mentions_money() => ErrorClass::QuotaExhausted,
        429 => ErrorClass::RateLimited,
        529 => ErrorClass::Overloaded,
        503 if body.has("overloaded_error") || body.has("overloaded") => ErrorClass::Overloaded,
        500..=599 => ErrorClass::Server,
        400..=499 => ErrorClass::BadRequest,
        _ => ErrorClass::InvalidResponse,
    }
}

/// Classifies an error object that arrived inside a 200 stream, by its type or code.
pub fn classify_stream_error(body: &ErrorBody) -> ErrorClass {
    if body.is_context_length() {
        return ErrorClass::ContextLength;
    }
    let names = [body.kind.as_deref(), body.code.as_deref()];
    let any = |set: &[&str]| names.iter().flatten().any(|n| set.contains(n));
    if any(&["overloaded_error", "overloaded", "529"]) {
        ErrorClass::Overloaded
    } else if any(&["insufficient_quota", "billing_error", "402"]) {
        ErrorClass::QuotaExhausted
    } else if any(&["rate_limit_error", "rate_limit_exceeded", "429"]) {
        ErrorClass::RateLimited
    } else if any(&["authentication_error", "invalid_api_key", "401"]) {
        ErrorClass::BadKey
    } else if any(&["permission_error", "403"]) {
        ErrorClass::Forbidden
    } else if any(&["not_found_error", "404"]) {
        ErrorClass::NotFound
    } else if any(&["invalid_request_error", "400"]) {
        ErrorClass::BadRequest
    } else {
        ErrorClass::Server
    }
}

/// A short, single-line excerpt of a body that is not a known error object (an HTML error page
/// from a proxy, plain text): tags dropped, whitespace collapsed, at most `max` characters.
pub fn excerpt(raw: &str, max: usize) -> String {
    let mut text = String::with_capacity(raw.len().min(4 * max));
    let mut in_tag = false;
    let lower = raw.to_ascii_lowercase();
    let mut skip_until: Option<&str> = None;
    for (i, c) in raw.char_indices() {
        if let Some(end) = skip_until {
            if lower[i..].starts_with(end) {
                skip_until = None;
            }
            continue;
        }
        match c {
            '<' => {
                in_tag = true;
                if lower[i..].starts_with("<style") {
                    skip_until = Some("</style");
                } else if lower[i..].starts_with("<script") {
                    skip_until = Some("</script");
                }
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            _ => text.push(if c.is_control() { ' ' } else { c }),
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        if out.chars().count() > max {
            break;
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, code: &str, msg: &str) -> ErrorBody {
        let s = |x: &str| (!x.is_empty()).then(|| x.to_string());
        ErrorBody {
            message: s(msg),
            kind: s(kind),
            code: s(code),
        }
    }

    #[test]
    fn parses_both_error_shapes() {
        let o = ErrorBody::parse(
            r#"{"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        )
        .unwrap();
        assert_eq!(o.code.as_deref(), Some("rate_limit_exceeded"));
        let a = ErrorBody::parse(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#,
        )
        .unwrap();
        assert_eq!(a.kind.as_deref(), Some("overloaded_error"));
        let r = ErrorBody::parse(r#"{"error":{"code":502,"message":"Upstream"}}"#).unwrap();
        assert_eq!(r.code.as_deref(), Some("502"));
        assert!(ErrorBody::parse("<html>").is_none());
    }

    #[test]
    fn statuses_map_to_classes() {
        let none = ErrorBody::default();
        let q = body(
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your quota",
        );
        assert_eq!(classify_status(429, &q, false), ErrorClass::QuotaExhausted);
        assert_eq!(classify_status(429, &none, true), ErrorClass::RateLimited);
        assert_eq!(classify_status(429, &none, false), ErrorClass::RateLimited);
        let spend = body(
            "rate_limit_error",
            "",
            "You have reached your specified API usage limits",
        );
        assert_eq!(
            classify_status(429, &spend, false),
            ErrorClass::QuotaExhausted
        );
        assert_eq!(classify_status(429, &spend, true), ErrorClass::RateLimited);
        let ctx = body("invalid_request_error", "context_length_exceeded", "x");
        assert_eq!(classify_status(400, &ctx, false), ErrorClass::ContextLength);
        let ctx = body(
            "invalid_request_error",
            "",
            "prompt is too long: 208310 tokens > 200000 maximum",
        );
        assert_eq!(classify_status(400, &ctx, false), ErrorClass::ContextLength);
        let credit = body(
            "invalid_request_error",
            "",
            "Your credit balance is too low to access the Anthropic API.",
        );
        assert_eq!(
            classify_status(400, &credit, false),
            ErrorClass::QuotaExhausted
        );
        for (s, c) in [
            (400, ErrorClass::BadRequest),
            (401, ErrorClass::BadKey),
            (402, ErrorClass::QuotaExhausted),
            (403, ErrorClass::Forbidden),
            (404, ErrorClass::NotFound),
            (408, ErrorClass::Conflict),
            (409, ErrorClass::Conflict),
            (413, ErrorClass::BadRequest),
            (500, ErrorClass::Server),
            (502, ErrorClass::Server),
            (503, ErrorClass::Server),
            (529, ErrorClass::Overloaded),
            (302, ErrorClass::InvalidResponse),
        ] {
            assert_eq!(classify_status(s, &none, false), c, "{s}");
        }
    }

    #[test]
    fn stream_errors_map_by_type() {
        let c = |k: &str| classify_stream_error(&body(k, "", "m"));
        assert_eq!(c("overloaded_error"), ErrorClass::Overloaded);
        assert_eq!(c("rate_limit_error"), ErrorClass::RateLimited);
        assert_eq!(c("api_error"), ErrorClass::Server);
        assert_eq!(c("server_error"), ErrorClass::Server);
        assert_eq!(
            classify_stream_error(&body("", "429", "m")),
            ErrorClass::RateLimited
        );
    }

    #[test]
    fn html_excerpt_is_short_and_clean() {
        let html = "<html><head><title>502 Bad Gateway</title><style>body{x:y}</style></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        assert_eq!(excerpt(html, 200), "502 Bad Gateway 502 Bad Gateway nginx");
        let long = "word ".repeat(100);
        assert!(excerpt(&long, 20).chars().count() <= 21);
    }
}
