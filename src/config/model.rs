//! The resolved configuration: what the rest of samocoder reads. Built from defaults, the
//! config file, environment overrides and `-c key=value` flags by [`super::load`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireKind {
    /// OpenAI Chat Completions (`POST {base}/chat/completions`), also spoken by OpenRouter,
    /// Groq, Ollama, llama.cpp, vLLM and LM Studio.
    Openai,
    /// Anthropic Messages (`POST {base}/messages`).
    Anthropic,
    /// OpenAI Responses (`POST {base}/responses`), written `kind = "openai-responses"`: where
    /// OpenAI's newest (reasoning) models are served best.
    #[serde(rename = "openai-responses")]
    OpenaiResponses,
}

impl fmt::Display for WireKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireKind::Openai => "openai",
            WireKind::Anthropic => "anthropic",
            WireKind::OpenaiResponses => "openai-responses",
        })
    }
}

/// One provider endpoint, declared as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderConfig {
    /// The provider's name as used in `PROVIDER:MODEL` (e.g. `openai`, `mylocal`).
    pub name: String,
    pub kind: WireKind,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Environment variable that holds the API key; `None` when the provider needs no key.
    pub key_env: Option<String>,
    /// Every call to this provider costs nothing (a local server such as Ollama, declared with
    /// `free = true`). A provider that is not declared free is priced from the config and the
    /// price table, and is of unknown cost when neither knows the model: a loopback base URL
    /// alone may be a proxy in front of a paid API.
    pub free: bool,
    /// Send each conversation's key as `prompt_cache_key` (OpenAI wire). `None`: only to
    /// api.openai.com and OpenRouter, which honour it (Groq, for one, refuses the field).
    pub prompt_cache_key: Option<bool>,
}

/// A model on a provider, written `PROVIDER:MODEL` (the model part may contain `/` and `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

/// Why a `PROVIDER:MODEL` string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a model name: write it as PROVIDER:MODEL, e.g. `openai:gpt-4.1`")]
pub struct BadModelRef(pub String);

impl FromStr for ModelRef {
    type Err = BadModelRef;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (provider, model) = s
            .split_once(':')
            .ok_or_else(|| BadModelRef(s.to_string()))?;
        if !is_valid_name(provider) || model.is_empty() || model.trim() != model {
            return Err(BadModelRef(s.to_string()));
        }
        Ok(ModelRef {
            provider: provider.to_string(),
            model: model.to_string(),
        })
    }
}

impl Serialize for ModelRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Provider and route names: lowercase ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Dollar caps. `None` means no cap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetConfig {
    /// Cap for one `new`/`resume` run, in US dollars.
    pub per_run_usd: Option<f64>,
    /// Cap for everything spent on one project, in US dollars.
    pub per_project_usd: Option<f64>,
    /// Fraction of a cap at which a warning is shown (0 < warn_at <= 1).
    pub warn_at: f64,
}

/// Limits that keep the agent from looping, hanging or flooding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitsConfig {
    /// Fix attempts per task before it is stopped as failed.
    pub max_fix_attempts: u32,
    /// Invalid tool calls tolerated per task.
    pub max_tool_errors: u32,
    /// Model turns per task.
    pub max_turns_per_task: u32,
    /// Default timeout of a command the agent runs, in seconds.
    pub command_timeout_s: u64,
    /// Bytes of a command's output kept for the model (head and tail).
    pub command_output_bytes: u64,
    /// Largest file the agent may write or read, in bytes.
    pub max_file_bytes: u64,
    /// Largest new file samocoder did not write that goes into a checkpoint or an export
    /// (bigger ones are left out and named); never below `max_file_bytes` in effect.
    pub max_user_file_bytes: u64,
    /// Largest number of output tokens requested per model call.
    pub max_output_tokens: u32,
    /// Model calls one run may make, priced or not, before it stops (exit 3, resumable): a
    /// ceiling a real run never meets and a runaway always does.
    pub max_calls_per_run: u32,
    /// Tokens the map of an adopted repository may take in a prompt (and one `list_files`).
    pub repo_map_tokens: usize,
}

/// Timeouts, retries and circuit breaking for model calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkConfig {
    pub connect_timeout_s: f64,
    /// Time allowed from sending the request to the first byte of the response.
    pub first_byte_timeout_s: f64,
    /// Time allowed between two stream events; keep-alive comments and pings do not reset it.
    pub idle_timeout_s: f64,
    /// Retries per route entry after the first attempt.
    pub max_retries: u32,
    /// Longest wait honoured from a `retry-after` header, in seconds.
    pub max_retry_wait_s: f64,
    /// Most bytes one answer may stream (text, tool-call arguments, reasoning); past it the
    /// answer is ended as cut and nothing more is read or stored.
    pub max_answer_bytes: u64,
    /// Longest one answer may stream, in seconds; past it the answer is ended as cut.
    pub max_answer_s: f64,
    /// Consecutive failures after which a provider is skipped for `breaker_cooldown_s`.
    pub breaker_failures: u32,
    pub breaker_cooldown_s: f64,
}

/// A user's price for a model, overriding the shipped table. Dollars per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceOverride {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cached_input_per_mtok: Option<f64>,
    pub cache_write_per_mtok: Option<f64>,
    pub context_window: Option<u64>,
}

/// How hard a reasoning model should think (OpenAI `reasoning_effort`, OpenRouter
/// `reasoning.effort`, Groq `reasoning_effort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<ReasoningEffort> {
        Some(match s {
            "minimal" => ReasoningEffort::Minimal,
            "low" => ReasoningEffort::Low,
            "medium" => ReasoningEffort::Medium,
            "high" => ReasoningEffort::High,
            _ => return None,
        })
    }
}

/// Settings of one model (`[models."PROVIDER:MODEL"]`) or one route (`[route_options.NAME]`,
/// which wins over the model's for the calls of that route).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelOptions {
    /// Sent as `reasoning_effort` (OpenAI chat, Groq), `reasoning.effort` (OpenAI Responses,
    /// OpenRouter). Also switches OpenAI-style requests to `max_completion_tokens`.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Anthropic extended thinking: `thinking.budget_tokens` (at least 1024). The request's
    /// `max_tokens` becomes the output limit plus this budget.
    pub thinking_budget_tokens: Option<u32>,
    /// The prompt limit in tokens, overriding what a local server reports and the price table.
    pub context_window: Option<u64>,
}

impl ModelOptions {
    /// `self` with the fields `over` sets replacing ours.
    pub fn overlay(&self, over: &ModelOptions) -> ModelOptions {
        ModelOptions {
            reasoning_effort: over.reasoning_effort.or(self.reasoning_effort),
            thinking_budget_tokens: over.thinking_budget_tokens.or(self.thinking_budget_tokens),
            context_window: over.context_window.or(self.context_window),
        }
    }
}

/// The whole resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Ordered fallback lists per role; `default` always exists.
    pub routes: BTreeMap<String, Vec<ModelRef>>,
    pub budget: BudgetConfig,
    pub limits: LimitsConfig,
    pub network: NetworkConfig,
    /// Keyed by `PROVIDER:MODEL`.
    pub prices: BTreeMap<String, PriceOverride>,
    /// Per-model settings, keyed by `PROVIDER:MODEL`.
    pub models: BTreeMap<String, ModelOptions>,
    /// Per-route settings, keyed by route name; they win over `models` for that route.
    pub route_options: BTreeMap<String, ModelOptions>,
    /// `[sandbox]`: how commands are confined.
    pub sandbox: crate::exec::sandbox::SandboxConfig,
    /// `[exec]`: the environment of commands.
    pub exec: ExecConfig,
}

/// `[exec]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ExecConfig {
    /// Variables passed to commands on top of the built-in allow-list (`exec.env_passthrough`).
    pub env_passthrough: Vec<String>,
}

impl Config {
    /// The route for a role (`planner`, `coder`, ...), falling back to `default`.
    pub fn route(&self, role: &str) -> &[ModelRef] {
        self.routes
            .get(role)
            .or_else(|| self.routes.get("default"))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.get(name)
    }

    /// The environment variables that hold the providers' keys.
    pub fn key_vars(&self) -> Vec<String> {
        self.providers
            .values()
            .filter_map(|p| p.key_env.clone())
            .collect()
    }

    /// The settings for `model` when called through `route` (route settings win).
    pub fn model_options(&self, model: &ModelRef, route: Option<&str>) -> ModelOptions {
        let base = self
            .models
            .get(&model.to_string())
            .cloned()
            .unwrap_or_default();
        match route.and_then(|r| self.route_options.get(r)) {
            Some(r) => base.overlay(r),
            None => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ref_keeps_slashes_and_colons_in_the_model() {
        let m: ModelRef = "openrouter:anthropic/claude-sonnet-4.5".parse().unwrap();
        assert_eq!(m.provider, "openrouter");
        assert_eq!(m.model, "anthropic/claude-sonnet-4.5");
        let m: ModelRef = "ollama:llama3.1:8b".parse().unwrap();
        assert_eq!(m.model, "llama3.1:8b");
        assert_eq!(m.to_string(), "ollama:llama3.1:8b");
    }

    #[test]
    fn model_ref_rejects_malformed() {
        for bad in ["gpt-4", ":gpt", "openai:", "Open AI:x", "openai: x"] {
            assert!(bad.parse::<ModelRef>().is_err(), "{bad}");
        }
    }
}
