//! HTTP plumbing shared by the wire adapters: the client, the key wrapper, sending with a
//! first-byte timeout, turning non-2xx answers and transport failures into [`LlmError`]s.

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;

use super::classify::{ErrorBody, classify_status, classify_stream_error, excerpt};
use super::ratelimit::{exhausted_reset, rate_limit_info, retry_after};
use super::{ErrorClass, LlmError};
use crate::config::{NetworkConfig, ProviderConfig};
use crate::keys::Secret;

/// Largest error body read from a failed response.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// Longest excerpt of a raw (non-JSON) error body put into a message.
const EXCERPT_CHARS: usize = 200;

/// Longest time spent reading an error body (or a whole-JSON answer), start to end. The idle
/// timeout alone would let a server that drips one byte a second hold the call for minutes.
pub const BODY_DEADLINE: Duration = Duration::from_secs(5);

/// An API key. Debug and Display print `***`; only [`ApiKey::expose`] gives the value.
#[derive(Clone)]
pub(crate) struct ApiKey(Secret);

impl ApiKey {
    pub(crate) fn new(key: Secret) -> Self {
        ApiKey(key)
    }
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Builds the HTTP client every adapter shares: rustls, HTTP/2 when offered, the configured
/// connect timeout and no total timeout (streams last minutes; the adapters time the first
/// byte and the gaps between events instead).
pub fn build_client(network: &NetworkConfig) -> Result<reqwest::Client, LlmError> {
    build_client_for(network, true)
}

/// Like [`build_client`]; with `tls` false the system's root certificates are not loaded
/// (about 150 files and 4 MiB on a typical Linux), for processes that only call plain
/// `http://` servers (local models, the test fake). Such a client refuses every `https://` URL.
pub fn build_client_for(network: &NetworkConfig, tls: bool) -> Result<reqwest::Client, LlmError> {
    let mut builder = reqwest::Client::builder();
    if !tls {
        builder = builder.tls_certs_only(std::iter::empty());
    }
    builder
        .connect_timeout(secs(network.connect_timeout_s))
        .user_agent(concat!("samocoder/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            LlmError::new(
                ErrorClass::Connect,
                "http",
                "",
                format!("could not set up the HTTP client: {}", chain(&e)),
            )
        })
}

/// A duration from configured (possibly fractional or odd) seconds.
pub(crate) fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(86_400.0))
    } else {
        Duration::from_secs(86_400)
    }
}

/// Who is being called, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct CallCtx {
    pub provider: String,
    pub model: String,
    /// The variable that holds the key, for messages that tell the user what to fix.
    pub key_env: Option<String>,
    pub key: Option<ApiKey>,
    /// The provider's base URL (local servers are probed there).
    pub base_url: Option<String>,
}

/// Where a provider is and the key to reach it with, resolved once from its config: what the
/// wire adapters and the model listing share.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub name: String,
    /// Without a trailing `/`.
    pub base_url: String,
    /// The variable that holds the key (set when the provider needs one).
    pub key_env: Option<String>,
    /// `None` when no key was found, and for an empty one.
    pub key: Option<ApiKey>,
}

impl Endpoint {
    pub(crate) fn new(provider: &ProviderConfig, key: Option<Secret>) -> Self {
        Endpoint {
            name: provider.name.clone(),
            base_url: provider.base_url.trim_end_matches('/').to_string(),
            key_env: provider.key_env.clone(),
            key: key.filter(|k| !k.expose().is_empty()).map(ApiKey::new),
        }
    }

    /// The context of one call of `model`; the error to report instead when the provider needs
    /// a key (`key_env` is set) and none was found.
    pub(crate) fn call_ctx(&self, model: &str) -> Result<CallCtx, LlmError> {
        let ctx = CallCtx {
            provider: self.name.clone(),
            model: model.to_string(),
            key_env: self.key_env.clone(),
            key: self.key.clone(),
            base_url: Some(self.base_url.clone()),
        };
        if ctx.key.is_none() && ctx.key_env.is_some() {
            return Err(ctx.no_key());
        }
        Ok(ctx)
    }
}

impl CallCtx {
    pub(crate) fn err(&self, class: ErrorClass, message: impl Into<String>) -> LlmError {
        LlmError::new(
            class,
            &self.provider,
            &self.model,
            self.redact(message.into()),
        )
    }

    /// Removes the key from text that may echo it (provider messages, transport errors).
    pub(crate) fn redact(&self, text: String) -> String {
        match &self.key {
            Some(k) if !k.expose().is_empty() && text.contains(k.expose()) => {
                text.replace(k.expose(), "***")
            }
            _ => text,
        }
    }

    /// What to tell the user about the key of this provider.
    pub(crate) fn key_hint(&self) -> String {
        match &self.key_env {
            Some(var) => format!("set {var} or run `samocoder keys set {}`", self.provider),
            None => format!("run `samocoder keys set {}`", self.provider),
        }
    }

    pub(crate) fn no_key(&self) -> LlmError {
        self.err(
            ErrorClass::NoKey,
            format!("no API key for {}: {}", self.provider, self.key_hint()),
        )
    }

    /// A transport failure before or while reading the response.
    pub(crate) fn transport(&self, e: &reqwest::Error, mid_stream: bool) -> LlmError {
        let class = if mid_stream {
            ErrorClass::StreamCut
        } else if e.is_timeout() {
            ErrorClass::Timeout
        } else if e.is_body() || e.is_decode() {
            ErrorClass::StreamCut
        } else {
            ErrorClass::Connect
        };
        let what = match class {
            ErrorClass::StreamCut => "the connection broke mid-answer",
            ErrorClass::Timeout => "the connection timed out",
            _ => "could not reach the provider",
        };
        self.err(class, format!("{what}: {}", chain(e)))
    }

    /// Builds the error for a non-2xx response, reading (at most [`MAX_ERROR_BODY`] of) its body
    /// with `idle` as the limit between chunks.
    pub(crate) async fn status_error(
        &self,
        response: reqwest::Response,
        idle: Duration,
    ) -> LlmError {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response, idle).await;
        self.error_from_parts(status, &headers, &body, chrono::Utc::now())
    }

    /// The pure part of [`CallCtx::status_error`].
    pub(crate) fn error_from_parts(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> LlmError {
        let parsed = ErrorBody::parse(body);
        let wait = retry_after(headers, now);
        let class = classify_status(
            status,
            parsed.as_ref().unwrap_or(&ErrorBody::default()),
            wait.is_some(),
        );
        let detail = match parsed.as_ref().and_then(|b| b.best_message()) {
            Some(m) => excerpt(m, EXCERPT_CHARS),
            None if body.trim().is_empty() => "(empty body)".to_string(),
            None => excerpt(body, EXCERPT_CHARS),
        };
        let message = match class {
            ErrorClass::BadKey => format!(
                "{} rejected the API key (HTTP 401): {}",
                self.provider,
                self.key_hint()
            ),
            ErrorClass::QuotaExhausted => format!(
                "{} says the account is out of credit or over its spend limit (HTTP {status}): {detail}",
                self.provider
            ),
            ErrorClass::NotFound => format!(
                "{} does not know model `{}` (HTTP 404): {detail}",
                self.provider, self.model
            ),
            ErrorClass::ContextLength => {
                format!("the prompt does not fit the model's context window: {detail}")
            }
            ErrorClass::RateLimited => format!("rate limited (HTTP 429): {detail}"),
            ErrorClass::Overloaded => format!("overloaded (HTTP {status}): {detail}"),
            _ => format!("HTTP {status}: {detail}"),
        };
        let wait = match class {
            ErrorClass::RateLimited if wait.is_none() => rate_limit_info(headers, now)
                .and_then(|i| exhausted_reset(&i))
                .or_else(|| parsed.as_ref().and_then(ErrorBody::retry_hint)),
            _ => wait,
        };
        self.err(class, message)
            .with_status(status)
            .with_retry_after(wait)
    }

    /// An error object that arrived inside a 200 stream.
    pub(crate) fn stream_error(&self, body: &ErrorBody) -> LlmError {
        let class = classify_stream_error(body);
        let detail = body
            .best_message()
            .map(|m| excerpt(m, EXCERPT_CHARS))
            .or_else(|| body.kind.clone())
            .unwrap_or_else(|| "unknown error".to_string());
        let wait = (class == ErrorClass::RateLimited)
            .then(|| body.retry_hint())
            .flatten();
        self.err(class, format!("error in the answer stream: {detail}"))
            .with_retry_after(wait)
    }
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of a body as lossy UTF-8, giving up (keeping what
/// arrived) on a gap longer than `idle`, after [`BODY_DEADLINE`] in all, or on a transport
/// error.
pub(crate) async fn read_capped(response: reqwest::Response, idle: Duration) -> String {
    read_capped_bytes(response, BODY_DEADLINE.min(idle), MAX_ERROR_BODY)
        .await
        .0
}

/// Reads at most `max` bytes of a body within `total` in all; the flag says whether the body
/// was complete.
pub(crate) async fn read_capped_bytes(
    response: reqwest::Response,
    total: Duration,
    max: usize,
) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + total;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let mut complete = false;
    while body.len() <= max {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => body.extend_from_slice(&chunk),
            Ok(None) => {
                complete = true;
                break;
            }
            _ => break,
        }
    }
    let complete = complete && body.len() <= max;
    body.truncate(max);
    (String::from_utf8_lossy(&body).into_owned(), complete)
}

/// An error and its causes on one line (reqwest's own text hides the interesting part).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn an_endpoint_trims_its_url_and_counts_an_empty_key_as_none() {
        let mut provider = ProviderConfig {
            name: "openai".into(),
            kind: crate::config::WireKind::Openai,
            base_url: "http://127.0.0.1:1/v1/".into(),
            key_env: Some("OPENAI_API_KEY".into()),
            free: false,
            prompt_cache_key: None,
        };
        let with_key = Endpoint::new(&provider, Some(Secret::new("sk-one")));
        assert_eq!(with_key.base_url, "http://127.0.0.1:1/v1");
        let ctx = with_key.call_ctx("m1").unwrap();
        assert_eq!((&*ctx.provider, &*ctx.model), ("openai", "m1"));
        assert_eq!(ctx.base_url.as_deref(), Some("http://127.0.0.1:1/v1"));
        for key in [None, Some(Secret::new(""))] {
            let err = Endpoint::new(&provider, key).call_ctx("m1").unwrap_err();
            assert_eq!(err.class, ErrorClass::NoKey, "{err}");
        }
        // A provider that needs no key (a local server) is called without one.
        provider.key_env = None;
        assert!(Endpoint::new(&provider, None).call_ctx("m1").is_ok());
    }

    fn ctx() -> CallCtx {
        CallCtx {
            provider: "openai".into(),
            model: "gpt-4o".into(),
            key_env: Some("OPENAI_API_KEY".into()),
            key: Some(ApiKey::new(Secret::new("sk-secret-123"))),
            base_url: None,
        }
    }

    #[test]
    fn key_is_hidden_in_debug_and_redacted_from_messages() {
        let c = ctx();
        assert!(!format!("{c:?}").contains("sk-secret-123"));
        let e = c.error_from_parts(
            400,
            &HeaderMap::new(),
            r#"{"error":{"message":"bad key sk-secret-123 here","type":"invalid_request_error"}}"#,
            chrono::Utc::now(),
        );
        assert!(!e.to_string().contains("sk-secret-123"), "{e}");
        assert!(!format!("{e:?}").contains("sk-secret-123"));
    }

    #[test]
    fn bad_key_message_names_provider_and_variable() {
        let e = ctx().error_from_parts(401, &HeaderMap::new(), "{}", chrono::Utc::now());
        assert_eq!(e.class, ErrorClass::BadKey);
        assert!(e.message.contains("OPENAI_API_KEY"));
        assert!(e.message.contains("samocoder keys set openai"));
    }

    #[test]
    fn wrapped_and_bare_context_errors_show_the_message_not_json() {
        let e = ctx().error_from_parts(
            400,
            &HeaderMap::new(),
            r#"{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"error\":{\"message\":\"This model's maximum context length is 131072 tokens\"}}","provider_name":"DeepInfra"}}}"#,
            chrono::Utc::now(),
        );
        assert_eq!(e.class, ErrorClass::ContextLength);
        assert!(
            e.message.contains("maximum context length is 131072"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('{'), "{}", e.message);
        let e = ctx().error_from_parts(
            400,
            &HeaderMap::new(),
            r#"{"object":"error","message":"This model's maximum context length is 2048 tokens.","type":"BadRequestError","param":null,"code":400}"#,
            chrono::Utc::now(),
        );
        assert_eq!(e.class, ErrorClass::ContextLength);
        assert!(!e.message.contains('{'), "{}", e.message);
    }

    #[test]
    fn openai_429_without_retry_after_waits_as_the_message_says() {
        let e = ctx().error_from_parts(
            429,
            &HeaderMap::new(),
            r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 900. Please try again in 125ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
            chrono::Utc::now(),
        );
        assert_eq!(e.class, ErrorClass::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_millis(125)));
        assert!(!e.message.contains("out of credit"), "{}", e.message);
    }

    #[test]
    fn rate_limit_without_retry_after_uses_the_exhausted_reset() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-remaining-tokens",
            HeaderValue::from_static("0"),
        );
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("1.5s"));
        let e = ctx().error_from_parts(429, &h, "", chrono::Utc::now());
        assert_eq!(e.class, ErrorClass::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        assert!(e.message.contains("(empty body)"));
    }
}
