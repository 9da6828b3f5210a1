//! The config file as written: every field optional, unknown keys refused. Kept apart from the
//! resolved [`super::Config`].

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub providers: Option<BTreeMap<String, RawProvider>>,
    pub routes: Option<BTreeMap<String, Vec<String>>>,
    pub budget: Option<RawBudget>,
    pub limits: Option<RawLimits>,
    pub network: Option<RawNetwork>,
    pub prices: Option<BTreeMap<String, RawPrice>>,
    pub models: Option<BTreeMap<String, RawModelOptions>>,
    pub route_options: Option<BTreeMap<String, RawModelOptions>>,
    pub sandbox: Option<RawSandbox>,
    pub exec: Option<RawExec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModelOptions {
    pub reasoning_effort: Option<String>,
    pub thinking_budget_tokens: Option<i64>,
    pub context_window: Option<i64>,
}

/// `[sandbox]`: how commands are confined (see `exec::sandbox`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSandbox {
    pub mode: Option<String>,
    pub network: Option<bool>,
    pub install_network: Option<bool>,
    pub writable: Option<Vec<String>>,
    pub readable: Option<Vec<String>>,
}

/// `[exec]`: the environment of commands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExec {
    pub env_passthrough: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub kind: Option<String>,
    pub base_url: Option<String>,
    pub key_env: Option<String>,
    pub free: Option<bool>,
    pub prompt_cache_key: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    pub per_run_usd: Option<f64>,
    pub per_project_usd: Option<f64>,
    pub warn_at: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub max_fix_attempts: Option<i64>,
    pub max_tool_errors: Option<i64>,
    pub max_turns_per_task: Option<i64>,
    pub command_timeout_s: Option<i64>,
    pub command_output_bytes: Option<i64>,
    pub max_file_bytes: Option<i64>,
    pub max_user_file_bytes: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub max_calls_per_run: Option<i64>,
    pub repo_map_tokens: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub connect_timeout_s: Option<f64>,
    pub first_byte_timeout_s: Option<f64>,
    pub idle_timeout_s: Option<f64>,
    pub max_retries: Option<i64>,
    pub max_retry_wait_s: Option<f64>,
    pub breaker_failures: Option<i64>,
    pub breaker_cooldown_s: Option<f64>,
    pub max_answer_bytes: Option<i64>,
    pub max_answer_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    pub cached_input_per_mtok: Option<f64>,
    pub cache_write_per_mtok: Option<f64>,
    pub context_window: Option<i64>,
}
