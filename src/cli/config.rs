//! `samocoder config path|show|get|set|edit`.
use super::{CliError, Result};

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use crate::config::{Loaded, set_in_file};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print where the config file, database and logs are.
    Path,
    /// Print the resolved configuration (with --json: and where each value came from).
    Show,
    /// Print one value, e.g. `samocoder config get routes.default`.
    Get {
        /// A dotted key, e.g. budget.per_run_usd or providers.openai.base_url.
        key: String,
    },
    /// Set one value in the config file (checked before it is written), keeping comments.
    Set {
        /// A dotted key, e.g. budget.per_run_usd.
        key: String,
        /// A TOML value (a number, `true`, `["openai:gpt-4.1"]`); anything else is a string.
        value: String,
    },
    /// Open the config file in $VISUAL / $EDITOR; it is only saved if it still loads.
    Edit,
}

pub fn run(args: ConfigArgs, ctx: &Ctx) -> Result<Exit> {
    match args.command {
        ConfigCommand::Path => path(ctx),
        ConfigCommand::Show => show(ctx),
        ConfigCommand::Get { key } => get(ctx, &key),
        ConfigCommand::Set { key, value } => {
            set_in_file(&ctx.paths.config_file, &key, &value, &ctx.env)?;
            tracing::info!(key = %key, "config value set");
            if ctx.ui.json() {
                let loaded = ctx.load_config()?;
                ctx.ui.json_line(&json!({ "key": key, "value": loaded.get(&key)?, "file": ctx.paths.config_file }))?;
            } else {
                ctx.ui
                    .info(format!("set {key} in {}", ctx.paths.config_file.display()));
            }
            Ok(Exit::Ok)
        }
        ConfigCommand::Edit => super::config_edit::edit(ctx),
    }
}

fn path(ctx: &Ctx) -> Result<Exit> {
    let p = &ctx.paths;
    if ctx.ui.json() {
        ctx.ui.json_doc(&json!({
            "config_file": p.config_file,
            "database": p.database,
            "log_dir": p.log_dir,
            "data_dir": p.data_dir,
            "config_dir": p.config_dir,
        }))?;
    } else {
        ctx.ui.out(p.config_file.display().to_string())?;
    }
    Ok(Exit::Ok)
}

fn show(ctx: &Ctx) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    if ctx.ui.json() {
        ctx.ui.json_doc(&json!({
            "config_file": ctx.paths.config_file,
            "config": to_json(&loaded),
            "sources": loaded.sources,
        }))?;
        return Ok(Exit::Ok);
    }
    let text = toml::to_string_pretty(loaded.table()).map_err(CliError::failure)?;
    ctx.ui.out(format!(
        "# resolved configuration (file: {})",
        ctx.paths.config_file.display()
    ))?;
    ctx.ui.out(text.trim_end())?;
    let changed: Vec<String> = loaded
        .sources
        .iter()
        .filter(|(_, s)| !matches!(s, crate::config::Source::Default))
        .map(|(k, s)| format!("#   {k}: {s}"))
        .collect();
    if !changed.is_empty() {
        ctx.ui.out("\n# values not from the defaults:")?;
        for line in changed {
            ctx.ui.out(line)?;
        }
    }
    Ok(Exit::Ok)
}

fn get(ctx: &Ctx, key: &str) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let value = loaded.get(key)?;
    if ctx.ui.json() {
        ctx.ui
            .json_line(&json!({ "key": key, "value": value, "source": loaded.sources.of(key) }))?;
    } else {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Table(t) => toml::to_string_pretty(t).map_err(CliError::failure)?,
            other => other.to_string(),
        };
        ctx.ui.out(text.trim_end())?;
    }
    Ok(Exit::Ok)
}

/// The merged config as JSON. The config holds names of key variables, never keys, so there
/// is nothing secret to mask; URLs with credentials are refused when loading.
fn to_json(loaded: &Loaded) -> serde_json::Value {
    serde_json::to_value(loaded.table()).unwrap_or_default()
}
