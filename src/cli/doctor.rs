//! `samocoder doctor`: is this setup able to work? Config, database, keychain, each provider a
//! route uses (its key, with one `GET /models`), and each route (at least one entry whose
//! provider answered). Providers no route uses are not contacted. Exit 1 when the config or
//! database is broken or a route has no working entry; warnings alone exit 0.

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
    /// `config`, `database`, `keychain`, `provider:NAME`, `route:NAME`.
    name: String,
    status: Status,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

pub fn run(_args: DoctorArgs, ctx: &Ctx) -> anyhow::Result<Exit> {
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
    if let Some(config) = &config {
        providers_and_routes(ctx, config, &mut checks)?;
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

fn providers_and_routes(ctx: &Ctx, config: &Config, checks: &mut Vec<Check>) -> anyhow::Result<()> {
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
        let c = match &r {
            Ok(ids) => check(
                &format!("provider:{name}"),
                Status::Ok,
                format!("{from}, answered ({} models)", ids.len()),
            ),
            Err(e) => check(
                &format!("provider:{name}"),
                // Whether this breaks anything is decided per route below.
                Status::Warn,
                format!("{}: {}", status_of(&r).replace('_', " "), explain(e)),
            ),
        };
        checks.push(c);
        listed.insert(name, r.ok());
    }
    for (route, models) in &config.routes {
        let working: Vec<String> = models
            .iter()
            .filter(|m| listed.get(m.provider.as_str()).is_some_and(Option::is_some))
            .map(ToString::to_string)
            .collect();
        let unlisted: Vec<String> = models
            .iter()
            .filter(|m| {
                listed
                    .get(m.provider.as_str())
                    .and_then(Option::as_ref)
                    .is_some_and(|ids| !ids.is_empty() && !ids.contains(&m.model))
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
