//! `samocoder doctor`: is this setup able to work? Config, database, keychain, each provider a
//! route uses (its key, with one `GET /models`), and each route (at least one entry whose
//! provider answered). Providers no route uses are not contacted. Exit 1 when the config or
//! database is broken or a route has no working entry; warnings alone exit 0.
use super::Result;

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::Ctx;
use super::models::{check_layer, check_timeout, explain, runtime, status_of};
use crate::config::Config;
use crate::exit::Exit;
use crate::keys::{self, KeyError};
use crate::store::{SCHEMA_VERSION, Store};

#[derive(Debug, Args)]
pub struct DoctorArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    /// `config`, `database`, `keychain`, `sandbox`, `provider:NAME`, `route:NAME`,
    /// `prices:ROUTE` (or `prices` when the imported price table is broken).
    name: String,
    status: Status,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

pub fn run(_args: DoctorArgs, ctx: &Ctx) -> Result<Exit> {
    let mut checks = Vec::new();
    let config = match ctx.config() {
        Ok(c) => {
            checks.push(check("config", Status::Ok, config_detail(ctx, &c)));
            Some(c)
        }
        Err(e) => {
            checks.push(check("config", Status::Fail, e.to_string()));
            None
        }
    };
    checks.push(database(ctx));
    checks.push(keychain(ctx));
    checks.push(sandbox(ctx, config.as_ref()));
    if let Some(config) = &config {
        providers_and_routes(ctx, config, &mut checks)?;
        checks.extend(prices(ctx, config));
    }
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    let report = Report { ok, checks };
    if ctx.ui.json() {
        ctx.ui.json_doc(&report)?;
    } else {
        for c in &report.checks {
            let mark = match c.status {
                Status::Ok => ctx.ui.paint(crate::ui::Paint::Good, "ok  "),
                Status::Warn => ctx.ui.paint(crate::ui::Paint::Warn, "warn"),
                Status::Fail => ctx.ui.paint(crate::ui::Paint::Error, "FAIL"),
            };
            ctx.ui.out(format!("{mark} {}: {}", c.name, c.detail))?;
        }
    }
    Ok(if ok { Exit::Ok } else { Exit::Failure })
}

/// Stands for a model list the server does not have (`GET /models` answered 404): the
/// provider answered, so its routes are not failed for it.
const NO_LIST: &str = "\u{0}no-list";

/// The check of one provider's `GET /models`, and the ids it listed (`None`: it failed).
fn provider_check(
    name: &str,
    from: &str,
    r: Result<Vec<String>, crate::llm::LlmError>,
) -> (Check, Option<Vec<String>>) {
    let label = format!("provider:{name}");
    match r {
        Ok(ids) if ids.is_empty() => (
            check(
                &label,
                Status::Warn,
                format!(
                    "{from}, answered but lists no models: pull or load one first (Ollama: `ollama pull MODEL`)"
                ),
            ),
            Some(ids),
        ),
        Ok(ids) => (
            check(
                &label,
                Status::Ok,
                format!("{from}, answered ({} models)", ids.len()),
            ),
            Some(ids),
        ),
        // Some servers have no model list at all; their chat may still work.
        Err(e) if e.class == crate::llm::ErrorClass::NotFound && e.status == Some(404) => (
            check(
                &label,
                Status::Warn,
                format!(
                    "{from}, answered but has no model list (GET /models: 404); chat was not checked"
                ),
            ),
            Some(vec![NO_LIST.to_string()]),
        ),
        Err(e) => {
            let r: Result<Vec<String>, _> = Err(e);
            let detail = format!(
                "{}: {}",
                status_of(&r).replace('_', " "),
                r.as_ref().err().map(explain).unwrap_or_default()
            );
            // Whether this breaks anything is decided per route.
            (check(&label, Status::Warn, detail), None)
        }
    }
}

/// For each model of a route on a local server: its context window and tool-call support, as
/// the server reports them.
fn local_models(
    _ctx: &Ctx,
    layer: &crate::llm::ModelLayer,
    config: &Config,
    checks: &mut Vec<Check>,
) -> Result<()> {
    let mut models: Vec<&crate::config::ModelRef> = config.routes.values().flatten().collect();
    models.sort();
    models.dedup();
    let rt = runtime()?;
    for m in models {
        let Ok(Some(info)) = rt.block_on(layer.local_info(m)) else {
            continue;
        };
        let window = match info.context_window {
            Some(w) => format!("context window {w} tokens (from {})", info.source),
            None => "context window not reported (set [models.\"PROVIDER:MODEL\"] context_window)"
                .to_string(),
        };
        let (status, tools) = match info.tools {
            crate::llm::local::ToolSupport::Yes => (Status::Ok, "supports tool calls"),
            crate::llm::local::ToolSupport::No => (
                Status::Warn,
                "does not support tool calls: the agent cannot write files with it",
            ),
            crate::llm::local::ToolSupport::Unknown => (Status::Warn, "tool-call support unknown"),
        };
        let status = if info.context_window.is_none() {
            Status::Warn
        } else {
            status
        };
        checks.push(check(
            &format!("model:{m}"),
            status,
            format!("{window}; {tools}"),
        ));
    }
    Ok(())
}

fn check(name: &str, status: Status, detail: String) -> Check {
    Check {
        name: name.to_string(),
        status,
        detail,
    }
}

fn config_detail(ctx: &Ctx, c: &Config) -> String {
    let file = if ctx.paths.config_file.exists() {
        ctx.paths.config_file.display().to_string()
    } else {
        "no file, built-in defaults".to_string()
    };
    format!(
        "valid ({file}; {} providers, {} routes)",
        c.providers.len(),
        c.routes.len()
    )
}

fn database(ctx: &Ctx) -> Check {
    let path = &ctx.paths.database;
    let store = match Store::open_existing(path, Arc::new(crate::clock::SystemClock)) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return check(
                "database",
                Status::Ok,
                format!("{} not created yet (made on first use)", path.display()),
            );
        }
        Err(e) => return check("database", Status::Fail, e.to_string()),
    };
    let probe = store.health().map(|h| (h.schema_version, h.quick_check));
    match probe {
        Ok((version, quick)) if quick == "ok" => check(
            "database",
            Status::Ok,
            format!(
                "{} (schema {version} of {SCHEMA_VERSION}, quick_check ok)",
                path.display()
            ),
        ),
        Ok((_, quick)) => check(
            "database",
            Status::Fail,
            format!(
                "{} is damaged ({quick}): move it aside and let samocoder make a new one",
                path.display()
            ),
        ),
        Err(e) => check("database", Status::Fail, e.to_string()),
    }
}

fn keychain(ctx: &Ctx) -> Check {
    let store = keys::keychain_store(&ctx.env);
    // Reading an entry that does not exist touches the keychain without revealing anything.
    match store.get("samocoder-doctor-probe") {
        Ok(_) => check(
            "keychain",
            Status::Ok,
            format!("reachable ({})", store.describe()),
        ),
        Err(e @ KeyError::Unavailable { .. }) => check(
            "keychain",
            Status::Warn,
            format!("{e}: keys can only come from environment variables"),
        ),
        Err(e) => check("keychain", Status::Warn, e.to_string()),
    }
}

/// What the sandbox of commands can enforce here (one probe run of the helper). Without it,
/// runs under `--yes` refuse to run the model's commands unless `--sandbox off`.
fn sandbox(ctx: &Ctx, config: Option<&Config>) -> Check {
    use crate::exec::sandbox::{self, SandboxMode, SandboxSettings};
    let mode = config.and_then(|c| c.sandbox.mode).unwrap_or_default();
    let settings = SandboxSettings {
        mode,
        network: false,
        install_network: false,
        writable: vec![],
        readable: vec![],
        unconfined_reason: None,
    };
    let exe = sandbox::helper_exe();
    let available = sandbox::probe(&exe, &sandbox::base_for(&ctx.env, &ctx.paths, &settings));
    let missing = if available.missing.is_empty() {
        String::new()
    } else {
        format!("; weaker here: {}", available.missing.join("; "))
    };
    match (available.confines_files, mode) {
        (true, SandboxMode::Off) => check(
            "sandbox",
            Status::Warn,
            format!(
                "available ({}) but turned off by sandbox.mode = \"off\": commands run unconfined",
                available.summary
            ),
        ),
        (true, _) if available.missing.is_empty() => check(
            "sandbox",
            Status::Ok,
            format!("{mode}: {}", available.summary),
        ),
        (true, _) => check(
            "sandbox",
            Status::Warn,
            format!("{mode}: {}{missing}", available.summary),
        ),
        (false, _) => check(
            "sandbox",
            Status::Warn,
            format!(
                "not available ({}): with --yes the model's commands will not run unless you pass --sandbox off; --approve ask still works",
                available.missing.join("; ")
            ),
        ),
    }
}

fn providers_and_routes(ctx: &Ctx, config: &Config, checks: &mut Vec<Check>) -> Result<()> {
    let mut used: Vec<&str> = config
        .routes
        .values()
        .flatten()
        .map(|m| m.provider.as_str())
        .collect();
    used.sort();
    used.dedup();
    let layer = check_layer(ctx, config, &used)?;
    let timeout = check_timeout(config);
    let results = runtime()?.block_on(futures_util::future::join_all(
        used.iter().map(|n| layer.list_models(n, timeout)),
    ));
    let mut listed: BTreeMap<&str, Option<Vec<String>>> = BTreeMap::new();
    for (name, r) in used.iter().zip(results) {
        let key = layer.key(name);
        let from = match key.secret() {
            Some(s) => format!("key {} from {}", s.fingerprint(), key.source_name()),
            None => "no key needed".to_string(),
        };
        let (c, ids) = provider_check(name, &from, r);
        checks.push(c);
        listed.insert(name, ids);
    }
    local_models(ctx, &layer, config, checks)?;
    for (route, models) in &config.routes {
        let working: Vec<String> = models
            .iter()
            .filter(|m| {
                // A server that lists no models at all (Ollama with nothing pulled) cannot
                // serve; one without a list (NO_LIST) may.
                listed
                    .get(m.provider.as_str())
                    .is_some_and(|ids| ids.as_ref().is_some_and(|ids| !ids.is_empty()))
            })
            .map(ToString::to_string)
            .collect();
        let unlisted: Vec<String> = models
            .iter()
            .filter(|m| {
                listed
                    .get(m.provider.as_str())
                    .and_then(Option::as_ref)
                    .is_some_and(|ids| {
                        !ids.is_empty() && ids[0] != NO_LIST && !ids.contains(&m.model)
                    })
            })
            .map(ToString::to_string)
            .collect();
        let c = if working.is_empty() {
            check(
                &format!("route:{route}"),
                Status::Fail,
                format!(
                    "no model can be served ({}): fix a key or the provider above",
                    models
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        } else if !unlisted.is_empty() {
            check(
                &format!("route:{route}"),
                Status::Warn,
                format!(
                    "servable by {}; not in its provider's model list: {}",
                    working.join(", "),
                    unlisted.join(", ")
                ),
            )
        } else {
            check(
                &format!("route:{route}"),
                Status::Ok,
                format!("servable by {}", working.join(", ")),
            )
        };
        checks.push(c);
    }
    Ok(())
}

/// One check per route: are its models' prices known (`ok`), only estimated or unknown
/// (`warn`: budgets cannot count those calls exactly)? A broken imported table fails.
fn prices(ctx: &Ctx, config: &Config) -> Vec<Check> {
    use crate::llm::pricing::{PriceKnowledge, Pricing, load_table};
    let table = match load_table(&ctx.paths.data_dir) {
        Ok(t) => t,
        Err(e) => return vec![check("prices", Status::Fail, e.to_string())],
    };
    let pricing = Pricing::new(table, config.prices.clone());
    config
        .routes
        .iter()
        .map(|(route, models)| {
            let statuses: Vec<_> = models
                .iter()
                .map(|m| {
                    let free = config.provider(&m.provider).is_some_and(|p| p.free);
                    pricing.status(m, free)
                })
                .collect();
            let worst = statuses
                .iter()
                .map(|s| s.knowledge)
                .max()
                .unwrap_or(PriceKnowledge::Unknown);
            let detail: Vec<String> = statuses
                .iter()
                .map(|s| {
                    let by = s.by.clone().unwrap_or_default();
                    match (s.knowledge, &s.basis) {
                        (PriceKnowledge::Known, _) => format!("{} priced by {by}", s.model),
                        (PriceKnowledge::Estimated, Some(basis)) => format!(
                            "{} estimated at {basis}'s price ({by}); add [prices.\"{}\"] to count it exactly",
                            s.model, s.model
                        ),
                        _ => format!(
                            "{} has no known price: its calls are recorded at an unknown cost; add [prices.\"{}\"] or `free = true` on its provider",
                            s.model, s.model
                        ),
                    }
                })
                .collect();
            let status = if worst == PriceKnowledge::Known {
                Status::Ok
            } else {
                Status::Warn
            };
            check(&format!("prices:{route}"), status, detail.join("; "))
        })
        .collect()
}
