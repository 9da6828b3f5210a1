//! Prices and context windows of models, and the cost of one call.
//!
//! The shipped table (`prices.json` next to this file) is generated from LiteLLM's
//! `model_prices_and_context_window.json` by [`import_litellm`], the same function behind
//! `samocoder prices import FILE.json`. Prices are US dollars per million tokens.
//!
//! Which price wins, first match: the cost the provider reported itself (OpenRouter's
//! `usage.cost`), a user override from the config (`[prices."PROVIDER:MODEL"]`), a provider
//! declared local (a loopback base URL such as Ollama's: free), the shipped or imported table.
//! An unknown model costs `None` (unknown), never 0.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::config::{ModelRef, PriceOverride};
use crate::exit::{Exit, ExitStatus};
use crate::llm::Usage;

/// Providers whose chat models the shipped table covers. LiteLLM spells their keys
/// `gpt-4.1` (openai), `claude-sonnet-4-5` (anthropic), `openrouter/anthropic/claude-sonnet-4.5`
/// and `groq/llama-3.3-70b-versatile`; the table keys them `PROVIDER:MODEL`.
pub const BUILTIN_PROVIDERS: &[&str] = &["openai", "anthropic", "openrouter", "groq"];

const SHIPPED: &str = include_str!("prices.json");

/// One model's prices (dollars per million tokens) and context window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    /// Price of input tokens read from the prompt cache; `None`: billed as `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Price of input tokens written to the prompt cache; `None`: billed as `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Largest prompt in tokens (LiteLLM's `max_input_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

impl ModelPrice {
    /// Dollars for this usage, rounded to the micro-dollar.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let dollars = (usage.input_tokens as f64 * self.input
            + usage.output_tokens as f64 * self.output
            + usage.cached_input_tokens as f64 * self.cache_read.unwrap_or(self.input)
            + usage.cache_write_tokens as f64 * self.cache_write.unwrap_or(self.input))
            / 1e6;
        round_micro(dollars)
    }
}

impl From<&PriceOverride> for ModelPrice {
    fn from(o: &PriceOverride) -> Self {
        ModelPrice {
            input: o.input_per_mtok,
            output: o.output_per_mtok,
            cache_read: o.cached_input_per_mtok,
            cache_write: o.cache_write_per_mtok,
            context_window: o.context_window,
        }
    }
}

/// Rounds dollars to whole micro-dollars, the precision costs are recorded with.
pub fn round_micro(dollars: f64) -> f64 {
    (dollars * 1e6).round() / 1e6
}

/// A price table as shipped in the repository or imported by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Where the prices come from (file, version, licence).
    pub source: String,
    /// The day the table was generated, `YYYY-MM-DD`.
    pub generated: String,
    /// Always `USD per million tokens`.
    pub unit: String,
    /// Keyed `PROVIDER:MODEL`.
    pub models: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// The table shipped with this build.
    pub fn shipped() -> PriceTable {
        // The shipped file is checked by a unit test, so this cannot fail in a release.
        serde_json::from_str(SHIPPED).unwrap_or_else(|_| PriceTable::empty())
    }

    pub fn empty() -> PriceTable {
        PriceTable {
            source: String::new(),
            generated: String::new(),
            unit: UNIT.to_string(),
            models: BTreeMap::new(),
        }
    }

    /// Reads a table written by [`PriceTable::to_json`].
    pub fn from_json(text: &str) -> Result<PriceTable, PriceError> {
        serde_json::from_str(text).map_err(|e| PriceError::Parse(e.to_string()))
    }

    /// Pretty JSON with one model per entry, stable order.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn get(&self, model: &ModelRef) -> Option<&ModelPrice> {
        self.models.get(&model.to_string())
    }
}

const UNIT: &str = "USD per million tokens";

/// The file under the data directory holding the table `samocoder prices import` wrote.
pub const USER_TABLE_FILE: &str = "prices.json";

/// Where the imported price table lives.
pub fn user_table_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join(USER_TABLE_FILE)
}

impl PriceTable {
    /// This table with `newer`'s models added or replacing ours; `newer`'s source and date.
    pub fn overlay(mut self, newer: PriceTable) -> PriceTable {
        self.models.extend(newer.models);
        self.source = newer.source;
        self.generated = newer.generated;
        self
    }
}

/// The table to price calls with: the shipped one, overlaid by the imported table under
/// `data_dir` when there is one (its models win).
pub fn load_table(data_dir: &std::path::Path) -> Result<PriceTable, PriceError> {
    let path = user_table_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PriceTable::shipped()),
        Err(e) => {
            return Err(PriceError::UserTable {
                path: path.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let user = PriceTable::from_json(&text).map_err(|e| PriceError::UserTable {
        path: path.display().to_string(),
        message: match e {
            PriceError::Parse(m) => m,
            other => other.to_string(),
        },
    })?;
    Ok(PriceTable::shipped().overlay(user))
}

/// Why a price file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error(
        "the price file is not valid JSON ({0}): pass LiteLLM's model_prices_and_context_window.json"
    )]
    Parse(String),
    #[error(
        "the price file has no chat models for {providers}: pass LiteLLM's model_prices_and_context_window.json"
    )]
    NoModels { providers: String },
    /// The imported table under the data directory cannot be used.
    #[error(
        "the imported price table {path} cannot be used ({message}): run `samocoder prices import FILE.json` again or delete it"
    )]
    UserTable { path: String, message: String },
}

impl ExitStatus for PriceError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// Builds a table from LiteLLM's `model_prices_and_context_window.json`: the chat models of
/// [`BUILTIN_PROVIDERS`] that have both an input and an output price. Fine-tuned (`ft:`) entries
/// and LiteLLM's `sample_spec` are left out. `source` and `generated` are left for the caller.
pub fn import_litellm(json: &str) -> Result<PriceTable, PriceError> {
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| PriceError::Parse(e.to_string()))?;
    let mut models = BTreeMap::new();
    for (key, v) in &raw {
        let Some(provider) = v.get("litellm_provider").and_then(|p| p.as_str()) else {
            continue;
        };
        if !BUILTIN_PROVIDERS.contains(&provider)
            || v.get("mode").and_then(|m| m.as_str()) != Some("chat")
            || key.starts_with("ft:")
        {
            continue;
        }
        let per_m = |field: &str| {
            v.get(field)
                .and_then(|x| x.as_f64())
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| (x * 1e12).round() / 1e6)
        };
        let (Some(input), Some(output)) = (
            per_m("input_cost_per_token"),
            per_m("output_cost_per_token"),
        ) else {
            continue;
        };
        let model = key
            .strip_prefix(provider)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(key);
        if model.is_empty() {
            continue;
        }
        let price = ModelPrice {
            input,
            output,
            cache_read: per_m("cache_read_input_token_cost"),
            cache_write: per_m("cache_creation_input_token_cost"),
            context_window: v
                .get("max_input_tokens")
                .and_then(|x| x.as_u64())
                .filter(|n| *n > 0),
        };
        models.insert(format!("{provider}:{model}"), price);
    }
    if models.is_empty() {
        return Err(PriceError::NoModels {
            providers: BUILTIN_PROVIDERS.join(", "),
        });
    }
    Ok(PriceTable {
        source: "LiteLLM model_prices_and_context_window.json (MIT)".to_string(),
        generated: String::new(),
        unit: UNIT.to_string(),
        models,
    })
}

/// Where a recorded cost came from. Stored as `table|provider|override|unknown`; a local
/// provider's zero cost is a `table` cost (the built-in rule that local models are free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    Table,
    Provider,
    Override,
    Unknown,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Table => "table",
            CostSource::Provider => "provider",
            CostSource::Override => "override",
            CostSource::Unknown => "unknown",
        }
    }
}

/// The cost of one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Dollars rounded to the micro-dollar; `None` when no price is known.
    pub usd: Option<f64>,
    pub source: CostSource,
    /// True the first time (per [`Pricing`]) a model without a price is met: warn the user once.
    pub first_unknown: bool,
}

/// The price table plus the user's overrides; share one per process (`Arc`) so the
/// unknown-price warning is given once per model.
#[derive(Debug)]
pub struct Pricing {
    table: PriceTable,
    overrides: BTreeMap<String, PriceOverride>,
    warned: Mutex<HashSet<String>>,
}

impl Pricing {
    /// `overrides` is `Config.prices`, keyed `PROVIDER:MODEL`.
    pub fn new(table: PriceTable, overrides: BTreeMap<String, PriceOverride>) -> Pricing {
        Pricing {
            table,
            overrides,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// The price of a model (override first, then the table), if known.
    pub fn price(&self, model: &ModelRef) -> Option<(ModelPrice, CostSource)> {
        if let Some(o) = self.overrides.get(&model.to_string()) {
            return Some((ModelPrice::from(o), CostSource::Override));
        }
        self.table
            .get(model)
            .map(|p| (p.clone(), CostSource::Table))
    }

    /// The model's context window in tokens, if known.
    pub fn context_window(&self, model: &ModelRef) -> Option<u64> {
        self.price(model).and_then(|(p, _)| p.context_window)
    }

    /// The cost of `usage` on `model`. `local`: the provider runs on this machine (free).
    pub fn cost(&self, model: &ModelRef, usage: &Usage, local: bool) -> Cost {
        if let Some(usd) = usage
            .reported_cost_usd
            .filter(|c| c.is_finite() && *c >= 0.0)
        {
            return Cost {
                usd: Some(round_micro(usd)),
                source: CostSource::Provider,
                first_unknown: false,
            };
        }
        if let Some(o) = self.overrides.get(&model.to_string()) {
            return Cost {
                usd: Some(ModelPrice::from(o).cost(usage)),
                source: CostSource::Override,
                first_unknown: false,
            };
        }
        if local {
            return Cost {
                usd: Some(0.0),
                source: CostSource::Table,
                first_unknown: false,
            };
        }
        match self.table.get(model) {
            Some(p) => Cost {
                usd: Some(p.cost(usage)),
                source: CostSource::Table,
                first_unknown: false,
            },
            None => {
                let first = self
                    .warned
                    .lock()
                    .map(|mut w| w.insert(model.to_string()))
                    .unwrap_or(false);
                Cost {
                    usd: None,
                    source: CostSource::Unknown,
                    first_unknown: first,
                }
            }
        }
    }
}

/// Whether a base URL points at this machine (`localhost`, `127.0.0.0/8`, `::1`): such
/// providers (Ollama, llama.cpp, vLLM, LM Studio) are priced at zero.
pub fn is_local_base_url(base_url: &str) -> bool {
    let Ok(url) = url::Url::parse(base_url) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> ModelRef {
        s.parse().unwrap()
    }

    fn usage(i: u64, o: u64, c: u64, w: u64) -> Usage {
        Usage {
            input_tokens: i,
            output_tokens: o,
            cached_input_tokens: c,
            cache_write_tokens: w,
            ..Usage::default()
        }
    }

    #[test]
    fn shipped_table_parses_and_knows_the_usual_models() {
        let t: PriceTable = serde_json::from_str(SHIPPED).expect("prices.json is valid");
        assert!(t.source.contains("litellm 1.109.1"), "{}", t.source);
        assert_eq!(t.unit, UNIT);
        let p = t.get(&m("openai:gpt-4o")).unwrap();
        assert_eq!((p.input, p.output, p.cache_read), (2.5, 10.0, Some(1.25)));
        let p = t.get(&m("anthropic:claude-sonnet-4-5")).unwrap();
        assert_eq!(
            (p.input, p.output, p.cache_read, p.cache_write),
            (3.0, 15.0, Some(0.3), Some(3.75))
        );
        assert_eq!(p.context_window, Some(200_000));
        assert!(t.get(&m("groq:openai/gpt-oss-120b")).is_some());
        assert!(t.models.keys().all(|k| !k.contains("ft:")));
    }

    #[test]
    fn import_keeps_builtin_chat_models_and_strips_provider_prefixes() {
        let json = r#"{
            "sample_spec": {"litellm_provider": "one of ...", "input_cost_per_token": 0.0},
            "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
                       "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
                       "max_input_tokens": 128000},
            "ft:gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "openrouter/anthropic/claude-sonnet-4.5": {"litellm_provider": "openrouter", "mode": "chat",
                       "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
            "groq/llama-3.3-70b-versatile": {"litellm_provider": "groq", "mode": "chat",
                       "input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07, "max_input_tokens": 128000},
            "mistral/x": {"litellm_provider": "mistral", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "no-price": {"litellm_provider": "openai", "mode": "chat"}
        }"#;
        let t = import_litellm(json).unwrap();
        let keys: Vec<_> = t.models.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "groq:llama-3.3-70b-versatile",
                "openai:gpt-4o",
                "openrouter:anthropic/claude-sonnet-4.5"
            ]
        );
        let g = &t.models["groq:llama-3.3-70b-versatile"];
        assert_eq!(
            (g.input, g.output, g.context_window),
            (0.59, 0.79, Some(128_000))
        );
        assert_eq!(t.models["openai:gpt-4o"].cache_read, Some(1.25));
        // Round trip through the shipped format.
        assert_eq!(PriceTable::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn import_rejects_garbage_and_empty_tables() {
        assert!(matches!(import_litellm("[1,2"), Err(PriceError::Parse(_))));
        assert!(matches!(
            import_litellm("{}"),
            Err(PriceError::NoModels { .. })
        ));
        assert_eq!(import_litellm("{}").unwrap_err().exit(), Exit::Usage);
    }

    #[test]
    fn cost_uses_cache_prices_and_rounds_to_the_micro_dollar() {
        let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
        // claude-sonnet-4-5: 3 / 15 / read 0.30 / write 3.75 per M.
        let c = p.cost(
            &m("anthropic:claude-sonnet-4-5"),
            &usage(1000, 500, 2000, 100),
            false,
        );
        // 0.003 + 0.0075 + 0.0006 + 0.000375
        assert_eq!(c.usd, Some(0.011475));
        assert_eq!(c.source, CostSource::Table);
        // 7 input tokens of gpt-4o-mini at 0.15/M = 0.00000105 -> 0.000001
        let c = p.cost(&m("openai:gpt-4o-mini"), &usage(7, 0, 0, 0), false);
        assert_eq!(c.usd, Some(0.000001));
    }

    #[test]
    fn overrides_win_over_the_table_and_reported_cost_wins_over_both() {
        let mut o = BTreeMap::new();
        o.insert(
            "openai:gpt-4o".to_string(),
            PriceOverride {
                input_per_mtok: 1.0,
                output_per_mtok: 2.0,
                cached_input_per_mtok: None,
                cache_write_per_mtok: None,
                context_window: Some(64_000),
            },
        );
        let p = Pricing::new(PriceTable::shipped(), o);
        let c = p.cost(
            &m("openai:gpt-4o"),
            &usage(1_000_000, 1_000_000, 0, 0),
            false,
        );
        assert_eq!((c.usd, c.source), (Some(3.0), CostSource::Override));
        assert_eq!(p.context_window(&m("openai:gpt-4o")), Some(64_000));
        let mut u = usage(1_000_000, 0, 0, 0);
        u.reported_cost_usd = Some(0.12345678);
        let c = p.cost(&m("openai:gpt-4o"), &u, false);
        assert_eq!((c.usd, c.source), (Some(0.123457), CostSource::Provider));
    }

    #[test]
    fn unknown_model_costs_none_and_warns_once() {
        let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
        let x = m("openai:gpt-imaginary");
        let c = p.cost(&x, &usage(10, 10, 0, 0), false);
        assert_eq!(
            (c.usd, c.source, c.first_unknown),
            (None, CostSource::Unknown, true)
        );
        let c = p.cost(&x, &usage(10, 10, 0, 0), false);
        assert_eq!((c.usd, c.first_unknown), (None, false));
        // A local provider is free, not unknown.
        let c = p.cost(&m("ollama:llama3.1:8b"), &usage(10, 10, 0, 0), true);
        assert_eq!((c.usd, c.source), (Some(0.0), CostSource::Table));
    }

    #[test]
    fn imported_table_overlays_the_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_table(dir.path()).unwrap(), PriceTable::shipped());
        let mut user = PriceTable::empty();
        user.source = "mine".into();
        user.models.insert(
            "openai:gpt-4o".into(),
            ModelPrice {
                input: 1.0,
                output: 1.0,
                cache_read: None,
                cache_write: None,
                context_window: None,
            },
        );
        std::fs::write(user_table_path(dir.path()), user.to_json()).unwrap();
        let t = load_table(dir.path()).unwrap();
        assert_eq!(t.source, "mine");
        assert_eq!(t.get(&m("openai:gpt-4o")).unwrap().input, 1.0);
        assert!(t.get(&m("anthropic:claude-sonnet-4-5")).is_some());
        std::fs::write(user_table_path(dir.path()), "{").unwrap();
        let e = load_table(dir.path()).unwrap_err();
        assert!(matches!(e, PriceError::UserTable { .. }), "{e}");
        assert_eq!(e.exit(), Exit::Usage);
    }

    #[test]
    fn local_base_urls() {
        assert!(is_local_base_url("http://localhost:11434/v1"));
        assert!(is_local_base_url("http://127.0.0.1:8000/v1"));
        assert!(is_local_base_url("http://[::1]:1234/v1"));
        assert!(!is_local_base_url("https://api.openai.com/v1"));
        assert!(!is_local_base_url("not a url"));
    }
}
