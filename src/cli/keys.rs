//! `samocoder keys set|list|rm`: API keys in the OS keychain, and where each provider's key
//! comes from (its environment variable first, then the keychain).
use super::{CliError, Result};

use std::io::BufRead;

use clap::{Args, Subcommand};
use secrecy::zeroize::Zeroize;
use serde::Serialize;

use super::{Ctx, UsageError};
use crate::config::{Config, ProviderConfig};
use crate::exit::Exit;
use crate::keys::{self, KeyError, KeySource, Keys, Secret, SecretStore};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Store a provider's API key in the OS keychain (asked for hidden, or read from stdin).
    Set {
        /// The provider, as named in the config (e.g. openai, anthropic, openrouter, groq).
        provider: String,
        /// Read the key from the first line of stdin instead of asking for it.
        #[arg(long)]
        stdin: bool,
    },
    /// Show where each configured provider's key comes from, with a masked fingerprint.
    List,
    /// Remove a provider's key from the OS keychain (environment variables are not touched).
    Rm {
        /// The provider whose key to remove.
        provider: String,
    },
    /// Check that keys work: one `GET /models` per provider that has a key (no tokens spent).
    Test {
        /// Only this provider (default: every provider that has a key).
        provider: Option<String>,
    },
}

pub fn run(args: KeysArgs, ctx: &Ctx) -> Result<Exit> {
    let config = ctx.config()?;
    let keychain = keys::keychain_store(&ctx.env);
    match args.command {
        KeysCommand::Set { provider, stdin } => set(ctx, &config, keychain, &provider, stdin),
        KeysCommand::List => list(ctx, &config, keychain),
        KeysCommand::Rm { provider } => rm(ctx, &config, keychain.as_ref(), &provider),
        KeysCommand::Test { provider } => {
            drop(keychain);
            super::keys_test::run(ctx, &config, provider.as_deref())
        }
    }
}

fn known_providers(config: &Config) -> String {
    let names: Vec<&str> = config.providers.keys().map(String::as_str).collect();
    if names.is_empty() {
        "none are configured".to_string()
    } else {
        format!("known providers: {}", names.join(", "))
    }
}

pub(super) fn provider<'c>(
    config: &'c Config,
    name: &str,
) -> Result<&'c ProviderConfig, UsageError> {
    config.provider(name).ok_or_else(|| {
        UsageError(format!(
            "no provider named `{name}` in the config ({})",
            known_providers(config)
        ))
    })
}

/// `keychain unavailable` with the variable to use instead: never a plain-text fallback.
fn use_env_instead(e: KeyError, var: &str) -> CliError {
    match e {
        KeyError::Unavailable { .. } => {
            UsageError(format!("{e}: set {var} in the environment instead")).into()
        }
        other => other.into(),
    }
}

fn set(
    ctx: &Ctx,
    config: &Config,
    keychain: Box<dyn SecretStore>,
    name: &str,
    from_stdin: bool,
) -> Result<Exit> {
    let p = provider(config, name)?;
    let Some(var) = p.key_env.as_deref() else {
        return Err(UsageError(format!(
            "provider `{name}` needs no key (its config names no key_env); if it does need one, \
add key_env = \"VARIABLE\" to [providers.{name}]"
        ))
        .into());
    };
    let secret = read_key(ctx, name, from_stdin)?;
    keychain
        .set(name, &secret)
        .map_err(|e| use_env_instead(e, var))?;
    let env_set = ctx.env.non_empty(var).is_some();
    tracing::info!(provider = name, "key stored in the keychain");
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "provider": name,
            "stored_in": keychain.describe(),
            "fingerprint": secret.fingerprint(),
            "overridden_by_env": env_set.then_some(var),
        }))?;
    } else {
        ctx.ui.out(format!(
            "Stored the key for {name} ({}) in {}.",
            secret.fingerprint(),
            keychain.describe()
        ))?;
    }
    if env_set {
        ctx.ui.warn(format!(
            "{var} is also set in the environment, and the environment wins: unset it to use the stored key"
        ));
    }
    Ok(Exit::Ok)
}

/// The key from stdin (`--stdin`, first line) or a hidden prompt; trimmed and checked.
fn read_key(ctx: &Ctx, name: &str, from_stdin: bool) -> Result<Secret> {
    let mut raw = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    } else {
        ctx.ui.password(
            &format!("API key for {name}"),
            "pipe the key in with --stdin",
        )?
    };
    let key = raw.trim().to_string();
    raw.zeroize();
    let secret = Secret::new(key);
    let key = secret.expose();
    if key.is_empty() {
        let how = if from_stdin {
            "stdin was empty"
        } else {
            "nothing was typed"
        };
        return Err(UsageError(format!("no key given for {name}: {how}")).into());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UsageError(format!(
            "the key for {name} contains spaces or control characters: give only the key, on one line"
        ))
        .into());
    }
    Ok(secret)
}

/// One row of `keys list`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    provider: &'a str,
    /// `env`, `keychain`, `none`, `not_needed`, `keychain_unavailable` or `keychain_error`.
    source: &'static str,
    /// The provider's key variable, whatever the source.
    env_var: Option<&'a str>,
    fingerprint: Option<String>,
    /// Which keychain this machine uses ("the Secret Service ...", "your user's kernel
    /// keyring ..."), the same on every row.
    keychain: &'a str,
}

fn list(ctx: &Ctx, config: &Config, keychain: Box<dyn SecretStore>) -> Result<Exit> {
    let describe = keychain.describe();
    let keys = Keys::new(&ctx.env, config.providers.values(), keychain);
    let mut unavailable = None;
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for p in config.providers.values() {
        let (source, fingerprint) = match keys.resolve(p) {
            Ok(r) => {
                let source = match r.source {
                    KeySource::Env(_) => "env",
                    KeySource::Keychain => "keychain",
                    KeySource::None => "none",
                    KeySource::NotNeeded => "not_needed",
                };
                (source, r.secret.map(|s| s.fingerprint()))
            }
            Err(e @ KeyError::Unavailable { .. }) => {
                unavailable = Some(e.to_string());
                ("keychain_unavailable", None)
            }
            Err(e) => {
                failures.push(e.to_string());
                ("keychain_error", None)
            }
        };
        rows.push(Row {
            provider: &p.name,
            source,
            env_var: p.key_env.as_deref(),
            fingerprint,
            keychain: &describe,
        });
    }
    if ctx.ui.json() {
        ctx.ui.json_doc(&rows)?;
    } else {
        let table: Vec<Vec<String>> = rows.iter().map(human_row).collect();
        ctx.ui
            .out(crate::ui::table(&["PROVIDER", "SOURCE", "KEY"], &table))?;
        ctx.ui.info(format!("Keychain: {describe}."));
    }
    if let Some(reason) = unavailable {
        ctx.ui.warn(format!(
            "{reason}: keys can only come from environment variables"
        ));
    }
    for f in &failures {
        ctx.ui.warn(f);
    }
    Ok(if failures.is_empty() {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

fn human_row(r: &Row<'_>) -> Vec<String> {
    let source = match (r.source, r.env_var) {
        ("env", Some(var)) => format!("env {var}"),
        ("not_needed", _) => "not needed".to_string(),
        ("keychain_unavailable", _) => "keychain unavailable".to_string(),
        ("keychain_error", _) => "keychain error".to_string(),
        (other, _) => other.to_string(),
    };
    let key = r.fingerprint.clone().unwrap_or_else(|| "-".to_string());
    vec![r.provider.to_string(), source, key]
}

fn rm(ctx: &Ctx, config: &Config, keychain: &dyn SecretStore, name: &str) -> Result<Exit> {
    // A provider removed from the config may still have a key stored: allow cleaning it up.
    let known = config.provider(name);
    if known.is_none() && !crate::config::is_valid_name(name) {
        return Err(provider(config, name).unwrap_err().into());
    }
    let removed = match keychain.delete(name) {
        Ok(removed) => removed,
        Err(e @ KeyError::Unavailable { .. }) => {
            return Err(UsageError(format!("{e}: no key can be stored there to remove")).into());
        }
        Err(e) => return Err(e.into()),
    };
    if !removed && known.is_none() {
        return Err(provider(config, name).unwrap_err().into());
    }
    if removed {
        tracing::info!(provider = name, "key removed from the keychain");
    }
    let var = known.and_then(|p| p.key_env.as_deref());
    let env_set = var.is_some_and(|v| ctx.env.non_empty(v).is_some());
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "provider": name,
            "removed": removed,
            "still_in_env": if env_set { var } else { None },
        }))?;
    } else if removed {
        ctx.ui.out(format!(
            "Removed the key for {name} from {}.",
            keychain.describe()
        ))?;
    } else {
        ctx.ui.out(format!(
            "No key for {name} in {}: nothing to remove.",
            keychain.describe()
        ))?;
    }
    if let (true, Some(var)) = (env_set, var) {
        ctx.ui.warn(format!(
            "{var} is still set in the environment and will be used for {name}"
        ));
    }
    Ok(Exit::Ok)
}
