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
//!
//! The error's `code`/`type` decide before its words: OpenAI's ordinary rate limit
//! (`code: rate_limit_exceeded`, or `type: tokens`/`requests` on older answers) also tells
//! the user to "add a payment method", which is not a sign that money is gone.
//!
//! Shapes understood: OpenAI's `{"error":{message,type,param,code}}`, Anthropic's
//! `{"type":"error","error":{type,message}}`, vLLM's bare `{"object":"error","message",
//! "type","code"}`, `{"error":"text"}`, and OpenRouter's wrapper whose upstream body is a
//! string in `error.metadata.raw` (its message replaces "Provider returned error").

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
    /// The upstream error a proxy wrapped (OpenRouter `error.metadata.raw`), parsed.
    pub upstream: Option<Box<ErrorBody>>,
}

impl ErrorBody {
    /// Parses `{"error":{message,type,code}}` and `{"type":"error","error":{type,message}}`;
    /// `None` when the text is not such an object.
    pub fn parse(text: &str) -> Option<ErrorBody> {
        let v: Value = serde_json::from_str(text).ok()?;
        ErrorBody::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Option<ErrorBody> {
        let err = match v.get("error") {
            Some(e) if !e.is_null() => e,
            // vLLM (and other FastAPI servers): the error object is the body itself.
            _ if v.get("object").and_then(Value::as_str) == Some("error") => v,
            _ => return None,
        };
        if let Some(msg) = err.as_str() {
            return Some(ErrorBody {
                message: Some(msg.to_string()),
                ..ErrorBody::default()
            });
        }
        if !err.is_object() {
            return None;
        }
        let text = |key: &str| match err.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let upstream = err
            .pointer("/metadata/raw")
            .and_then(|raw| match raw {
                Value::String(s) => ErrorBody::parse(s).or_else(|| {
                    (!s.trim().is_empty()).then(|| ErrorBody {
                        message: Some(s.clone()),
                        ..ErrorBody::default()
                    })
                }),
                other => ErrorBody::from_value(other),
            })
            .map(Box::new);
        Some(ErrorBody {
            message: text("message"),
            kind: text("type"),
            code: text("code"),
            upstream,
        })
    }

    /// The message to show: a proxy's upstream message wins over its generic wrapper text.
    pub fn best_message(&self) -> Option<&str> {
        self.upstream
            .as_deref()
            .and_then(ErrorBody::best_message)
            .or(self.message.as_deref())
    }

    /// `type` or `code` equals `needle`, here or in the wrapped upstream error.
    fn has(&self, needle: &str) -> bool {
        self.kind.as_deref() == Some(needle)
            || self.code.as_deref() == Some(needle)
            || self.upstream.as_deref().is_some_and(|u| u.has(needle))
    }

    fn message_lower(&self) -> String {
        let mut m = self.message.as_deref().unwrap_or("").to_lowercase();
        if let Some(u) = &self.upstream {
            m.push(' ');
            m.push_str(&u.message_lower());
        }
        m
    }

    fn is_context_length(&self) -> bool {
        let m = self.message_lower();
        self.has("context_length_exceeded")
            || self.has("exceed_context_size_error")
            || m.contains("prompt is too long")
            || m.contains("maximum context length")
            || m.contains("context window")
            || m.contains("context length")
            || m.contains("context size")
    }

    /// OpenAI's own rate-limit markers: `code: rate_limit_exceeded`, or the older
    /// `type: tokens` / `requests` with no code.
    fn is_openai_rate_limit(&self) -> bool {
        self.has("rate_limit_exceeded")
            || self.has("tokens")
            || self.has("requests")
            || self.has("tokens_usage_based")
            || self.has("requests_usage_based")
    }

    fn is_quota(&self) -> bool {
        self.has("insufficient_quota") || self.has("billing_error") || self.has("402")
    }

    /// The wait a message asks for: "Please try again in 125ms", "... in 1.5s", "in 20s",
    /// "in 6m0s", "try again after 2 seconds".
    pub fn retry_hint(&self) -> Option<std::time::Duration> {
        retry_hint(&self.message_lower())
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

/// Parses the wait out of "try again in 125ms" / "in 1.5s" / "in 6m0s" / "after 2 seconds".
/// `lower` is lower-case text.
pub fn retry_hint(lower: &str) -> Option<std::time::Duration> {
    let at = ["try again in ", "try again after "]
        .iter()
        .find_map(|p| lower.find(p).map(|i| i + p.len()))?;
    let mut rest = &lower[at..];
    let mut total_ms = 0.0f64;
    let mut parts = 0;
    loop {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            break;
        }
        let Ok(n) = rest[..digits].parse::<f64>() else {
            break;
        };
        let after = &rest[digits..];
        let spaced = after.trim_start();
        let unit_len = spaced
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(spaced.len());
        let factor = match &spaced[..unit_len] {
            "ms" | "millisecond" | "milliseconds" => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1000.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
            "h" | "hour" | "hours" => 3_600_000.0,
            _ => break,
        };
        total_ms += n * factor;
        parts += 1;
        rest = &spaced[unit_len..];
    }
    (parts > 0 && total_ms.is_finite())
        .then(|| std::time::Duration::from_millis(total_ms.round() as u64))
}

/// Classifies a non-2xx answer.
pub fn classify_status(status: u16, body: &ErrorBody, has_retry_after: bool) -> ErrorClass {
    match status {
        400 | 413 | 422 if body.is_context_length() => ErrorClass::ContextLength,
        // A proxy (OpenRouter) may wrap an upstream context error in any 4xx/5xx.
        _ if body.upstream.is_some() && body.is_context_length() => ErrorClass::ContextLength,
        400 if body.mentions_money() && body.message_lower().contains("credit") => {
            ErrorClass::QuotaExhausted
        }
        401 => ErrorClass::BadKey,
        402 => ErrorClass::QuotaExhausted,
        403 => ErrorClass::Forbidden,
        404 => ErrorClass::NotFound,
        408 | 409 => ErrorClass::Conflict,
        429 if body.is_quota() => ErrorClass::QuotaExhausted,
        // Classify by code before words: OpenAI's rate limit mentions billing too.
        429 if body.is_openai_rate_limit() => ErrorClass::RateLimited,
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
    let any = |set: &[&str]| set.iter().any(|n| body.has(n));
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
            upstream: None,
        }
    }

    #[test]
    fn openai_429_rate_limit_is_not_out_of_credit() {
        let b = ErrorBody::parse(r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29800, Requested 600. Please try again in 125ms. Visit https://platform.openai.com/account/rate-limits to learn more. You can increase your rate limit by adding a payment method to your account at https://platform.openai.com/account/billing.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#).unwrap();
        assert_eq!(classify_status(429, &b, false), ErrorClass::RateLimited);
        assert_eq!(b.retry_hint(), Some(std::time::Duration::from_millis(125)));
        // The older shape: no code, `type: requests`, billing words.
        let old = ErrorBody::parse(r#"{"error":{"message":"Rate limit reached for default-gpt-3.5-turbo in organization org-x on requests per min. Limit: 3 / min. Please try again in 20s. Please add a payment method to your account to increase your rate limit. Visit https://platform.openai.com/account/billing to add a payment method.","type":"requests","param":null,"code":null}}"#).unwrap();
        assert_eq!(classify_status(429, &old, false), ErrorClass::RateLimited);
        assert_eq!(old.retry_hint(), Some(std::time::Duration::from_secs(20)));
    }

    #[test]
    fn retry_hints_parse_every_form() {
        let h = |s: &str| retry_hint(&s.to_lowercase());
        assert_eq!(
            h("Please try again in 1.5s."),
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(
            h("try again in 6m0s"),
            Some(std::time::Duration::from_secs(360))
        );
        assert_eq!(
            h("try again in 1m30s please"),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            h("please try again after 2 seconds"),
            Some(std::time::Duration::from_secs(2))
        );
        assert_eq!(h("try again later"), None);
        assert_eq!(h("no hint here"), None);
    }

    #[test]
    fn vllm_bare_context_error_is_recognised() {
        let b = ErrorBody::parse(r#"{"object":"error","message":"This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}"#).unwrap();
        assert_eq!(classify_status(400, &b, false), ErrorClass::ContextLength);
        assert!(
            b.best_message()
                .unwrap()
                .starts_with("This model's maximum")
        );
    }

    #[test]
    fn openrouter_wrapped_context_error_is_recognised() {
        let b = ErrorBody::parse(r#"{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 208310 tokens > 200000 maximum\"}}","provider_name":"Anthropic"}},"user_id":"user_x"}"#).unwrap();
        assert_eq!(classify_status(400, &b, false), ErrorClass::ContextLength);
        assert_eq!(
            b.best_message(),
            Some("prompt is too long: 208310 tokens > 200000 maximum")
        );
        let plain = ErrorBody::parse(r#"{"error":{"message":"Provider returned error","code":502,"metadata":{"raw":"upstream connect error","provider_name":"X"}}}"#).unwrap();
        assert_eq!(plain.best_message(), Some("upstream connect error"));
        assert_eq!(classify_status(502, &plain, false), ErrorClass::Server);
    }

    #[test]
    fn llama_cpp_context_error_is_recognised() {
        let b = ErrorBody::parse(r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing the context size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":40141,"n_ctx":32768}}"#).unwrap();
        assert_eq!(classify_status(400, &b, false), ErrorClass::ContextLength);
        assert_eq!(classify_stream_error(&b), ErrorClass::ContextLength);
    }

    proptest::proptest! {
        /// Every error shape gives back exactly the message it carried, and the upstream one
        /// wins inside an OpenRouter wrapper.
        #[test]
        fn error_shapes_round_trip_their_message(m in "[^\u{0}]{1,80}", up in "[a-z ]{1,40}") {
            let openai = serde_json::json!({"error": {"message": m, "type": "x", "code": null}});
            let b = ErrorBody::parse(&openai.to_string()).unwrap();
            proptest::prop_assert_eq!(b.best_message(), Some(m.as_str()));
            let vllm = serde_json::json!({"object": "error", "message": m, "code": 400});
            let b = ErrorBody::parse(&vllm.to_string()).unwrap();
            proptest::prop_assert_eq!(b.best_message(), Some(m.as_str()));
            let raw = serde_json::json!({"error": {"message": up}}).to_string();
            let wrapped = serde_json::json!({"error": {"message": m, "code": 400, "metadata": {"raw": raw}}});
            let b = ErrorBody::parse(&wrapped.to_string()).unwrap();
            proptest::prop_assert_eq!(b.best_message(), Some(up.as_str()));
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = ErrorBody::parse(&s).map(|b| classify_status(429, &b, false));
        }

        #[test]
        fn retry_hints_are_bounded(n in 0u64..100_000, unit in proptest::sample::select(vec!["ms", "s", "m"])) {
            let text = format!("please try again in {n}{unit}.");
            let want = match unit { "ms" => n, "s" => n * 1000, _ => n * 60_000 };
            proptest::prop_assert_eq!(retry_hint(&text), Some(std::time::Duration::from_millis(want)));
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
