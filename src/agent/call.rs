//! One model call as the front ends see it: the stream is consumed, its text, resets and
//! routing decisions become events carrying the call's [`CallId`], and the usage records the
//! router wrote for the call's attempts are summed into `model_call_finished`. The same code
//! serves the agent's turns and `samocoder ask`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::llm::usage::{CallRecord, Outcome};
use crate::llm::{ErrorClass, LlmError, Provider, Request, Response, StreamEvent};
use crate::protocol::{CallId, Event, EventSink, Role};

/// How long a cancelled call may take to record its cancelled attempt before it is dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// What one call cost, from its own usage records (never another call's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallSummary {
    /// Every attempt the router recorded for the call, in order.
    pub records: Vec<CallRecord>,
}

impl CallSummary {
    /// Who answered: the last attempt that produced an answer, else the last attempt.
    pub fn answered_by(&self) -> Option<&CallRecord> {
        self.records
            .iter()
            .rev()
            .find(|r| matches!(r.outcome, Outcome::Ok | Outcome::Truncated))
            .or(self.records.last())
    }

    /// Input tokens of every kind (full price, cached, cache writes).
    pub fn input_tokens(&self) -> u64 {
        self.records
            .iter()
            .map(|r| {
                r.input_tokens
                    .saturating_add(r.cached_tokens)
                    .saturating_add(r.cache_write_tokens)
            })
            .fold(0, u64::saturating_add)
    }

    pub fn cached_input_tokens(&self) -> u64 {
        self.records
            .iter()
            .map(|r| r.cached_tokens)
            .fold(0, u64::saturating_add)
    }

    pub fn output_tokens(&self) -> u64 {
        self.records
            .iter()
            .map(|r| r.output_tokens)
            .fold(0, u64::saturating_add)
    }

    /// Dollars over every attempt; `None` when some attempt's price is unknown.
    pub fn cost_usd(&self) -> Option<f64> {
        self.records
            .iter()
            .try_fold(0.0, |sum, r| r.cost_usd.map(|c| sum + c))
            .map(crate::llm::pricing::round_micro)
    }

    /// The event that closes the call.
    pub fn finished_event(&self, call_id: CallId, role: Role, error: Option<String>) -> Event {
        let by = self.answered_by();
        let provider = by.map(|r| r.provider.clone()).unwrap_or_default();
        Event::ModelCallFinished {
            call_id,
            role,
            replayed: provider == "replay",
            provider,
            model: by.map(|r| r.model.clone()).unwrap_or_default(),
            input_tokens: self.input_tokens(),
            cached_input_tokens: self.cached_input_tokens(),
            output_tokens: self.output_tokens(),
            cost_usd: self.cost_usd(),
            attempts: self.records.len() as u32,
            error,
        }
    }
}

/// How a call ended: the answer or the error, and what it cost either way.
pub struct CallResult {
    pub result: Result<Response, LlmError>,
    pub summary: CallSummary,
}

/// Runs one call to its end, emitting its events. On cancellation the stream is polled a little
/// longer so the router records the cancelled attempt, then the call ends as `Cancelled`.
pub async fn drive(
    provider: Arc<dyn Provider>,
    request: Request,
    call_id: CallId,
    events: &dyn EventSink,
    cancel: &CancellationToken,
) -> CallResult {
    let mut stream = provider.stream(request);
    let mut response = Response::default();
    let mut summary = CallSummary::default();
    let cancelled = || LlmError::new(ErrorClass::Cancelled, provider.name(), "", "cancelled");
    let result = loop {
        let next = if cancel.is_cancelled() {
            match tokio::time::timeout(CANCEL_GRACE, stream.next()).await {
                Ok(ev) => ev,
                Err(_) => break Err(cancelled()),
            }
        } else {
            tokio::select! {
                ev = stream.next() => ev,
                _ = cancel.cancelled() => continue,
            }
        };
        let Some(ev) = next else {
            if cancel.is_cancelled() && response.finish.is_none() {
                break Err(cancelled());
            }
            break Ok(());
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => break Err(e),
        };
        match ev {
            StreamEvent::TextDelta { ref text } => events.emit(Event::ModelText {
                call_id,
                text: text.clone(),
            }),
            StreamEvent::ReasoningDelta { ref text } => events.emit(Event::ModelReasoning {
                call_id,
                text: text.clone(),
            }),
            StreamEvent::Reset { ref reason } => events.emit(Event::ModelReset {
                call_id,
                reason: reason.clone(),
            }),
            StreamEvent::Routing { event } => {
                events.emit(Event::Routing {
                    call_id,
                    message: event.to_string(),
                    event,
                });
                continue;
            }
            StreamEvent::Recorded { record } => {
                log_attempt(call_id, &record);
                summary.records.push(*record);
                continue;
            }
            _ => {}
        }
        response.apply(ev);
    };
    drop(stream);
    CallResult {
        result: result.map(|()| response),
        summary,
    }
}

fn log_attempt(call_id: CallId, r: &CallRecord) {
    tracing::info!(
        call = call_id.0,
        role = %r.role,
        provider = %r.provider,
        model = %r.model,
        attempt = r.attempt,
        route_index = r.route_index,
        outcome = r.outcome.as_str(),
        error = r.error_class.as_deref().unwrap_or(""),
        input_tokens = r.input_tokens,
        cached_tokens = r.cached_tokens,
        output_tokens = r.output_tokens,
        cost_usd = r.cost_usd.map_or("unknown".to_string(), |c| format!("{c:.6}")),
        latency_ms = r.latency_ms,
        "model call"
    );
}
