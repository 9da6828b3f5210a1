//! Router behaviour against scripted in-process providers, on paused tokio time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::time::Instant;

use super::*;
use crate::config::PriceOverride;
use crate::exit::{Exit, ExitStatus};
use crate::llm::pricing::{CostSource, PriceTable};
use crate::llm::usage::{CallRecord, MemorySink, Outcome};
use crate::llm::{FinishReason, Message, RateLimitInfo, Response, Usage};

#[derive(Clone)]
enum Item {
    Ev(StreamEvent),
    Sleep(Duration),
    Fail(LlmError),
    Hang,
}

/// A provider that plays one scripted stream per call, in order.
struct Fake {
    name: String,
    scripts: Mutex<VecDeque<Vec<Item>>>,
    calls: AtomicUsize,
}

impl Fake {
    fn new(name: &str, scripts: Vec<Vec<Item>>) -> Arc<Fake> {
        Arc::new(Fake {
            name: name.to_string(),
            scripts: Mutex::new(scripts.into()),
            calls: AtomicUsize::new(0),
        })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Provider for Fake {
    fn name(&self) -> &str {
        &self.name
    }
    fn stream(&self, request: Request) -> EventStream {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let script = self.scripts.lock().unwrap().pop_front().unwrap_or_else(|| {
            vec![Item::Fail(LlmError::new(
                ErrorClass::InvalidResponse,
                &self.name,
                &request.model,
                "fake script exhausted",
            ))]
        });
        Box::pin(stream::unfold(script.into_iter(), |mut it| async move {
            loop {
                match it.next()? {
                    Item::Ev(ev) => return Some((Ok(ev), it)),
                    Item::Fail(e) => return Some((Err(e), it)),
                    Item::Sleep(d) => tokio::time::sleep(d).await,
                    Item::Hang => std::future::pending::<()>().await,
                }
            }
        }))
    }
}

fn usage(i: u64, o: u64) -> Usage {
    Usage {
        input_tokens: i,
        output_tokens: o,
        ..Usage::default()
    }
}

fn answer(text: &str, u: Usage) -> Vec<Item> {
    vec![
        Item::Ev(StreamEvent::TextDelta { text: text.into() }),
        Item::Ev(StreamEvent::Usage { usage: u }),
        Item::Ev(StreamEvent::Finish {
            reason: FinishReason::Stop,
        }),
    ]
}

fn fail(class: ErrorClass, status: u16, msg: &str) -> Vec<Item> {
    vec![Item::Fail(
        LlmError::new(class, "fake", "m", msg).with_status(status),
    )]
}

fn fail_after(class: ErrorClass, status: u16, wait: Duration) -> Vec<Item> {
    vec![Item::Fail(
        LlmError::new(class, "fake", "m", "slow down")
            .with_status(status)
            .with_retry_after(Some(wait)),
    )]
}

fn request() -> Request {
    Request {
        model: String::new(),
        system: "be brief".into(),
        messages: vec![Message::User {
            content: "hello".into(),
        }],
        tools: vec![],
        max_output_tokens: 100,
        temperature: None,
        cache_key: None,
    }
}

struct Harness {
    max_answer_bytes: u64,
    max_answer_time: Duration,
    sink: Arc<MemorySink>,
    events: Arc<Mutex<Vec<RouterEvent>>>,
    breakers: Arc<Breakers>,
    pricing: Arc<Pricing>,
    cancel: CancellationToken,
}

impl Harness {
    fn new(breaker_failures: u32) -> Harness {
        Harness {
            max_answer_bytes: 4 << 20,
            max_answer_time: Duration::from_secs(900),
            sink: Arc::new(MemorySink::new()),
            events: Arc::new(Mutex::new(Vec::new())),
            breakers: Arc::new(Breakers::new(breaker_failures, Duration::from_secs(30))),
            pricing: Arc::new(Pricing::new(PriceTable::shipped(), BTreeMap::new())),
            cancel: CancellationToken::new(),
        }
    }

    fn router(&self, entries: Vec<(Arc<Fake>, &str)>) -> Router {
        let opts = RouterOptions {
            max_retries: 2,
            max_retry_wait: Duration::from_secs(60),
            max_answer_bytes: self.max_answer_bytes,
            max_answer_time: self.max_answer_time,
            context: CallContext {
                role: "coder".into(),
                project_id: Some(1),
                run_id: Some(2),
                step_id: Some(3),
                call_key_prefix: "r1/s1".into(),
            },
            breakers: self.breakers.clone(),
            pricing: self.pricing.clone(),
            sink: self.sink.clone(),
            cancel: self.cancel.clone(),
            jitter_seed: Some(1),
        };
        let entries = entries
            .into_iter()
            .map(|(p, m)| RouteEntry::new(p, m.parse().unwrap()))
            .collect();
        Router::new("coder", entries, opts)
    }

    /// Collects the answer like [`Provider::complete`], keeping the router's events and
    /// checking that every attempt recorded was also announced in the stream.
    async fn complete(&self, r: &Router, req: Request) -> Result<Response, LlmError> {
        let before = self.sink.records().len();
        let mut stream = r.stream(req);
        let mut response = Response::default();
        let mut announced = Vec::new();
        let mut result = Ok(());
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(StreamEvent::Routing { event }) => self.events.lock().unwrap().push(event),
                Ok(StreamEvent::Recorded { record }) => announced.push(*record),
                Ok(ev) => response.apply(ev),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(stream);
        assert_eq!(
            announced,
            self.sink.records()[before..],
            "recorded vs announced"
        );
        result.map(|()| response)
    }

    fn records(&self) -> Vec<CallRecord> {
        self.sink.records()
    }

    fn events(&self) -> Vec<RouterEvent> {
        self.events.lock().unwrap().clone()
    }

    fn event_lines(&self) -> Vec<String> {
        self.events().iter().map(|e| e.to_string()).collect()
    }
}

/// (route_index, attempt, outcome, status) of each record.
fn shape(recs: &[CallRecord]) -> Vec<(u32, u32, Outcome, Option<u16>)> {
    recs.iter()
        .map(|r| (r.route_index, r.attempt, r.outcome, r.http_status))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retry_then_success_records_two_attempts_with_exact_cost() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![
            fail(ErrorClass::Server, 500, "server error"),
            answer("hi", usage(1000, 500)),
        ],
    );
    let r = h.router(vec![(a.clone(), "openai:gpt-4o")]);
    let t0 = Instant::now();
    let resp = h.complete(&r, request()).await.unwrap();
    let waited = t0.elapsed();
    assert_eq!(resp.text, "hi");
    assert_eq!(resp.usage, usage(1000, 500));
    assert_eq!(a.calls(), 2);
    // Backoff for the first retry: 0.5 s times a jitter in [0.75, 1].
    assert!(
        waited >= Duration::from_millis(375) && waited <= Duration::from_millis(500),
        "{waited:?}"
    );
    let recs = h.records();
    assert_eq!(
        shape(&recs),
        [(0, 1, Outcome::Error, Some(500)), (0, 2, Outcome::Ok, None)]
    );
    assert_eq!(recs[0].error_class.as_deref(), Some("server"));
    assert_eq!((recs[0].input_tokens, recs[0].cost_usd), (0, Some(0.0)));
    // gpt-4o: 1000 * 2.50/M + 500 * 10/M = 0.0025 + 0.005
    assert_eq!(recs[1].cost_usd, Some(0.0075));
    assert_eq!(recs[1].cost_source, CostSource::Table);
    assert_eq!((recs[1].input_tokens, recs[1].output_tokens), (1000, 500));
    assert!(!recs[1].usage_estimated);
    assert_eq!(recs[1].call_key, "r1/s1/1/0/2");
    assert_eq!((recs[1].role.as_str(), recs[1].run_id), ("coder", Some(2)));
    assert!(recs[1].request_bytes > 0);
    match &h.events()[..] {
        [
            RouterEvent::Retry {
                attempt: 1,
                status: Some(500),
                wait_ms,
                ..
            },
        ] => assert!(
            waited.as_millis() as u64 - *wait_ms <= 1,
            "timer granularity is 1 ms"
        ),
        other => panic!("unexpected events {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn falls_back_in_route_order_and_records_every_attempt() {
    let h = Harness::new(10);
    let a = Fake::new("openai", vec![fail(ErrorClass::BadKey, 401, "bad key")]);
    let b = Fake::new(
        "anthropic",
        vec![
            fail(ErrorClass::Overloaded, 529, "overloaded"),
            fail(ErrorClass::Overloaded, 529, "overloaded"),
            fail(ErrorClass::Overloaded, 529, "overloaded"),
        ],
    );
    let c = Fake::new("groq", vec![answer("from groq", usage(1000, 200))]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),
        (b.clone(), "anthropic:claude-sonnet-4-5"),
        (c.clone(), "groq:openai/gpt-oss-120b"),
    ]);
    let resp = h.complete(&r, request()).await.unwrap();
    assert_eq!(resp.text, "from groq");
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 3, 1));
    assert_eq!(
        shape(&h.records()),
        [
            (0, 1, Outcome::Error, Some(401)),
            (1, 1, Outcome::Error, Some(529)),
            (1, 2, Outcome::Error, Some(529)),
            (1, 3, Outcome::Error, Some(529)),
            (2, 1, Outcome::Ok, None),
        ]
    );
    // gpt-oss-120b on groq: 1000 * 0.15/M + 200 * 0.60/M
    assert_eq!(h.records()[4].cost_usd, Some(0.00027));
    let lines = h.event_lines();
    // The notice says why (the bug: it gave no reason on screen).
    assert_eq!(
        lines[0],
        "falling back to anthropic:claude-sonnet-4-5 (openai:gpt-4o 401 bad key)"
    );
    assert!(lines[1].starts_with("anthropic:claude-sonnet-4-5 529, retrying in"));
    assert!(lines[2].starts_with("anthropic:claude-sonnet-4-5 529, retrying in"));
    assert_eq!(
        lines[3],
        "falling back to groq:openai/gpt-oss-120b (anthropic:claude-sonnet-4-5 529 overloaded)"
    );
    assert_eq!(lines.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn insufficient_quota_is_never_retried_and_final_error_lists_each_entry() {
    let h = Harness::new(3);
    let a = Fake::new(
        "openai",
        vec![fail(ErrorClass::QuotaExhausted, 429, "quota exhausted")],
    );
    let b = Fake::new(
        "anthropic",
        vec![fail(
            ErrorClass::BadKey,
            401,
            "bad key (set ANTHROPIC_API_KEY or run `samocoder keys set anthropic`)",
        )],
    );
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4.1"),
        (b.clone(), "anthropic:claude-sonnet-4-5"),
    ]);
    let t0 = Instant::now();
    let err = h.complete(&r, request()).await.unwrap_err();
    assert_eq!(t0.elapsed(), Duration::ZERO, "no waiting on final errors");
    assert_eq!((a.calls(), b.calls()), (1, 1));
    assert_eq!(err.class, ErrorClass::BadKey);
    assert_eq!(err.provider, "route");
    assert_eq!(
        err.message,
        "no provider could serve: openai:gpt-4.1 429 quota exhausted; anthropic:claude-sonnet-4-5 401 bad key (set ANTHROPIC_API_KEY or run `samocoder keys set anthropic`)"
    );
    assert_eq!(err.exit(), Exit::NoProvider);
    assert_eq!(h.records().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_exactly() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![
            fail_after(ErrorClass::RateLimited, 429, Duration::from_millis(7250)),
            answer("ok", usage(10, 1)),
        ],
    );
    let r = h.router(vec![(a.clone(), "openai:gpt-4o")]);
    let t0 = Instant::now();
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "ok");
    assert_eq!(t0.elapsed(), Duration::from_millis(7250));
    assert_eq!(
        h.event_lines(),
        ["openai:gpt-4o 429, retrying in 7.2 s (attempt 2)"]
    );
}

#[tokio::test(start_paused = true)]
async fn too_long_retry_after_skips_to_the_next_entry_without_sleeping() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![fail_after(
            ErrorClass::RateLimited,
            429,
            Duration::from_secs(600),
        )],
    );
    let b = Fake::new("anthropic", vec![answer("b", usage(1, 1))]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),
        (b.clone(), "anthropic:claude-sonnet-4-5"),
    ]);
    let t0 = Instant::now();
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "b");
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!(a.calls(), 1);
    assert!(matches!(
        &h.events()[..],
        [
            RouterEvent::WaitTooLong {
                wait_ms: 600_000,
                max_wait_ms: 60_000,
                ..
            },
            RouterEvent::Fallback { .. }
        ]
    ));
}

#[tokio::test(start_paused = true)]
async fn circuit_breaker_opens_skips_half_opens_and_closes() {
    let h = Harness::new(2);
    let a = Fake::new(
        "openai",
        vec![
            fail(ErrorClass::Server, 500, "boom"),
            fail(ErrorClass::Server, 500, "boom"),
            answer("a is back", usage(1, 1)),
        ],
    );
    let b = Fake::new(
        "anthropic",
        vec![
            answer("b", usage(1, 1)),
            answer("b", usage(1, 1)),
            answer("b", usage(1, 1)),
        ],
    );
    let entries = || {
        vec![
            (a.clone(), "openai:gpt-4o"),
            (b.clone(), "anthropic:claude-sonnet-4-5"),
        ]
    };
    // Two failures in a row (with one retry in between) open openai's circuit.
    let r = h.router(entries());
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "b");
    assert_eq!(a.calls(), 2);
    assert!(
        h.event_lines()
            .contains(&"openai circuit open for 30.0 s".to_string())
    );
    // A second router in the same process shares the breaker: openai is skipped.
    let r2 = h.router(entries());
    assert_eq!(h.complete(&r2, request()).await.unwrap().text, "b");
    assert_eq!(a.calls(), 2, "skipped while open");
    assert!(
        h.events().iter().any(
            |e| matches!(e, RouterEvent::BreakerSkip { provider, .. } if provider == "openai")
        )
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(h.complete(&r2, request()).await.unwrap().text, "a is back");
    let lines = h.event_lines();
    let tail = &lines[lines.len() - 2..];
    assert_eq!(
        tail,
        [
            "openai circuit half-open: trying one call",
            "openai circuit closed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn mid_stream_failure_resets_and_complete_returns_only_the_retry() {
    let h = Harness::new(5);
    let mut broken = vec![Item::Ev(StreamEvent::TextDelta {
        text: "partial answ".into(),
    })];
    broken.push(Item::Fail(LlmError::new(
        ErrorClass::StreamCut,
        "openai",
        "gpt-4o",
        "connection reset",
    )));
    let a = Fake::new(
        "openai",
        vec![
            broken.clone(),
            answer("whole answer", usage(100, 10)),
            broken,
            answer("whole answer", usage(100, 10)),
        ],
    );
    let r = h.router(vec![(a.clone(), "openai:gpt-4o")]);
    let events: Vec<StreamEvent> = r
        .stream(request())
        .map(|e| e.unwrap())
        .filter(|e| {
            std::future::ready(!matches!(
                e,
                StreamEvent::Routing { .. } | StreamEvent::Recorded { .. }
            ))
        })
        .collect()
        .await;
    assert_eq!(
        events,
        [
            StreamEvent::TextDelta {
                text: "partial answ".into()
            },
            StreamEvent::Reset {
                reason: "openai:gpt-4o stream cut".into()
            },
            StreamEvent::TextDelta {
                text: "whole answer".into()
            },
            StreamEvent::Usage {
                usage: usage(100, 10)
            },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
    let resp = h.complete(&r, request()).await.unwrap();
    assert_eq!(resp.text, "whole answer");
    // The broken attempt reported no usage: estimated from sizes, and marked.
    let broken_rec = &h.records()[0];
    assert!(broken_rec.usage_estimated);
    assert_eq!(broken_rec.output_tokens, 3, "12 chars / 4");
    assert_eq!(
        broken_rec.input_tokens,
        broken_rec.request_bytes.div_ceil(4)
    );
    assert_eq!(broken_rec.error_class.as_deref(), Some("stream_cut"));
}

#[tokio::test(start_paused = true)]
async fn stream_without_finish_is_a_cut_not_an_answer() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![
            vec![Item::Ev(StreamEvent::TextDelta {
                text: "half".into(),
            })],
            answer("full", usage(1, 1)),
        ],
    );
    let r = h.router(vec![(a.clone(), "openai:gpt-4o")]);
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "full");
    assert_eq!(h.records()[0].error_class.as_deref(), Some("stream_cut"));
}

#[tokio::test(start_paused = true)]
async fn context_length_falls_back_to_a_larger_window_only() {
    let h = Harness::new(5);
    let too_long = || fail(ErrorClass::ContextLength, 400, "prompt is too long");
    let a = Fake::new("openai", vec![too_long()]);
    let small = Fake::new("openai", vec![answer("never", usage(1, 1))]);
    let big = Fake::new("anthropic", vec![answer("fits", usage(1, 1))]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),                 // 128k
        (small.clone(), "openai:gpt-4"),              // 8k
        (big.clone(), "anthropic:claude-sonnet-4-5"), // 200k
    ]);
    assert_eq!(r.entries()[1].context_window, Some(8192));
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "fits");
    assert_eq!((a.calls(), small.calls(), big.calls()), (1, 0, 1));
    assert!(h.events().iter().any(|e| matches!(
        e,
        RouterEvent::ContextSkip {
            window: 8192,
            needed_more_than: 128_000,
            ..
        }
    )));

    // When no model fits, the error says so.
    let h = Harness::new(5);
    let a = Fake::new("openai", vec![too_long()]);
    let big = Fake::new("anthropic", vec![too_long()]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),
        (big.clone(), "anthropic:claude-sonnet-4-5"),
    ]);
    let err = h.complete(&r, request()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::ContextLength);
    assert!(
        err.message
            .starts_with("the prompt is too long for every model in the route"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_drops_the_stream_promptly_and_records_it() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![vec![
            Item::Ev(StreamEvent::TextDelta {
                text: "thinking".into(),
            }),
            Item::Hang,
        ]],
    );
    let r = h.router(vec![(a.clone(), "openai:gpt-4o")]);
    let cancel = h.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        cancel.cancel();
    });
    let t0 = Instant::now();
    let err = h.complete(&r, request()).await.unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    assert_eq!(err.class, ErrorClass::Cancelled);
    assert_eq!(err.exit(), Exit::Interrupted);
    let recs = h.records();
    assert_eq!(shape(&recs), [(0, 1, Outcome::Cancelled, None)]);
    assert_eq!(recs[0].latency_ms, 5000);
    assert_eq!(recs[0].ttft_ms, Some(0));
}

#[tokio::test(start_paused = true)]
async fn cancellation_interrupts_a_backoff_sleep() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![fail_after(
            ErrorClass::RateLimited,
            429,
            Duration::from_secs(50),
        )],
    );
    let b = Fake::new("anthropic", vec![answer("b", usage(1, 1))]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),
        (b.clone(), "anthropic:claude-sonnet-4-5"),
    ]);
    let cancel = h.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let t0 = Instant::now();
    let err = h.complete(&r, request()).await.unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    assert_eq!(err.class, ErrorClass::Cancelled);
    assert_eq!((a.calls(), b.calls()), (1, 0));
    assert_eq!(h.records().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn latency_and_time_to_first_token_are_measured() {
    let h = Harness::new(5);
    let mut script = vec![Item::Sleep(Duration::from_millis(300))];
    script.extend(
        answer("x", usage(1, 1))
            .into_iter()
            .flat_map(|i| [i, Item::Sleep(Duration::from_millis(100))]),
    );
    let a = Fake::new("openai", vec![script]);
    let r = h.router(vec![(a, "openai:gpt-4o")]);
    h.complete(&r, request()).await.unwrap();
    let rec = &h.records()[0];
    assert_eq!((rec.ttft_ms, rec.latency_ms), (Some(300), 600));
}

#[tokio::test(start_paused = true)]
async fn unknown_price_is_none_with_one_warning() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![answer("a", usage(10, 10)), answer("b", usage(10, 10))],
    );
    let r = h.router(vec![(a, "openai:gpt-imaginary")]);
    h.complete(&r, request()).await.unwrap();
    h.complete(&r, request()).await.unwrap();
    let recs = h.records();
    assert!(
        recs.iter()
            .all(|r| r.cost_usd.is_none() && r.cost_source == CostSource::Unknown)
    );
    assert_eq!(
        h.events(),
        [RouterEvent::UnknownPrice {
            model: "openai:gpt-imaginary".into()
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn openrouter_reported_cost_wins_over_overrides() {
    let mut h = Harness::new(5);
    let mut overrides = BTreeMap::new();
    overrides.insert(
        "openrouter:anthropic/claude-sonnet-4.5".to_string(),
        PriceOverride {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
            context_window: None,
        },
    );
    h.pricing = Arc::new(Pricing::new(PriceTable::shipped(), overrides));
    let mut u = usage(1000, 100);
    u.reported_cost_usd = Some(0.0045004);
    let a = Fake::new(
        "openrouter",
        vec![answer("x", u), answer("y", usage(1000, 100))],
    );
    let r = h.router(vec![(a, "openrouter:anthropic/claude-sonnet-4.5")]);
    h.complete(&r, request()).await.unwrap();
    h.complete(&r, request()).await.unwrap();
    let recs = h.records();
    assert_eq!(
        (recs[0].cost_usd, recs[0].cost_source),
        (Some(0.0045), CostSource::Provider)
    );
    // Without a reported cost the override prices it: 0.003 + 0.0015.
    assert_eq!(
        (recs[1].cost_usd, recs[1].cost_source),
        (Some(0.0045), CostSource::Override)
    );
}

#[tokio::test(start_paused = true)]
async fn each_record_names_its_price_table_and_keeps_the_tables_figure_beside_a_reported_cost() {
    let h = Harness::new(5);
    let mut u = usage(1000, 100);
    u.reported_cost_usd = Some(0.009);
    let a = Fake::new(
        "openrouter",
        vec![answer("x", u), answer("y", usage(1000, 100))],
    );
    let r = h.router(vec![(a, "openrouter:anthropic/claude-sonnet-4.5")]);
    h.complete(&r, request()).await.unwrap();
    h.complete(&r, request()).await.unwrap();
    let recs = h.records();
    // The provider's figure is counted; the table's (0.003 + 0.0015) is kept to compare.
    assert_eq!(
        (
            recs[0].cost_usd,
            recs[0].cost_source,
            recs[0].table_cost_usd
        ),
        (Some(0.009), CostSource::Provider, Some(0.0045))
    );
    assert_eq!(recs[0].price_table.as_deref(), Some("models.dev 1.0.398"));
    assert_eq!(
        (
            recs[1].cost_usd,
            recs[1].cost_source,
            recs[1].table_cost_usd
        ),
        (Some(0.0045), CostSource::Table, None)
    );
    assert_eq!(recs[1].price_table.as_deref(), Some("models.dev 1.0.398"));
}

#[tokio::test(start_paused = true)]
async fn a_local_base_url_is_not_free_but_a_free_entry_is() {
    let h = Harness::new(5);
    let paid = Fake::new("myproxy", vec![answer("x", usage(10, 10))]);
    let free = Fake::new("ollama", vec![answer("y", usage(10, 10))]);
    let opts = RouterOptions::new(
        &crate::config::NetworkConfig {
            connect_timeout_s: 1.0,
            first_byte_timeout_s: 1.0,
            idle_timeout_s: 1.0,
            max_retries: 0,
            max_retry_wait_s: 1.0,
            breaker_failures: 5,
            breaker_cooldown_s: 1.0,
            max_answer_bytes: 4 << 20,
            max_answer_s: 900.0,
        },
        h.breakers.clone(),
        h.pricing.clone(),
        h.sink.clone(),
    );
    let a = Router::new(
        "a",
        vec![RouteEntry::new(paid, "myproxy:llama3".parse().unwrap())],
        opts.clone(),
    );
    h.complete(&a, request()).await.unwrap();
    let b = Router::new(
        "b",
        vec![RouteEntry::new(free, "ollama:llama3".parse().unwrap()).free(true)],
        opts,
    );
    h.complete(&b, request()).await.unwrap();
    let recs = h.records();
    assert_eq!(
        (recs[0].cost_usd, recs[0].cost_source),
        (None, CostSource::Unknown)
    );
    assert_eq!(recs[0].price_table, None);
    assert_eq!(
        (recs[1].cost_usd, recs[1].cost_source),
        (Some(0.0), CostSource::Override)
    );
    assert_eq!(recs[1].price_table.as_deref(), Some("free"));
    assert!(
        h.event_lines().iter().any(|l| l.contains("myproxy:llama3")),
        "{:?}",
        h.event_lines()
    );
}

#[tokio::test(start_paused = true)]
async fn request_bytes_are_the_adapters_body_size_not_an_estimate() {
    let h = Harness::new(5);
    let mut sized = vec![Item::Ev(StreamEvent::RequestBytes { bytes: 1531 })];
    sized.extend(answer("x", usage(1, 1)));
    let a = Fake::new("openai", vec![sized, answer("y", usage(1, 1))]);
    let r = h.router(vec![(a, "openai:gpt-4o")]);
    let events: Vec<_> = r.stream(request()).collect().await;
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Ok(StreamEvent::RequestBytes { .. }))),
        "the router keeps the size to itself"
    );
    h.complete(&r, request()).await.unwrap();
    let recs = h.records();
    assert_eq!(recs[0].request_bytes, 1531);
    // A provider that reports no size (a fake, a cassette): the neutral request's size.
    let mut req = request();
    req.model = "gpt-4o".into();
    assert_eq!(
        recs[1].request_bytes,
        serde_json::to_vec(&req).unwrap().len() as u64
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_rate_limit_paces_the_next_request() {
    let h = Harness::new(5);
    let mut first = vec![Item::Ev(StreamEvent::RateLimit {
        info: RateLimitInfo {
            remaining_requests: Some(0),
            reset_requests_ms: Some(4000),
            ..RateLimitInfo::default()
        },
    })];
    first.extend(answer("one", usage(1, 1)));
    let a = Fake::new("groq", vec![first, answer("two", usage(1, 1))]);
    let r = h.router(vec![(a, "groq:openai/gpt-oss-120b")]);
    let events: Vec<_> = r.stream(request()).collect().await;
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Ok(StreamEvent::RateLimit { .. }))),
        "rate-limit info is consumed, not forwarded"
    );
    let t0 = Instant::now();
    assert_eq!(h.complete(&r, request()).await.unwrap().text, "two");
    assert_eq!(t0.elapsed(), Duration::from_secs(4));
    assert_eq!(
        h.event_lines(),
        ["groq rate limit reached, waiting 4.0 s for it to reset"]
    );
}

struct FailingSink;
impl UsageSink for FailingSink {
    fn record(&self, _rec: &CallRecord) -> Result<(), String> {
        Err("database is locked".into())
    }
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_cannot_be_recorded_is_not_handed_on() {
    let h = Harness::new(5);
    let a = Fake::new("openai", vec![answer("paid", usage(1, 1))]);
    let mut r = h.router(vec![(a, "openai:gpt-4o")]);
    Arc::get_mut(&mut r.inner).unwrap().opts.sink = Arc::new(FailingSink);
    let events: Vec<_> = r.stream(request()).collect().await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Ok(StreamEvent::Finish { .. })))
    );
    let err = events.last().unwrap().clone().unwrap_err();
    assert_eq!(err.class, ErrorClass::RecordFailed);
    assert!(err.message.contains("database is locked"));
    assert_eq!(err.exit(), Exit::Failure);
}

#[tokio::test(start_paused = true)]
async fn truncated_answers_are_recorded_as_truncated() {
    let h = Harness::new(5);
    let a = Fake::new(
        "openai",
        vec![vec![
            Item::Ev(StreamEvent::TextDelta { text: "cut".into() }),
            Item::Ev(StreamEvent::Finish {
                reason: FinishReason::Truncated,
            }),
        ]],
    );
    let r = h.router(vec![(a, "openai:gpt-4o")]);
    let resp: Response = h.complete(&r, request()).await.unwrap();
    assert!(resp.is_truncated());
    let rec = &h.records()[0];
    assert_eq!(rec.outcome, Outcome::Truncated);
    assert!(rec.usage_estimated, "no usage reported: estimated");
    assert_eq!(resp.usage.output_tokens, 1);
}

#[tokio::test]
async fn empty_route_is_a_clear_error() {
    let h = Harness::new(5);
    let r = h.router(vec![]);
    let err = h.complete(&r, request()).await.unwrap_err();
    assert!(
        err.message.contains("the route has no models"),
        "{}",
        err.message
    );
    assert_eq!(r.name(), "route:coder");
}

#[tokio::test(start_paused = true)]
async fn regression_an_impossible_usage_is_a_provider_error_never_recorded() {
    let h = Harness::new(5);
    // A server reported prompt_tokens near i64::MAX: it was recorded as a $9-trillion call and
    // the day's roll-up for that model overflowed.
    let a = Fake::new("openai", vec![answer("hi", usage(i64::MAX as u64 - 5, 10))]);
    let b = Fake::new("anthropic", vec![answer("fine", usage(100, 10))]);
    let r = h.router(vec![
        (a.clone(), "openai:gpt-4o"),
        (b.clone(), "anthropic:claude-sonnet-4-5"),
    ]);
    let resp = h.complete(&r, request()).await.unwrap();
    assert_eq!(resp.text, "fine");
    let recs = h.records();
    assert_eq!(recs[0].outcome, Outcome::Error);
    assert_eq!(recs[0].error_class.as_deref(), Some("invalid_response"));
    assert!(recs[0].usage_estimated);
    assert!(recs[0].input_tokens < 1_000_000, "{}", recs[0].input_tokens);
    assert!(recs[0].cost_usd.unwrap_or(0.0) < 1.0);
}

#[tokio::test(start_paused = true)]
async fn regression_an_answer_without_end_is_cut_at_its_byte_cap_and_never_stored_whole() {
    let mut h = Harness::new(5);
    h.max_answer_bytes = 64 * 1024;
    let chunk = "x".repeat(10_000);
    let endless: Vec<Item> = (0..100)
        .map(|_| {
            Item::Ev(StreamEvent::TextDelta {
                text: chunk.clone(),
            })
        })
        .chain([Item::Hang])
        .collect();
    let a = Fake::new("openai", vec![endless]);
    let r = h.router(vec![(a, "openai:gpt-4o")]);
    let resp = h.complete(&r, request()).await.unwrap();
    assert!(resp.text.len() <= 64 * 1024, "{}", resp.text.len());
    assert_eq!(resp.finish, Some(FinishReason::Truncated));
    assert_eq!(h.records()[0].outcome, Outcome::Truncated);
    assert!(
        h.event_lines()
            .iter()
            .any(|l| l.contains("network.max_answer_bytes"))
    );
}

#[tokio::test(start_paused = true)]
async fn regression_a_stream_that_never_ends_is_cut_at_its_time_cap() {
    let mut h = Harness::new(5);
    h.max_answer_time = Duration::from_secs(30);
    let a = Fake::new(
        "openai",
        vec![vec![
            Item::Ev(StreamEvent::TextDelta {
                text: "thinking...".into(),
            }),
            Item::Hang,
        ]],
    );
    let r = h.router(vec![(a, "openai:gpt-4o")]);
    let t0 = Instant::now();
    let resp = h.complete(&r, request()).await.unwrap();
    assert_eq!(resp.finish, Some(FinishReason::Truncated));
    assert_eq!(resp.text, "thinking...");
    assert!(t0.elapsed() >= Duration::from_secs(30) && t0.elapsed() < Duration::from_secs(31));
    assert!(
        h.event_lines()
            .iter()
            .any(|l| l.contains("network.max_answer_s"))
    );
}
