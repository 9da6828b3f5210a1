//! `samocoder ask PROMPT`: one request through a route (or one model), the answer on stdout,
//! every attempt recorded in the usage database. For scripts and for checking a setup.
//!
//! Output: on a terminal the text is streamed as it arrives; when a stream breaks after text
//! was shown and the router re-issues the request, the partial line is ended, a notice goes to
//! stderr and the new answer is printed from its start (the screen keeps the discarded part,
//! marked by the notice). Off a terminal, or with `--json`, nothing is printed until the answer
//! is complete, so a pipe never sees half of two attempts.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Ctx, UsageError};
use crate::config::{Config, ModelRef};
use crate::exit::Exit;
use crate::keys::{self, Keys};
use crate::llm::cassette::{RecordingProvider, ReplayProvider};
use crate::llm::router::RouterObserver;
use crate::llm::usage::{CallContext, CallRecord, Outcome, UsageSink};
use crate::llm::{
    FinishReason, LlmError, Message, ModelLayer, Provider, Request, Response, StreamEvent, ToolCall,
};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The prompt; `-` reads it from stdin.
    pub prompt: String,
    /// Ask this model only (no fallback), e.g. `openai:gpt-4.1`.
    #[arg(long, value_name = "PROVIDER:MODEL", conflicts_with = "route")]
    pub model: Option<String>,
    /// Use this route from the config (default: the `ask` route, else `default`).
    #[arg(long, value_name = "NAME")]
    pub route: Option<String>,
    /// Append the answer to this cassette (JSON lines, see docs/cassette.md).
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer from this cassette instead of a provider (no network, no key, no cost).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Most output tokens to ask for (default: limits.max_output_tokens).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_output_tokens: Option<u32>,
}

/// Keeps a copy of every record handed to the store, for the summary.
struct Tee {
    inner: Arc<dyn UsageSink>,
    seen: Mutex<Vec<CallRecord>>,
}

impl UsageSink for Tee {
    fn record(&self, rec: &CallRecord) -> Result<(), String> {
        self.inner.record(rec)?;
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(rec.clone());
        }
        Ok(())
    }
}

pub fn run(args: AskArgs, ctx: &Ctx) -> anyhow::Result<Exit> {
    let prompt = read_prompt(&args.prompt)?;
    let config = ctx.config()?;
    let max_output_tokens = args
        .max_output_tokens
        .unwrap_or(config.limits.max_output_tokens);
    let request = Request {
        model: String::new(),
        system: String::new(),
        messages: vec![Message::User { content: prompt }],
        tools: vec![],
        max_output_tokens,
        temperature: None,
        cache_key: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let _guard = rt.enter();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });

    if let Some(path) = &args.replay {
        let player: Arc<dyn Provider> = Arc::new(ReplayProvider::open(path)?);
        let response = rt.block_on(consume(ctx, player, request, &cancel))?;
        return finish(ctx, response, None, max_output_tokens);
    }

    let target = Target::from_args(&args, &config)?;
    let store = Store::open(&ctx.paths.database, Arc::new(crate::clock::SystemClock))?;
    let tee = Arc::new(Tee {
        inner: Arc::new(store),
        seen: Mutex::new(Vec::new()),
    });
    let keychain = keys::keychain_store(&ctx.env);
    let keys = Keys::new(&ctx.env, config.providers.values(), keychain);
    let providers = target.providers(&config);
    let layer = ModelLayer::for_providers(
        &config,
        &keys,
        &providers,
        tee.clone(),
        notices(ctx),
        cancel.clone(),
    )?
    .with_price_table(crate::llm::pricing::load_table(&ctx.paths.data_dir)?);
    let context = CallContext {
        role: "ask".into(),
        call_key_prefix: call_key_prefix(),
        ..CallContext::default()
    };
    let mut provider = match &target {
        Target::Model(m) => layer.model(m, context)?,
        Target::Route(name) => layer.route(name, context)?,
    };
    if let Some(path) = &args.record {
        provider = Arc::new(RecordingProvider::new(provider, path));
    }
    let result = rt.block_on(consume(ctx, provider, request, &cancel));
    let records = tee.seen.lock().map(|r| r.clone()).unwrap_or_default();
    let response = result?;
    finish(ctx, response, Some(&records), max_output_tokens)
}

/// Which models to ask.
enum Target {
    Model(ModelRef),
    Route(String),
}

impl Target {
    fn from_args(args: &AskArgs, config: &Config) -> Result<Target, UsageError> {
        if let Some(m) = &args.model {
            let m: ModelRef = m.parse().map_err(|e| UsageError(format!("--model: {e}")))?;
            if config.provider(&m.provider).is_none() {
                let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
                return Err(UsageError(format!(
                    "--model: no provider named `{}` in the config (known providers: {})",
                    m.provider,
                    known.join(", ")
                )));
            }
            return Ok(Target::Model(m));
        }
        match &args.route {
            Some(name) if !config.routes.contains_key(name) => {
                let known: Vec<&str> = config.routes.keys().map(String::as_str).collect();
                Err(UsageError(format!(
                    "--route: no route named `{name}` in the config (routes: {})",
                    known.join(", ")
                )))
            }
            Some(name) => Ok(Target::Route(name.clone())),
            None => Ok(Target::Route("ask".into())),
        }
    }

    /// The providers whose keys are needed (only those are looked up in the keychain).
    fn providers<'c>(&self, config: &'c Config) -> Vec<&'c str> {
        let models: Vec<&ModelRef> = match self {
            Target::Model(m) => vec![m],
            Target::Route(name) => config.route(name).iter().collect(),
        };
        let mut names: Vec<&'c str> = models
            .iter()
            .filter_map(|m| config.providers.get_key_value(&m.provider))
            .map(|(k, _)| k.as_str())
            .collect();
        names.dedup();
        names
    }
}

fn read_prompt(arg: &str) -> anyhow::Result<String> {
    let prompt = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| UsageError(format!("could not read the prompt from stdin: {e}")))?;
        text
    } else {
        arg.to_string()
    };
    if prompt.trim().is_empty() {
        return Err(UsageError(
            "the prompt is empty: give it as an argument, or `-` to read it from stdin".into(),
        )
        .into());
    }
    Ok(prompt)
}

/// Router notices on stderr (silent with `-q`).
fn notices(ctx: &Ctx) -> RouterObserver {
    let ui = ctx.ui.clone();
    Arc::new(move |ev| ui.info(ev.to_string()))
}

/// Unique per invocation: `ask/<ms since epoch>-<pid>-<random>`.
fn call_key_prefix() -> String {
    format!(
        "ask/{}-{}-{:08x}",
        chrono::Utc::now().timestamp_millis(),
        std::process::id(),
        fastrand::u32(..)
    )
}

/// Runs the call, streaming text to a terminal, and returns the collected answer.
async fn consume(
    ctx: &Ctx,
    provider: Arc<dyn Provider>,
    request: Request,
    cancel: &CancellationToken,
) -> Result<Response, LlmError> {
    let live = ctx.ui.stdout_is_tty() && !ctx.ui.json();
    let mut stream = provider.stream(request);
    let mut response = Response::default();
    let mut shown = false;
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => {
                if shown {
                    let _ = ctx.ui.out_raw("\n");
                }
                return Err(e);
            }
        };
        match &ev {
            StreamEvent::TextDelta { text } if live => {
                ctx.ui
                    .out_raw(text)
                    .map_err(|e| local_error(&e.to_string()))?;
                shown = shown || !text.is_empty();
            }
            StreamEvent::Reset { .. } if live && shown => {
                let _ = ctx.ui.out_raw("\n");
                ctx.ui.info("(the answer above was cut off; asking again)");
                shown = false;
            }
            _ => {}
        }
        response.apply(ev);
    }
    if cancel.is_cancelled() && response.finish.is_none() {
        return Err(LlmError::new(
            crate::llm::ErrorClass::Cancelled,
            provider.name(),
            "",
            "cancelled",
        ));
    }
    if live && shown && !response.text.ends_with('\n') {
        let _ = ctx.ui.out_raw("\n");
    }
    Ok(response)
}

fn local_error(msg: &str) -> LlmError {
    LlmError::new(
        crate::llm::ErrorClass::RecordFailed,
        "ask",
        "",
        format!("could not write the answer: {msg}"),
    )
}

/// The `--json` summary.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    text: &'a str,
    tool_calls: &'a [ToolCall],
    finish: Option<&'a FinishReason>,
    /// Who answered (`replay` for a cassette).
    provider: Option<&'a str>,
    model: Option<&'a str>,
    attempts: Attempts<'a>,
    tokens: Tokens,
    /// Dollars for every attempt of this call; `null` when a price is unknown.
    cost_usd: Option<f64>,
    cost_source: &'a str,
}

#[derive(Debug, Serialize)]
struct Attempts<'a> {
    count: usize,
    list: Vec<AttemptRow<'a>>,
}

#[derive(Debug, Serialize)]
struct AttemptRow<'a> {
    provider: &'a str,
    model: &'a str,
    route_index: u32,
    attempt: u32,
    outcome: &'a str,
    error_class: Option<&'a str>,
    http_status: Option<u16>,
    latency_ms: u64,
    cost_usd: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Tokens {
    input: u64,
    output: u64,
    cached_input: u64,
    cache_write: u64,
    estimated: bool,
}

fn finish(
    ctx: &Ctx,
    response: Response,
    records: Option<&[CallRecord]>,
    max_output_tokens: u32,
) -> anyhow::Result<Exit> {
    let records = records.unwrap_or_default();
    let answered = records
        .iter()
        .rev()
        .find(|r| matches!(r.outcome, Outcome::Ok | Outcome::Truncated));
    if ctx.ui.json() {
        let spent: Option<f64> = records
            .iter()
            .try_fold(0.0, |sum, r| {
                let free = r.input_tokens + r.output_tokens == 0;
                r.cost_usd.or(free.then_some(0.0)).map(|c| sum + c)
            })
            .map(crate::llm::pricing::round_micro);
        let (provider, model, cost_usd, cost_source) = match answered {
            Some(r) => (
                Some(r.provider.as_str()),
                Some(r.model.as_str()),
                spent,
                r.cost_source.as_str(),
            ),
            None => (
                Some("replay"),
                None,
                response.usage.reported_cost_usd,
                "none",
            ),
        };
        let u = &response.usage;
        ctx.ui.json_line(&Summary {
            text: &response.text,
            tool_calls: &response.tool_calls,
            finish: response.finish.as_ref(),
            provider,
            model,
            attempts: Attempts {
                count: records.len(),
                list: records
                    .iter()
                    .map(|r| AttemptRow {
                        provider: &r.provider,
                        model: &r.model,
                        route_index: r.route_index,
                        attempt: r.attempt,
                        outcome: r.outcome.as_str(),
                        error_class: r.error_class.as_deref(),
                        http_status: r.http_status,
                        latency_ms: r.latency_ms,
                        cost_usd: r.cost_usd,
                    })
                    .collect(),
            },
            tokens: Tokens {
                input: u.input_tokens,
                output: u.output_tokens,
                cached_input: u.cached_input_tokens,
                cache_write: u.cache_write_tokens,
                estimated: u.estimated,
            },
            cost_usd,
            cost_source,
        })?;
    } else if !ctx.ui.stdout_is_tty() {
        if response.text.ends_with('\n') || response.text.is_empty() {
            ctx.ui.out_raw(&response.text)?;
        } else {
            ctx.ui.out(&response.text)?;
        }
    }
    if response.is_truncated() {
        ctx.ui.error(format!(
            "the answer was cut off at the output limit ({max_output_tokens} tokens): ask again with a larger --max-output-tokens"
        ));
        return Ok(Exit::Failure);
    }
    Ok(Exit::Ok)
}
