//! `samocoder keys test [PROVIDER]`: the cheapest check that a key works, `GET /models` with
//! it (a rejected key answers 401). Exit 1 when any tested key fails.
use super::Result;

use serde::Serialize;

use super::Ctx;
use super::models::{check_layer, check_timeout, explain, runtime, status_of};
use crate::config::Config;
use crate::exit::Exit;

#[derive(Debug, Serialize)]
struct Row {
    provider: String,
    /// Where the key came from: `env`, `keychain`, `none`, `keychain_error`.
    source: &'static str,
    fingerprint: Option<String>,
    /// `ok`, `rejected`, `no_key` or `error`.
    status: &'static str,
    message: Option<String>,
    /// How many models the provider listed.
    models: Option<usize>,
}

pub fn run(ctx: &Ctx, config: &Config, only: Option<&str>) -> Result<Exit> {
    let names: Vec<&str> = match only {
        Some(name) => vec![super::keys::provider(config, name)?.name.as_str()],
        None => config
            .providers
            .values()
            .filter(|p| p.key_env.is_some())
            .map(|p| p.name.as_str())
            .collect(),
    };
    let layer = check_layer(ctx, config, &names)?;
    // Without a PROVIDER, only keys that exist are tested.
    let names: Vec<&str> = names
        .into_iter()
        .filter(|n| only.is_some() || layer.key(n).secret().is_some())
        .collect();
    let timeout = check_timeout(config);
    let results = runtime()?.block_on(futures_util::future::join_all(
        names.iter().map(|n| layer.list_models(n, timeout)),
    ));
    let rows: Vec<Row> = names
        .iter()
        .zip(results)
        .map(|(name, r)| {
            let key = layer.key(name);
            Row {
                provider: name.to_string(),
                source: key.source_name(),
                fingerprint: key.secret().map(|s| s.fingerprint()),
                status: status_of(&r),
                message: r.as_ref().err().map(explain),
                models: r.as_ref().ok().map(Vec::len),
            }
        })
        .collect();
    if ctx.ui.json() {
        ctx.ui.json_doc(&rows)?;
    } else if rows.is_empty() {
        ctx.ui.info(
            "No provider has a key to test: set one with `samocoder keys set PROVIDER` or its environment variable.",
        );
    } else {
        for r in &rows {
            let key = r.fingerprint.as_deref().unwrap_or("-");
            match (&r.message, r.models) {
                (None, Some(n)) => ctx.ui.out(format!(
                    "{}: ok ({key} from {}, {n} models)",
                    r.provider, r.source
                ))?,
                (msg, _) => ctx.ui.out(format!(
                    "{}: {} ({key}): {}",
                    r.provider,
                    r.status.replace('_', " "),
                    msg.as_deref().unwrap_or("")
                ))?,
            }
        }
    }
    Ok(if rows.iter().any(|r| r.status != "ok") {
        Exit::Failure
    } else {
        Exit::Ok
    })
}
