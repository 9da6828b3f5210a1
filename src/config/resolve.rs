//! Turning the merged layers into a validated [`Config`]. Every error names the key and the
//! layer its value came from.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::ConfigError;
use super::layers::Merged;
use super::raw::{RawConfig, RawModelOptions, RawPrice};
use super::source::join;
use super::*;

pub(super) fn resolve(merged: &Merged) -> Result<Config, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        key: key.to_string(),
        origin: merged.sources.of(key).to_string(),
        message,
    };
    let raw = RawConfig::deserialize(toml::Value::Table(merged.table.clone())).map_err(|e| {
        ConfigError::Invalid {
            key: "config".into(),
            origin: "the merged layers".into(),
            message: e.to_string().trim().replace('\n', " "),
        }
    })?;

    let mut providers = BTreeMap::new();
    for (name, p) in raw.providers.unwrap_or_default() {
        let key = join("providers", &name);
        if !is_valid_name(&name) {
            return Err(invalid(
                &key,
                format!(
                    "provider name `{name}`: use lowercase letters, digits, - and _, starting with a letter"
                ),
            ));
        }
        let kind = match p.kind.as_deref() {
            Some("openai") => WireKind::Openai,
            Some("anthropic") => WireKind::Anthropic,
            Some("openai-responses") => WireKind::OpenaiResponses,
            Some(other) => {
                return Err(invalid(
                    &format!("{key}.kind"),
                    format!(
                        "unknown kind `{other}`: use \"openai\" (chat completions), \"openai-responses\" or \"anthropic\""
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    &key,
                    "needs `kind = \"openai\"` or `kind = \"anthropic\"`".into(),
                ));
            }
        };
        let base_url = match p.base_url {
            Some(u) => check_url(&u).map_err(|m| invalid(&format!("{key}.base_url"), m))?,
            None => {
                return Err(invalid(
                    &key,
                    "needs a `base_url`, e.g. \"http://127.0.0.1:8080/v1\"".into(),
                ));
            }
        };
        let key_env = match p.key_env {
            Some(v) if v.is_empty() => None,
            Some(v) if is_env_name(&v) => Some(v),
            Some(v) => {
                return Err(invalid(
                    &format!("{key}.key_env"),
                    format!("`{v}` is not an environment variable name (letters, digits and _)"),
                ));
            }
            None => None,
        };
        providers.insert(
            name.clone(),
            ProviderConfig {
                name,
                kind,
                base_url,
                key_env,
                free: p.free.unwrap_or(false),
                prompt_cache_key: p.prompt_cache_key,
            },
        );
    }

    let mut routes = BTreeMap::new();
    for (role, entries) in raw.routes.unwrap_or_default() {
        let key = join("routes", &role);
        if !is_valid_name(&role) {
            return Err(invalid(
                &key,
                format!("route name `{role}`: use lowercase letters, digits, - and _"),
            ));
        }
        if entries.is_empty() {
            return Err(invalid(
                &key,
                "the route is empty: list at least one PROVIDER:MODEL".into(),
            ));
        }
        let mut refs = Vec::with_capacity(entries.len());
        for entry in entries {
            let m: ModelRef = entry
                .parse()
                .map_err(|e: BadModelRef| invalid(&key, e.to_string()))?;
            if !providers.contains_key(&m.provider) {
                return Err(invalid(
                    &key,
                    format!(
                        "unknown provider `{}` in `{entry}`; known providers: {}",
                        m.provider,
                        providers.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            refs.push(m);
        }
        routes.insert(role, refs);
    }
    if !routes.contains_key("default") {
        return Err(invalid(
            "routes.default",
            "a `default` route is required".into(),
        ));
    }

    let b = raw.budget.unwrap_or_default();
    let budget = BudgetConfig {
        per_run_usd: dollars(b.per_run_usd, "budget.per_run_usd", &invalid)?,
        per_project_usd: dollars(b.per_project_usd, "budget.per_project_usd", &invalid)?,
        warn_at: match b.warn_at {
            Some(w) if w > 0.0 && w <= 1.0 => w,
            Some(w) => {
                return Err(invalid(
                    "budget.warn_at",
                    format!("must be a fraction above 0 and at most 1, got {w}"),
                ));
            }
            None => 0.8,
        },
    };

    let l = raw.limits.unwrap_or_default();
    let count = |v: Option<i64>, key: &str, max: i64| -> Result<i64, ConfigError> {
        match v {
            Some(n) if n >= 1 && n <= max => Ok(n),
            Some(n) => Err(invalid(
                key,
                format!("must be a whole number from 1 to {max}, got {n}"),
            )),
            None => Err(invalid(key, "is missing".into())),
        }
    };
    let u32_max = i64::from(u32::MAX);
    let limits = LimitsConfig {
        max_fix_attempts: count(l.max_fix_attempts, "limits.max_fix_attempts", 100)? as u32,
        max_tool_errors: count(l.max_tool_errors, "limits.max_tool_errors", 1000)? as u32,
        max_turns_per_task: count(l.max_turns_per_task, "limits.max_turns_per_task", 10_000)?
            as u32,
        command_timeout_s: count(l.command_timeout_s, "limits.command_timeout_s", 86_400)? as u64,
        command_output_bytes: count(
            l.command_output_bytes,
            "limits.command_output_bytes",
            1 << 30,
        )? as u64,
        max_file_bytes: count(l.max_file_bytes, "limits.max_file_bytes", 1 << 32)? as u64,
        max_user_file_bytes: count(l.max_user_file_bytes, "limits.max_user_file_bytes", 1 << 40)?
            as u64,
        max_output_tokens: count(l.max_output_tokens, "limits.max_output_tokens", u32_max)? as u32,
        max_calls_per_run: count(l.max_calls_per_run, "limits.max_calls_per_run", 1_000_000)?
            as u32,
        repo_map_tokens: count(l.repo_map_tokens, "limits.repo_map_tokens", 1_000_000)? as usize,
    };

    let n = raw.network.unwrap_or_default();
    // A day at most: anything longer is a typo (and 1e20 seconds overflows a duration).
    let secs = |v: Option<f64>, key: &str| -> Result<f64, ConfigError> {
        match v {
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
            Some(s) => Err(invalid(
                key,
                format!("must be a number of seconds above 0 and at most 86400 (a day), got {s}"),
            )),
            None => Err(invalid(key, "is missing".into())),
        }
    };
    let network = NetworkConfig {
        connect_timeout_s: secs(n.connect_timeout_s, "network.connect_timeout_s")?,
        first_byte_timeout_s: secs(n.first_byte_timeout_s, "network.first_byte_timeout_s")?,
        idle_timeout_s: secs(n.idle_timeout_s, "network.idle_timeout_s")?,
        max_retries: match n.max_retries {
            Some(r) if (0..=10).contains(&r) => r as u32,
            Some(r) => {
                return Err(invalid(
                    "network.max_retries",
                    format!("must be from 0 to 10, got {r}"),
                ));
            }
            None => return Err(invalid("network.max_retries", "is missing".into())),
        },
        max_retry_wait_s: secs(n.max_retry_wait_s, "network.max_retry_wait_s")?,
        breaker_failures: count(n.breaker_failures, "network.breaker_failures", 1000)? as u32,
        breaker_cooldown_s: secs(n.breaker_cooldown_s, "network.breaker_cooldown_s")?,
        max_answer_bytes: count(n.max_answer_bytes, "network.max_answer_bytes", 1 << 30)? as u64,
        max_answer_s: secs(n.max_answer_s, "network.max_answer_s")?,
    };

    let mut prices = BTreeMap::new();
    for (model, p) in raw.prices.unwrap_or_default() {
        let key = join("prices", &model);
        let m: ModelRef = model
            .parse()
            .map_err(|e: BadModelRef| invalid(&key, e.to_string()))?;
        prices.insert(m.to_string(), price(p, &key, &invalid)?);
    }

    let mut models = BTreeMap::new();
    for (model, o) in raw.models.unwrap_or_default() {
        let key = join("models", &model);
        let m: ModelRef = model
            .parse()
            .map_err(|e: BadModelRef| invalid(&key, e.to_string()))?;
        models.insert(m.to_string(), model_options(o, &key, &invalid)?);
    }
    let mut route_options = BTreeMap::new();
    for (route, o) in raw.route_options.unwrap_or_default() {
        let key = join("route_options", &route);
        if !routes.contains_key(&route) {
            return Err(invalid(
                &key,
                format!(
                    "no route named `{route}` (routes: {})",
                    routes.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        route_options.insert(route, model_options(o, &key, &invalid)?);
    }
    let (sandbox, exec) = sandbox_and_exec(raw.sandbox, raw.exec, &providers, &invalid)?;

    Ok(Config {
        providers,
        routes,
        budget,
        limits,
        network,
        prices,
        models,
        route_options,
        sandbox,
        exec,
    })
}

fn model_options(
    o: RawModelOptions,
    key: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<ModelOptions, ConfigError> {
    let reasoning_effort = match o.reasoning_effort.as_deref() {
        None => None,
        Some(e) => Some(ReasoningEffort::parse(e).ok_or_else(|| {
            invalid(
                &format!("{key}.reasoning_effort"),
                format!("`{e}` is not an effort: use minimal, low, medium or high"),
            )
        })?),
    };
    let thinking_budget_tokens = match o.thinking_budget_tokens {
        None => None,
        Some(b) if (1024..=i64::from(u32::MAX)).contains(&b) => Some(b as u32),
        Some(b) => {
            return Err(invalid(
                &format!("{key}.thinking_budget_tokens"),
                format!("must be a whole number of at least 1024 (Anthropic's minimum), got {b}"),
            ));
        }
    };
    let context_window = match o.context_window {
        None => None,
        Some(w) if w > 0 => Some(w as u64),
        Some(w) => {
            return Err(invalid(
                &format!("{key}.context_window"),
                format!("must be above 0, got {w}"),
            ));
        }
    };
    Ok(ModelOptions {
        reasoning_effort,
        thinking_budget_tokens,
        context_window,
    })
}

fn dollars(
    v: Option<f64>,
    key: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(d) if d.is_finite() && d > 0.0 => Ok(Some(d)),
        Some(d) => Err(invalid(
            key,
            format!("must be a dollar amount above 0, got {d}"),
        )),
        None => Ok(None),
    }
}

fn price(
    p: RawPrice,
    key: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<PriceOverride, ConfigError> {
    let per_mtok = |v: Option<f64>, field: &str| -> Result<Option<f64>, ConfigError> {
        match v {
            Some(d) if d.is_finite() && d >= 0.0 => Ok(Some(d)),
            Some(d) => Err(invalid(
                &format!("{key}.{field}"),
                format!("must be 0 or more dollars per million tokens, got {d}"),
            )),
            None => Ok(None),
        }
    };
    let required = |v: Option<f64>, field: &str| -> Result<f64, ConfigError> {
        per_mtok(v, field)?
            .ok_or_else(|| invalid(key, format!("needs `{field}` (dollars per million tokens)")))
    };
    Ok(PriceOverride {
        input_per_mtok: required(p.input_per_mtok, "input_per_mtok")?,
        output_per_mtok: required(p.output_per_mtok, "output_per_mtok")?,
        cached_input_per_mtok: per_mtok(p.cached_input_per_mtok, "cached_input_per_mtok")?,
        cache_write_per_mtok: per_mtok(p.cache_write_per_mtok, "cache_write_per_mtok")?,
        context_window: match p.context_window {
            Some(w) if w > 0 => Some(w as u64),
            Some(w) => {
                return Err(invalid(
                    &format!("{key}.context_window"),
                    format!("must be above 0, got {w}"),
                ));
            }
            None => None,
        },
    })
}

fn check_url(u: &str) -> Result<String, String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("`{u}` is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("`{u}` must be an http:// or https:// URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("put credentials in a key (samocoder keys set), not in the URL".into());
    }
    Ok(u.trim_end_matches('/').to_string())
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[sandbox]` and `[exec]`. A provider's key variable can never be passed to commands.
fn sandbox_and_exec(
    sandbox: Option<super::raw::RawSandbox>,
    exec: Option<super::raw::RawExec>,
    providers: &BTreeMap<String, ProviderConfig>,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<
    (
        crate::exec::sandbox::SandboxConfig,
        super::model::ExecConfig,
    ),
    ConfigError,
> {
    let s = sandbox.unwrap_or_default();
    let mode = match s.mode {
        Some(m) => Some(m.parse().map_err(|e: String| invalid("sandbox.mode", e))?),
        None => None,
    };
    let sandbox = crate::exec::sandbox::SandboxConfig {
        mode,
        network: s.network,
        install_network: s.install_network,
        writable: s.writable.unwrap_or_default(),
        readable: s.readable.unwrap_or_default(),
    };
    let passthrough = exec.and_then(|e| e.env_passthrough).unwrap_or_default();
    for name in &passthrough {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(invalid(
                "exec.env_passthrough",
                format!("`{name}` is not a variable name"),
            ));
        }
        if let Some(p) = providers.values().find(|p| {
            p.key_env
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(name))
        }) {
            return Err(invalid(
                "exec.env_passthrough",
                format!(
                    "`{name}` holds the API key of provider `{}`; keys are never passed to commands",
                    p.name
                ),
            ));
        }
    }
    Ok((
        sandbox,
        super::model::ExecConfig {
            env_passthrough: passthrough,
        },
    ))
}
