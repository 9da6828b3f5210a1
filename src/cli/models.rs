//! `samocoder models [PROVIDER]`: each provider's model list (`GET {base_url}/models`) with the
//! prices and context windows samocoder knows. Also the provider check shared by `keys test`
//! and `doctor`.
use super::Result;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Ctx, UsageError};
use crate::config::{Config, ModelRef};
use crate::exit::Exit;
use crate::keys::{self, Keys};
use crate::llm::usage::NullSink;
use crate::llm::{ErrorClass, LlmError, ModelLayer};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Only this provider (default: every configured provider that has a key or needs none).
    pub provider: Option<String>,
}

/// A layer for checks: no usage is recorded (listing models costs nothing).
pub(super) fn check_layer(ctx: &Ctx, config: &Config, providers: &[&str]) -> Result<ModelLayer> {
    let keys = Keys::new(
        &ctx.env,
        config.providers.values(),
        keys::keychain_store(&ctx.env),
    );
    let layer = ModelLayer::for_providers(
        config,
        &keys,
        providers,
        Arc::new(NullSink),
        CancellationToken::new(),
    )?
    .with_price_table(crate::llm::pricing::load_table(&ctx.paths.data_dir)?);
    Ok(layer)
}

/// How long one check may take.
pub(super) fn check_timeout(config: &Config) -> Duration {
    let s = config.network.first_byte_timeout_s.clamp(1.0, 15.0);
    Duration::from_secs_f64(s)
}

/// The outcome of `GET /models` for a user: `ok`, `rejected` (401/403), `no_key` or `error`.
pub(super) fn status_of(result: &Result<Vec<String>, LlmError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => match e.class {
            ErrorClass::BadKey | ErrorClass::Forbidden => "rejected",
            ErrorClass::NoKey => "no_key",
            _ => "error",
        },
    }
}

/// One line about a failed check (the message already names the provider).
pub(super) fn explain(e: &LlmError) -> String {
    e.message.clone()
}

pub(super) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

#[derive(Debug, Serialize)]
struct ModelRow {
    id: String,
    input_per_mtok: Option<f64>,
    output_per_mtok: Option<f64>,
    cached_input_per_mtok: Option<f64>,
    context_window: Option<u64>,
}

#[derive(Debug, Serialize)]
struct ProviderModels {
    provider: String,
    ok: bool,
    error: Option<String>,
    models: Vec<ModelRow>,
}

pub fn run(args: ModelsArgs, ctx: &Ctx) -> Result<Exit> {
    let config = ctx.config()?;
    let names: Vec<&str> = match &args.provider {
        Some(p) => {
            let (name, _) = config.providers.get_key_value(p).ok_or_else(|| {
                let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
                UsageError(format!(
                    "no provider named `{p}` in the config (known providers: {})",
                    known.join(", ")
                ))
            })?;
            vec![name.as_str()]
        }
        None => config.providers.keys().map(String::as_str).collect(),
    };
    let layer = check_layer(ctx, &config, &names)?;
    // Without a PROVIDER, providers without a key are left out (they cannot answer).
    let names: Vec<&str> = if args.provider.is_some() {
        names
    } else {
        names
            .into_iter()
            .filter(|n| layer.key(n).usable())
            .collect()
    };
    let timeout = check_timeout(&config);
    let rt = runtime()?;
    let results = rt.block_on(async {
        let calls = names.iter().map(|n| layer.list_models(n, timeout));
        futures_util::future::join_all(calls).await
    });
    let mut out = Vec::new();
    let local_windows = local_windows(&rt, &layer, &names, &results);
    for (name, result) in names.iter().zip(results) {
        out.push(match result {
            Ok(ids) => ProviderModels {
                provider: name.to_string(),
                ok: true,
                error: None,
                models: ids
                    .into_iter()
                    .map(|id| {
                        let m = ModelRef {
                            provider: name.to_string(),
                            model: id.clone(),
                        };
                        let priced = layer.pricing().price(&m);
                        let user_window = priced
                            .as_ref()
                            .filter(|(_, source)| {
                                *source == crate::llm::pricing::CostSource::Override
                            })
                            .and_then(|(p, _)| p.context_window);
                        let price = priced.map(|(p, _)| p);
                        // The user's own setting wins, then a local server's answer, then the
                        // price table.
                        let window = layer
                            .config()
                            .model_options(&m, None)
                            .context_window
                            .or(user_window)
                            .or_else(|| local_windows.get(&m.to_string()).copied())
                            .or_else(|| price.as_ref().and_then(|p| p.context_window));
                        ModelRow {
                            id,
                            input_per_mtok: price.as_ref().map(|p| p.input),
                            output_per_mtok: price.as_ref().map(|p| p.output),
                            cached_input_per_mtok: price.as_ref().and_then(|p| p.cache_read),
                            context_window: window,
                        }
                    })
                    .collect(),
            },
            Err(e) => ProviderModels {
                provider: name.to_string(),
                ok: false,
                error: Some(explain(&e)),
                models: Vec::new(),
            },
        });
    }
    if ctx.ui.json() {
        ctx.ui.json_doc(&out)?;
    } else {
        if out.is_empty() {
            ctx.ui.info(
                "No provider has a key: set one with `samocoder keys set PROVIDER` or its environment variable.",
            );
        }
        for p in &out {
            match &p.error {
                Some(e) => ctx.ui.warn(format!("{}: {e}", p.provider)),
                None => {
                    ctx.ui
                        .out(format!("{} ({} models)", p.provider, p.models.len()))?;
                    let rows: Vec<Vec<String>> = p.models.iter().map(human_row).collect();
                    ctx.ui.out(crate::ui::table(
                        &["  MODEL", "IN $/M", "OUT $/M", "CONTEXT"],
                        &rows,
                    ))?;
                }
            }
        }
    }
    let failed = out.iter().any(|p| !p.ok);
    Ok(
        if failed && (args.provider.is_some() || out.iter().all(|p| !p.ok)) {
            Exit::Failure
        } else {
            Exit::Ok
        },
    )
}

/// Most models of one local server asked for their context window.
const MAX_LOCAL_PROBES: usize = 50;

/// The context windows local servers report for the models they listed (keyed
/// `PROVIDER:MODEL`); providers that are not local are skipped.
fn local_windows(
    rt: &tokio::runtime::Runtime,
    layer: &ModelLayer,
    names: &[&str],
    results: &[Result<Vec<String>, LlmError>],
) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for (name, result) in names.iter().zip(results) {
        let Ok(ids) = result else { continue };
        for id in ids.iter().take(MAX_LOCAL_PROBES) {
            let m = ModelRef {
                provider: name.to_string(),
                model: id.clone(),
            };
            match rt.block_on(layer.local_info(&m)) {
                Ok(Some(info)) => {
                    if let Some(w) = info.context_window {
                        out.insert(m.to_string(), w);
                    }
                }
                // Not a local server: none of its models are.
                _ => break,
            }
        }
    }
    out
}

fn human_row(m: &ModelRow) -> Vec<String> {
    let money = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v}"));
    vec![
        format!("  {}", m.id),
        money(m.input_per_mtok),
        money(m.output_per_mtok),
        m.context_window
            .map_or_else(|| "-".to_string(), |c| c.to_string()),
    ]
}
