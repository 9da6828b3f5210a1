//! The streaming loop both adapters share: send, check the status, emit rate-limit state,
//! decode SSE with an idle timeout, and feed events to a wire-specific [`WireParser`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::classify::ErrorBody;
use super::http::{CallCtx, read_capped};
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
}

/// Timeouts and limits of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub first_byte: Duration,
    pub idle: Duration,
    pub max_event_bytes: usize,
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
            let result = match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Start(request) => self.start(request).await,
                Phase::Streaming(sse) => self.read(sse).await,
            };
            if let Err(e) = result {
                self.phase = Phase::Done;
                self.pending.clear();
                return Some(Err(e));
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
        if is_json {
            return Err(non_streaming_answer(&self.ctx, self.limits.idle, response).await);
        }
        if let Some(info) = rate_limit_info(response.headers(), chrono::Utc::now()) {
            self.pending.push_back(StreamEvent::RateLimit { info });
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
                    if let SseItem::Event(ev) = item {
                        self.parser.on_event(&ev, &self.ctx, &mut out)?;
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

/// A 200 with a JSON body instead of a stream: an error object, or a server that ignored
/// `stream: true`.
async fn non_streaming_answer(
    ctx: &CallCtx,
    idle: Duration,
    response: reqwest::Response,
) -> LlmError {
    let body = read_capped(response, idle).await;
    match ErrorBody::parse(&body) {
        Some(err) => ctx.stream_error(&err),
        None => ctx.err(
            ErrorClass::InvalidResponse,
            "the provider answered without streaming: it may not support `stream: true` on \
             this endpoint",
        ),
    }
    .with_status(200)
}
