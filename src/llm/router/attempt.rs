//! One attempt on one route entry: stream, forward, measure, record, then hand on the end.

use futures_util::StreamExt;
use tokio::time::Instant;

use super::{Inner, RouteEntry, RouterEvent, Tx};
use crate::llm::usage::{CallRecord, Outcome, estimate_tokens};
use crate::llm::{ErrorClass, FinishReason, LlmError, Request, StreamEvent, Usage};

/// What the router saw of one attempt.
#[derive(Default)]
struct Seen {
    /// Content events forwarded to the consumer (a `Reset` is owed if the attempt fails).
    forwarded: bool,
    /// Anything but rate-limit info arrived: the provider started answering.
    started: bool,
    out_chars: u64,
    ttft_ms: Option<u64>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    /// Bytes of content streamed so far (text, tool-call arguments, reasoning).
    out_bytes: u64,
}

impl Inner {
    /// Runs one attempt. `Ok` means the whole answer was recorded and handed on.
    pub(super) async fn attempt(
        &self,
        idx: usize,
        attempt: u32,
        entry: &RouteEntry,
        request: &Request,
        call: u64,
        tx: &Tx,
    ) -> Result<(), LlmError> {
        let mut req = request.clone();
        req.model = entry.model.model.clone();
        // Replaced by the adapter's exact body size when it reports one (fakes and cassettes
        // do not: they send nothing).
        let mut request_bytes = serde_json::to_vec(&req).map_or(0, |v| v.len() as u64);
        let max_output = request.max_output_tokens;
        let started = Instant::now();
        let mut stream = entry.provider.stream(req);
        let mut seen = Seen::default();
        // An answer is never longer than its caps, whatever the server streams: past them it is
        // ended as cut (nothing more is read, forwarded or stored).
        let cap_bytes = answer_cap(self.opts.max_answer_bytes, max_output);
        let deadline = started + self.opts.max_answer_time;
        let mut cut: Option<String> = None;
        let end: Result<(), LlmError> = loop {
            let next = tokio::select! {
                biased;
                _ = self.opts.cancel.cancelled() => break Err(self.cancelled(&entry.model)),
                _ = tokio::time::sleep_until(deadline) => {
                    cut = Some(format!(
                        "the answer was still streaming after {:.0} s (network.max_answer_s): it was cut there",
                        self.opts.max_answer_time.as_secs_f64()
                    ));
                    break Ok(());
                }
                next = stream.next() => next,
            };
            let ev = match next {
                None if seen.finish.is_some() => break Ok(()),
                None => {
                    break Err(LlmError::new(
                        ErrorClass::StreamCut,
                        &entry.model.provider,
                        &entry.model.model,
                        "the stream ended before the model finished",
                    ));
                }
                Some(Err(e)) => break Err(e),
                Some(Ok(ev)) => ev,
            };
            if let StreamEvent::RequestBytes { bytes } = ev {
                request_bytes = bytes;
                continue;
            }
            if let StreamEvent::Routing { .. } | StreamEvent::Recorded { .. } = ev {
                // From a nested router: its consumer is ours.
                let _ = tx.send(Ok(ev)).await;
                continue;
            }
            if !matches!(
                ev,
                StreamEvent::RateLimit { .. } | StreamEvent::Notice { .. }
            ) {
                seen.started = true;
            }
            let size = content_bytes(&ev);
            if size > 0 && seen.out_bytes.saturating_add(size) > cap_bytes {
                cut = Some(format!(
                    "the answer passed {cap_bytes} bytes (network.max_answer_bytes, or far more than {max_output} output tokens): it was cut there"
                ));
                break Ok(());
            }
            seen.out_bytes += size;
            match ev {
                StreamEvent::RateLimit { info } => {
                    self.opts
                        .breakers
                        .note_rate_limit(&entry.model.provider, &info);
                    continue;
                }
                StreamEvent::Usage { usage } => {
                    seen.usage = Some(usage);
                    continue;
                }
                StreamEvent::Finish { reason } => {
                    seen.finish = Some(reason);
                    continue;
                }
                StreamEvent::TextDelta { ref text } => {
                    seen.out_chars += text.chars().count() as u64;
                    seen.ttft_ms.get_or_insert(ms(started));
                }
                StreamEvent::ToolCallStart { ref name, .. } => {
                    seen.out_chars += name.chars().count() as u64;
                    seen.ttft_ms.get_or_insert(ms(started));
                }
                StreamEvent::ToolCallDelta { ref arguments, .. } => {
                    seen.out_chars += arguments.chars().count() as u64;
                }
                // Reasoning is billed output: it counts for the estimate of a stream that
                // breaks before the provider reports usage.
                StreamEvent::ReasoningDelta { ref text } | StreamEvent::Refusal { ref text } => {
                    seen.out_chars += text.chars().count() as u64;
                    seen.ttft_ms.get_or_insert(ms(started));
                }
                StreamEvent::Notice { message } => {
                    self.emit(
                        tx,
                        RouterEvent::Notice {
                            model: entry.model.to_string(),
                            message,
                        },
                    )
                    .await;
                    continue;
                }
                StreamEvent::Reasoning { .. }
                | StreamEvent::ToolCallEnd { .. }
                | StreamEvent::Reset { .. }
                | StreamEvent::RequestBytes { .. }
                | StreamEvent::Routing { .. }
                | StreamEvent::Recorded { .. } => {}
            }
            seen.forwarded = true;
            let _ = tx.send(Ok(ev)).await;
        };
        drop(stream);
        let latency_ms = ms(started);
        if let Some(message) = cut {
            seen.finish = Some(FinishReason::Truncated);
            self.emit(
                tx,
                RouterEvent::Notice {
                    model: entry.model.to_string(),
                    message,
                },
            )
            .await;
        }

        // A usage no call can have (a server bug, a hostile proxy) is a provider error: it is
        // never recorded or priced (it would poison the totals and the budgets); the attempt
        // is recorded with estimated tokens and the route moves on.
        let end = match (end, seen.usage.as_ref().and_then(implausible)) {
            (Ok(()), Some(why)) => {
                seen.usage = None;
                Err(LlmError::new(
                    ErrorClass::InvalidResponse,
                    &entry.model.provider,
                    &entry.model.model,
                    format!("reported an impossible usage ({why}); the answer was not used"),
                ))
            }
            (end, Some(_)) => {
                seen.usage = None;
                end
            }
            (end, None) => end,
        };

        let usage = match seen.usage.take() {
            // A failed attempt's reported usage may predate most of its output (Anthropic's
            // `message_start`): never record less output than was seen.
            Some(mut u) if end.is_err() && estimate_tokens(seen.out_chars) > u.output_tokens => {
                u.output_tokens = estimate_tokens(seen.out_chars);
                u.estimated = true;
                u
            }
            Some(u) => u,
            None if seen.started => Usage {
                input_tokens: estimate_tokens(request_bytes),
                output_tokens: estimate_tokens(seen.out_chars),
                estimated: true,
                ..Usage::default()
            },
            None => Usage::default(),
        };
        let outcome = match &end {
            Ok(())
                if matches!(
                    seen.finish,
                    Some(FinishReason::Truncated | FinishReason::ContextFull)
                ) =>
            {
                Outcome::Truncated
            }
            Ok(()) => Outcome::Ok,
            Err(e) if e.class == ErrorClass::Cancelled => Outcome::Cancelled,
            Err(_) => Outcome::Error,
        };
        let cost = self.opts.pricing.cost(&entry.model, &usage, entry.free);
        if cost.first_unknown {
            self.emit(
                tx,
                RouterEvent::UnknownPrice {
                    model: entry.model.to_string(),
                },
            )
            .await;
        }
        let ctx = &self.opts.context;
        let err = end.as_ref().err();
        let rec = CallRecord {
            run_id: ctx.run_id,
            project_id: ctx.project_id,
            step_id: ctx.step_id,
            role: ctx.role.clone(),
            provider: entry.model.provider.clone(),
            model: entry.model.model.clone(),
            route_index: idx as u32,
            attempt,
            outcome,
            error_class: err.map(|e| e.class.as_str().to_string()),
            http_status: err.and_then(|e| e.status),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            cost_usd: cost.usd,
            cost_source: cost.source,
            price_table: cost.table,
            table_cost_usd: cost.table_usd,
            usage_estimated: usage.estimated,
            latency_ms,
            ttft_ms: seen.ttft_ms,
            request_bytes,
            call_key: format!("{}/{call}/{idx}/{attempt}", ctx.call_key_prefix),
            created_at: chrono::Utc::now(),
        };
        if let Err(msg) = self.opts.sink.record(&rec) {
            return Err(LlmError::new(
                ErrorClass::RecordFailed,
                &entry.model.provider,
                &entry.model.model,
                format!("could not record the call's usage ({msg}); the answer was not used"),
            ));
        }
        let _ = tx
            .send(Ok(StreamEvent::Recorded {
                record: Box::new(rec),
            }))
            .await;

        match end {
            Ok(()) => {
                if self.opts.breakers.success(&entry.model.provider) {
                    self.emit(
                        tx,
                        RouterEvent::BreakerClosed {
                            provider: entry.model.provider.clone(),
                        },
                    )
                    .await;
                }
                let _ = tx.send(Ok(StreamEvent::Usage { usage })).await;
                if let Some(reason) = seen.finish {
                    let _ = tx.send(Ok(StreamEvent::Finish { reason })).await;
                }
                Ok(())
            }
            Err(e) => {
                if seen.forwarded && !e.class.is_final() {
                    let reason = format!("{} {}", entry.model, e.class.as_str().replace('_', " "));
                    self.emit(
                        tx,
                        RouterEvent::Reset {
                            model: entry.model.to_string(),
                            reason: reason.clone(),
                        },
                    )
                    .await;
                    let _ = tx.send(Ok(StreamEvent::Reset { reason })).await;
                }
                Err(e)
            }
        }
    }
}

/// The most bytes an answer may stream: the configured cap, and never far more than the
/// output-token limit allows (16 bytes a token, with a floor for small limits).
fn answer_cap(max_bytes: u64, max_output_tokens: u32) -> u64 {
    max_bytes.min((u64::from(max_output_tokens) * 16).max(64 * 1024))
}

/// The content bytes an event adds to the answer.
fn content_bytes(ev: &StreamEvent) -> u64 {
    match ev {
        StreamEvent::TextDelta { text }
        | StreamEvent::ReasoningDelta { text }
        | StreamEvent::Refusal { text } => text.len() as u64,
        StreamEvent::ToolCallDelta { arguments, .. } => arguments.len() as u64,
        StreamEvent::ToolCallStart { name, .. } => name.len() as u64,
        // A whole call at once (adapters that do not stream arguments) counts unless its
        // arguments were counted as deltas already.
        _ => 0,
    }
}

/// More tokens than any model's context window or output holds, for one call.
const MAX_PLAUSIBLE_TOKENS: u64 = 100_000_000;

/// What is impossible about a reported usage, if anything.
fn implausible(u: &Usage) -> Option<String> {
    [
        ("input", u.input_tokens),
        ("output", u.output_tokens),
        ("cached input", u.cached_input_tokens),
        ("cache write", u.cache_write_tokens),
        ("reasoning", u.reasoning_tokens),
    ]
    .into_iter()
    .find(|(_, n)| *n > MAX_PLAUSIBLE_TOKENS)
    .map(|(what, n)| format!("{n} {what} tokens"))
    .or_else(|| {
        u.reported_cost_usd
            .filter(|c| !c.is_finite() || *c < 0.0 || *c > 10_000.0)
            .map(|c| format!("a cost of ${c}"))
    })
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}
