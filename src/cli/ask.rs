//! `samocoder ask PROMPT`: one request through a route (or one model), the answer on stdout,
//! every attempt recorded in the usage database. For scripts and for checking a setup.
//!
//! Output: on a terminal the text is streamed as it arrives; when a stream breaks after text
//! was shown and the router re-issues the request, the partial line is ended, a notice goes to
//! stderr and the new answer is printed from its start (the screen keeps the discarded part,
//! marked by the notice). Off a terminal, or with `--json`, nothing is printed until the answer
//! is complete, so a pipe never sees half of two attempts.
//!
//! Reasoning a model streams is shown dimmed on a terminal (never on a pipe: it is not the
//! answer; `--json` carries it as `reasoning`). A refused answer prints the refusal on stderr
//! and exits 1; an answer cut because the model's context window was full says so instead of
//! suggesting a larger output limit.
//!
//! The call goes through the same code as the agent's turns (`agent::call`) and the same
//! runtime setup as `new` (`cli::runtime`); the tokens and cost come from the call's own usage
//! records.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Ctx, Result, UsageError};
use crate::agent::ModelChoice;
use crate::agent::call::{self, CallResult, CallSummary};
use crate::config::{Config, ModelRef};
use crate::exit::Exit;
use crate::keys::{self, Keys};
use crate::llm::cassette::{RecordingProvider, ReplayProvider};
use crate::llm::usage::{CallContext, Outcome};
use crate::llm::{FinishReason, Message, ModelLayer, Provider, Request, Response, ToolCall};
use crate::protocol::{CallId, Role};
use crate::store::Store;
use crate::ui::AskRenderer;

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

pub fn run(args: AskArgs, ctx: &Ctx) -> Result<Exit> {
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
    let cancel = CancellationToken::new();
    let view = AskRenderer::new(ctx.ui.clone());
    let provider: Arc<dyn Provider> = match &args.replay {
        // A cassette answers directly: no router, no record, no key.
        Some(path) => Arc::new(ReplayProvider::open(path)?),
        None => {
            let choice = choice(&args, &config)?;
            let store = Store::open(&ctx.paths.database, Arc::new(crate::clock::SystemClock))?;
            let keys = Keys::new(
                &ctx.env,
                config.providers.values(),
                keys::keychain_store(&ctx.env),
            );
            let providers = choice.providers(&config);
            let providers: Vec<&str> = providers.iter().map(String::as_str).collect();
            let layer = ModelLayer::for_providers(
                &config,
                &keys,
                &providers,
                Arc::new(store),
                cancel.clone(),
            )?
            .with_price_table(crate::llm::pricing::load_table(&ctx.paths.data_dir)?);
            let context = CallContext {
                role: Role::Ask.as_str().into(),
                call_key_prefix: call_key_prefix(),
                ..CallContext::default()
            };
            let provider = match &choice {
                ModelChoice::Model(m) => layer.model(m, context)?,
                ModelChoice::Route(name) => layer.route(name, context)?,
                ModelChoice::Routes => layer.route(Role::Ask.as_str(), context)?,
            };
            match &args.record {
                Some(path) => Arc::new(RecordingProvider::new(provider, path)),
                None => provider,
            }
        }
    };
    let CallResult { result, summary } = super::runtime::block_on(1, &cancel, {
        let view = &view;
        let cancel = cancel.clone();
        async move { call::drive(provider, request, CallId(1), view, &cancel).await }
    })?;
    view.end_line();
    finish(ctx, &view, result?, &summary, max_output_tokens)
}

/// `--model`, `--route`, or the `ask` route (which falls back to `default`).
fn choice(args: &AskArgs, config: &Config) -> Result<ModelChoice, UsageError> {
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
        return Ok(ModelChoice::Model(m));
    }
    match &args.route {
        Some(name) if !config.routes.contains_key(name) => {
            let known: Vec<&str> = config.routes.keys().map(String::as_str).collect();
            Err(UsageError(format!(
                "--route: no route named `{name}` in the config (routes: {})",
                known.join(", ")
            )))
        }
        Some(name) => Ok(ModelChoice::Route(name.clone())),
        None => Ok(ModelChoice::Routes),
    }
}

fn read_prompt(arg: &str) -> Result<String> {
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

/// Unique per invocation: `ask/<ms since epoch>-<pid>-<random>`.
fn call_key_prefix() -> String {
    format!(
        "ask/{}-{}-{:08x}",
        chrono::Utc::now().timestamp_millis(),
        std::process::id(),
        fastrand::u32(..)
    )
}

/// The `--json` summary.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    text: &'a str,
    tool_calls: &'a [ToolCall],
    finish: Option<&'a FinishReason>,
    /// The refusal text of a refused answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<&'a str>,
    /// The model's reasoning text, when it sent any.
    #[serde(skip_serializing_if = "String::is_empty")]
    reasoning: String,
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
    /// Part of `output` spent on reasoning.
    reasoning: u64,
    estimated: bool,
}

fn finish(
    ctx: &Ctx,
    view: &AskRenderer,
    response: Response,
    summary: &CallSummary,
    max_output_tokens: u32,
) -> Result<Exit> {
    let records = &summary.records[..];
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
            refusal: response.refusal.as_deref(),
            reasoning: response.reasoning_text(),
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
                reasoning: u.reasoning_tokens,
                estimated: u.estimated,
            },
            cost_usd,
            cost_source,
        })?;
    } else if !view.streamed() {
        if response.text.ends_with('\n') || response.text.is_empty() {
            ctx.ui.out_raw(&response.text)?;
        } else {
            ctx.ui.out(&response.text)?;
        }
    }
    if response.is_refused() {
        let why = response
            .refusal
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("no reason given");
        ctx.ui.error(format!(
            "the model refused to answer: {why} (rephrase the request or ask another model with --model)"
        ));
        return Ok(Exit::Failure);
    }
    if response.finish == Some(FinishReason::ContextFull) {
        ctx.ui.error(format!(
            "the answer was cut off because the model's context window is full (it stopped after {} of {max_output_tokens} output tokens): shorten the prompt, or raise the server's context size (Ollama num_ctx, llama.cpp --ctx-size)",
            response.usage.output_tokens
        ));
        return Ok(Exit::Failure);
    }
    if let Some(why) = view.cut_reason() {
        ctx.ui.error(format!("{why}; nothing more was read"));
        return Ok(Exit::Failure);
    }
    if response.is_truncated() {
        ctx.ui.error(format!(
            "the answer was cut off at the output limit ({max_output_tokens} tokens): ask again with a larger --max-output-tokens"
        ));
        return Ok(Exit::Failure);
    }
    Ok(Exit::Ok)
}
