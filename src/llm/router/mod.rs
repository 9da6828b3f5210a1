//! The router: a [`Provider`] that serves a request from an ordered route of models, retrying
//! with backoff, honouring `retry-after`, pacing on rate-limit headers, skipping providers whose
//! circuit is open and falling back to the next entry. Every attempt is recorded as usage
//! before its answer is handed on.

mod attempt;
mod backoff;
mod breaker;
mod events;
mod ratelimit;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use backoff::{Wait, backoff_delay, choose_wait};
pub use breaker::{BreakerState, Breakers};
pub use events::RouterEvent;

use super::pricing::Pricing;
use super::usage::{CallContext, UsageSink};
use super::{ErrorClass, EventStream, LlmError, Provider, Request, StreamEvent};
use crate::config::{ModelRef, NetworkConfig};
use backoff::Jitter;

/// One model of a route.
#[derive(Clone)]
pub struct RouteEntry {
    pub provider: Arc<dyn Provider>,
    pub model: ModelRef,
    /// Prompt limit in tokens; `None`: taken from the price table when it knows the model.
    pub context_window: Option<u64>,
    /// The provider is declared free (`[providers.NAME] free = true`, a cassette): its calls
    /// cost $0 unless the config prices the model.
    pub free: bool,
}

impl RouteEntry {
    pub fn new(provider: Arc<dyn Provider>, model: ModelRef) -> RouteEntry {
        RouteEntry {
            provider,
            model,
            context_window: None,
            free: false,
        }
    }

    pub fn with_context_window(mut self, tokens: Option<u64>) -> RouteEntry {
        self.context_window = tokens;
        self
    }

    /// Marks the entry as free (see [`RouteEntry::free`]).
    pub fn free(mut self, free: bool) -> RouteEntry {
        self.free = free;
        self
    }

    /// The same as [`RouteEntry::free`] (the name callers used when only local servers were
    /// free).
    pub fn local(self, free: bool) -> RouteEntry {
        self.free(free)
    }
}

/// Everything a router needs besides its route.
#[derive(Clone)]
pub struct RouterOptions {
    /// Retries per entry after the first attempt (retryable errors only).
    pub max_retries: u32,
    /// Longest wait honoured from `retry-after` or a rate-limit reset; longer: next entry.
    pub max_retry_wait: Duration,
    /// Most bytes and longest time one answer may stream before it is ended as cut.
    pub max_answer_bytes: u64,
    pub max_answer_time: Duration,
    pub context: CallContext,
    /// Shared per process.
    pub breakers: Arc<Breakers>,
    /// Shared per process (the unknown-price warning is given once per model).
    pub pricing: Arc<Pricing>,
    pub sink: Arc<dyn UsageSink>,
    /// Cancelling stops the call promptly, including backoff sleeps.
    pub cancel: CancellationToken,
    /// Seed for the backoff jitter (tests); `None`: random.
    pub jitter_seed: Option<u64>,
}

impl RouterOptions {
    /// Options from the network config, with an empty call context and a fresh cancellation
    /// token.
    pub fn new(
        network: &NetworkConfig,
        breakers: Arc<Breakers>,
        pricing: Arc<Pricing>,
        sink: Arc<dyn UsageSink>,
    ) -> RouterOptions {
        RouterOptions {
            max_retries: network.max_retries,
            max_retry_wait: Duration::from_secs_f64(network.max_retry_wait_s.max(0.0)),
            max_answer_bytes: network.max_answer_bytes,
            max_answer_time: Duration::from_secs_f64(network.max_answer_s.max(0.0)),
            context: CallContext::default(),
            breakers,
            pricing,
            sink,
            cancel: CancellationToken::new(),
            jitter_seed: None,
        }
    }
}

/// A route of models served as one [`Provider`] named `route:NAME`.
pub struct Router {
    name: String,
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    entries: Vec<RouteEntry>,
    opts: RouterOptions,
    jitter: Jitter,
    calls: AtomicU64,
}

type Tx = mpsc::Sender<Result<StreamEvent, LlmError>>;

impl Router {
    /// `name` is usually the role (`coder`); entries are tried in order.
    pub fn new(name: &str, mut entries: Vec<RouteEntry>, opts: RouterOptions) -> Router {
        for e in &mut entries {
            if e.context_window.is_none() {
                e.context_window = opts.pricing.context_window(&e.model);
            }
        }
        Router {
            name: format!("route:{name}"),
            inner: Arc::new(Inner {
                name: name.to_string(),
                entries,
                jitter: Jitter::new(opts.jitter_seed),
                opts,
                calls: AtomicU64::new(0),
            }),
        }
    }

    pub fn entries(&self) -> &[RouteEntry] {
        &self.inner.entries
    }
}

impl Provider for Router {
    fn name(&self) -> &str {
        &self.name
    }

    fn stream(&self, request: Request) -> EventStream {
        let inner = self.inner.clone();
        let call = inner.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(64);
        // The routing future is driven by polling the returned stream (no spawned task):
        // dropping the stream drops the in-flight call at once.
        let driver = async move {
            if let Err(e) = inner.route(&request, call, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        };
        let events = stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|ev| (ev, rx)) },
        );
        let driver = stream::once(driver).filter_map(|()| std::future::ready(None));
        Box::pin(stream::select(events, driver))
    }
}

impl Inner {
    /// Tells the consumer of the stream what the router decided (before acting on it).
    async fn emit(&self, tx: &Tx, event: RouterEvent) {
        let _ = tx.send(Ok(StreamEvent::Routing { event })).await;
    }

    fn cancelled(&self, model: &ModelRef) -> LlmError {
        LlmError::new(
            ErrorClass::Cancelled,
            &model.provider,
            &model.model,
            "cancelled",
        )
    }

    async fn sleep(&self, wait: Duration, model: &ModelRef) -> Result<(), LlmError> {
        tokio::select! {
            biased;
            _ = self.opts.cancel.cancelled() => Err(self.cancelled(model)),
            _ = tokio::time::sleep(wait) => Ok(()),
        }
    }

    async fn route(&self, request: &Request, call: u64, tx: &Tx) -> Result<(), LlmError> {
        if self.entries.is_empty() {
            return Err(LlmError::new(
                ErrorClass::NotFound,
                "route",
                &self.name,
                "the route has no models: add some to [routes] in the config",
            ));
        }
        let mut outcomes: Vec<String> = Vec::new();
        let mut last: Option<LlmError> = None;
        // Set once a model said the prompt is too long: the window it had (0 if unknown).
        let mut too_long_for: Option<u64> = None;
        let mut prev: Option<String> = None;
        // Why the previous entry was left, for the fallback notice.
        let mut why = String::new();
        for (idx, entry) in self.entries.iter().enumerate() {
            let label = entry.model.to_string();
            if self.opts.cancel.is_cancelled() {
                return Err(self.cancelled(&entry.model));
            }
            if let (Some(failed), Some(window)) = (too_long_for, entry.context_window)
                && window <= failed
            {
                self.emit(
                    tx,
                    RouterEvent::ContextSkip {
                        model: label.clone(),
                        window,
                        needed_more_than: failed,
                    },
                )
                .await;
                outcomes.push(format!("{label} skipped (context window {window})"));
                add_reason(&mut why, format!("{label} context window too small"));
                continue;
            }
            match self.opts.breakers.check(&entry.model.provider) {
                BreakerState::Open(remaining) => {
                    self.emit(
                        tx,
                        RouterEvent::BreakerSkip {
                            provider: entry.model.provider.clone(),
                            model: label.clone(),
                            remaining_ms: remaining.as_millis() as u64,
                        },
                    )
                    .await;
                    outcomes.push(format!("{label} skipped (circuit open)"));
                    add_reason(&mut why, format!("{label} circuit open"));
                    continue;
                }
                BreakerState::HalfOpen => {
                    self.emit(
                        tx,
                        RouterEvent::BreakerHalfOpen {
                            provider: entry.model.provider.clone(),
                        },
                    )
                    .await
                }
                BreakerState::Closed => {}
            }
            if let Some(from) = prev.replace(label.clone()) {
                self.emit(
                    tx,
                    RouterEvent::Fallback {
                        from,
                        to: label.clone(),
                        reason: std::mem::take(&mut why),
                    },
                )
                .await;
            }
            match self.try_entry(idx, entry, request, call, tx).await {
                Ok(()) => return Ok(()),
                Err(e) if e.class.is_final() => return Err(e),
                Err(e) => {
                    if e.class == ErrorClass::ContextLength {
                        let window = entry.context_window.unwrap_or(0);
                        too_long_for = Some(too_long_for.map_or(window, |w| w.max(window)));
                    }
                    outcomes.push(brief(&label, &e));
                    why = reason(&label, &e);
                    last = Some(e);
                }
            }
        }
        Err(self.final_error(outcomes, last))
    }

    fn final_error(&self, outcomes: Vec<String>, last: Option<LlmError>) -> LlmError {
        let list = outcomes.join("; ");
        let (class, status) = last
            .as_ref()
            .map_or((ErrorClass::Server, None), |e| (e.class.clone(), e.status));
        let message = if class == ErrorClass::ContextLength {
            format!(
                "the prompt is too long for every model in the route ({list}): shorten the work or add a model with a larger context window to the route"
            )
        } else {
            format!("no provider could serve: {list}")
        };
        let mut err = LlmError::new(class, "route", &self.name, message);
        err.status = status;
        err
    }

    /// Attempts on one entry, with retries. `Err` means: give up this entry.
    async fn try_entry(
        &self,
        idx: usize,
        entry: &RouteEntry,
        request: &Request,
        call: u64,
        tx: &Tx,
    ) -> Result<(), LlmError> {
        let provider = &entry.model.provider;
        let label = entry.model.to_string();
        let max_wait = self.opts.max_retry_wait;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Some(wait) = self.opts.breakers.pacing_wait(provider) {
                if wait > max_wait {
                    self.emit(
                        tx,
                        RouterEvent::PacingSkip {
                            provider: provider.clone(),
                            model: label.clone(),
                            wait_ms: wait.as_millis() as u64,
                        },
                    )
                    .await;
                    return Err(LlmError::new(
                        ErrorClass::RateLimited,
                        provider,
                        &entry.model.model,
                        format!(
                            "rate limit resets in {:.0} s, longer than network.max_retry_wait_s",
                            wait.as_secs_f64()
                        ),
                    )
                    .with_retry_after(Some(wait)));
                }
                self.emit(
                    tx,
                    RouterEvent::Pacing {
                        provider: provider.clone(),
                        wait_ms: wait.as_millis() as u64,
                    },
                )
                .await;
                self.sleep(wait, &entry.model).await?;
            }
            let err = match self.attempt(idx, attempt, entry, request, call, tx).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if err.class.is_final() || !err.class.is_retryable() {
                return Err(err);
            }
            if self.opts.breakers.failure(provider) {
                self.emit(
                    tx,
                    RouterEvent::BreakerOpen {
                        provider: provider.clone(),
                        cooldown_ms: self.opts.breakers.cooldown().as_millis() as u64,
                    },
                )
                .await;
                return Err(err);
            }
            if attempt > self.opts.max_retries {
                return Err(err);
            }
            match choose_wait(attempt - 1, err.retry_after, max_wait, self.jitter.next()) {
                Wait::TooLong(wait) => {
                    self.emit(
                        tx,
                        RouterEvent::WaitTooLong {
                            model: label.clone(),
                            wait_ms: wait.as_millis() as u64,
                            max_wait_ms: max_wait.as_millis() as u64,
                        },
                    )
                    .await;
                    return Err(err);
                }
                Wait::Sleep(wait) => {
                    self.emit(
                        tx,
                        RouterEvent::Retry {
                            model: label.clone(),
                            attempt,
                            status: err.status,
                            class: err.class.as_str().to_string(),
                            wait_ms: wait.as_millis() as u64,
                        },
                    )
                    .await;
                    self.sleep(wait, &entry.model).await?;
                }
            }
        }
    }
}

fn add_reason(why: &mut String, more: String) {
    if !why.is_empty() {
        why.push_str("; ");
    }
    why.push_str(&more);
}

/// `openai:gpt-4.1 429 rate limited`: why an entry was left, for the fallback notice.
fn reason(label: &str, e: &LlmError) -> String {
    let class = e.class.as_str().replace('_', " ");
    match e.status {
        Some(s) => format!("{label} {s} {class}"),
        None => format!("{label} {class}"),
    }
}

/// `openai:gpt-4.1 429 quota exhausted (...)`, kept short.
fn brief(label: &str, e: &LlmError) -> String {
    const MAX: usize = 160;
    let mut msg: String = e.message.chars().take(MAX).collect();
    if e.message.chars().count() > MAX {
        msg.push('…');
    }
    match e.status {
        Some(s) => format!("{label} {s} {msg}"),
        None => format!("{label} {msg}"),
    }
}
