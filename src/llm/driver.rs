//! The streaming loop both adapters share: send, check the status, emit rate-limit state,
//! decode SSE with an idle timeout, and feed events to a wire-specific [`WireParser`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::classify::ErrorBody;
use super::http::{CallCtx, read_capped_bytes};
use super::ratelimit::rate_limit_info;
use super::sse::{SseEvent, SseItem, SseStream, SseStreamError};
use super::{ErrorClass, EventStream, LlmError, StreamEvent};

/// Turns one wire format's events into [`StreamEvent`]s.
pub(crate) trait WireParser: Send + 'static {
    /// Handles one SSE event. An `Err` ends the stream.
    fn on_event(
        &mut self,
        ev: &SseEvent,
        ctx: &CallCtx,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError>;

    /// True once the end marker arrived; the driver stops reading then.
    fn is_done(&self) -> bool;

    /// The body ended. Completes the answer, or fails with `StreamCut` when it was incomplete.
    fn on_eof(&mut self, ctx: &CallCtx, out: &mut Vec<StreamEvent>) -> Result<(), LlmError>;

    /// A server answered the `stream: true` request with one whole JSON message (LiteLLM's
    /// Anthropic route does): turn it into the events of a one-event stream.
    fn on_whole(
        &mut self,
        _body: &serde_json::Value,
        ctx: &CallCtx,
        _out: &mut Vec<StreamEvent>,
    ) -> Result<(), LlmError> {
        Err(ctx.err(
            ErrorClass::InvalidResponse,
            "the provider answered without streaming, in a shape samocoder does not know",
        ))
    }
}

/// Largest whole-JSON answer read in place of a stream.
const MAX_WHOLE_BODY: usize = 16 * 1024 * 1024;

/// Timeouts and limits of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub first_byte: Duration,
    pub idle: Duration,
    pub max_event_bytes: usize,
}

impl Limits {
    /// The configured timeouts, with the standard cap on one stream event.
    pub(crate) fn for_network(network: &crate::config::NetworkConfig) -> Self {
        Limits {
            first_byte: super::http::secs(network.first_byte_timeout_s),
            idle: super::http::secs(network.idle_timeout_s),
            max_event_bytes: super::sse::DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

enum Phase {
    Start(reqwest::RequestBuilder),
    Streaming(SseStream<Body>),
    Done,
}

struct Driver<P> {
    ctx: CallCtx,
    limits: Limits,
    parser: P,
    phase: Phase,
    pending: VecDeque<StreamEvent>,
    /// The error that ends the stream, delivered after the events that came before it (an
    /// error chunk may carry the usage the provider billed).
    failed: Option<LlmError>,
}

/// Runs `request` lazily (nothing is sent until the stream is polled). `body_bytes`, the size
/// of its body, is the first event ([`StreamEvent::RequestBytes`]), before anything is sent.
pub(crate) fn run<P: WireParser>(
    ctx: CallCtx,
    limits: Limits,
    request: reqwest::RequestBuilder,
    body_bytes: u64,
    parser: P,
) -> EventStream {
    let driver = Driver {
        ctx,
        limits,
        parser,
        phase: Phase::Start(request),
        pending: VecDeque::from([StreamEvent::RequestBytes { bytes: body_bytes }]),
        failed: None,
    };
    Box::pin(futures_util::stream::unfold(driver, |mut d| async move {
        d.next().await.map(|item| (item, d))
    }))
}

impl<P: WireParser> Driver<P> {
    async fn next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if let Some(e) = self.failed.take() {
                return Some(Err(e));
            }
            let result = match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Start(request) => self.start(request).await,
                Phase::Streaming(sse) => self.read(sse).await,
            };
            if let Err(e) = result {
                self.phase = Phase::Done;
                // Only usage survives a failure: partial content must not look like an answer.
                self.pending
                    .retain(|ev| matches!(ev, StreamEvent::Usage { .. }));
                self.failed = Some(e);
            }
        }
    }

    async fn start(&mut self, request: reqwest::RequestBuilder) -> Result<(), LlmError> {
        let response = match tokio::time::timeout(self.limits.first_byte, request.send()).await {
            Err(_) => {
                return Err(self.ctx.err(
                    ErrorClass::Timeout,
                    format!(
                        "no answer within {:.1} s of sending the request",
                        self.limits.first_byte.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(e)) => return Err(self.ctx.transport(&e, false)),
            Ok(Ok(r)) => r,
        };
        if !response.status().is_success() {
            return Err(self.ctx.status_error(response, self.limits.idle).await);
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if let Some(info) = rate_limit_info(response.headers(), chrono::Utc::now()) {
            self.pending.push_back(StreamEvent::RateLimit { info });
        }
        if is_json {
            return self.whole(response).await;
        }
        let body: Body = Box::pin(response.bytes_stream());
        self.phase = Phase::Streaming(SseStream::new(body, self.limits.max_event_bytes));
        Ok(())
    }

    /// Reads until at least one event is pending, the answer ends, or something fails.
    async fn read(&mut self, mut sse: SseStream<Body>) -> Result<(), LlmError> {
        let mut deadline = Instant::now() + self.limits.idle;
        let mut out = Vec::new();
        loop {
            let item = match tokio::time::timeout_at(deadline, sse.next()).await {
                Err(_) => {
                    return Err(self.ctx.err(
                        ErrorClass::IdleTimeout,
                        format!(
                            "the answer stalled: nothing for {:.1} s",
                            self.limits.idle.as_secs_f64()
                        ),
                    ));
                }
                Ok(item) => item,
            };
            match item {
                None => {
                    self.parser.on_eof(&self.ctx, &mut out)?;
                    self.pending.extend(out);
                    return Ok(());
                }
                Some(Err(SseStreamError::Body(e))) => return Err(self.ctx.transport(&e, true)),
                Some(Err(SseStreamError::Decode(e))) => {
                    return Err(self.ctx.err(ErrorClass::InvalidResponse, e.to_string()));
                }
                Some(Ok(item)) => {
                    if item.is_activity() {
                        deadline = Instant::now() + self.limits.idle;
                    }
                    if let SseItem::Event(ev) = item
                        && let Err(e) = self.parser.on_event(&ev, &self.ctx, &mut out)
                    {
                        self.pending.extend(out);
                        return Err(e);
                    }
                }
            }
            if self.parser.is_done() {
                self.pending.extend(out);
                return Ok(());
            }
            if !out.is_empty() {
                self.pending.extend(out);
                self.phase = Phase::Streaming(sse);
                return Ok(());
            }
        }
    }
}

impl<P: WireParser> Driver<P> {
    /// A 200 with a JSON body instead of a stream: an error object, or a server that ignored
    /// `stream: true` and sent the whole message, which is accepted as a one-event stream.
    async fn whole(&mut self, response: reqwest::Response) -> Result<(), LlmError> {
        // A whole answer is the model's work, not an error page: it gets the idle timeout in
        // all (an error body gets a few seconds).
        let (body, complete) = read_capped_bytes(response, self.limits.idle, MAX_WHOLE_BODY).await;
        if let Some(err) = ErrorBody::parse(&body) {
            return Err(self.ctx.stream_error(&err).with_status(200));
        }
        let value: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) if !complete => {
                return Err(self.ctx.err(
                    ErrorClass::StreamCut,
                    "the provider's whole-message answer did not arrive in full",
                ));
            }
            Err(e) => {
                return Err(self
                    .ctx
                    .err(
                        ErrorClass::InvalidResponse,
                        format!("the provider answered with JSON that is not a message: {e}"),
                    )
                    .with_status(200));
            }
        };
        let mut out = Vec::new();
        let result = self.parser.on_whole(&value, &self.ctx, &mut out);
        self.pending.extend(out);
        result.map_err(|e| e.with_status(200))
    }
}
