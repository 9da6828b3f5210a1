//! Prices and context windows of models, and the cost of one call.
//!
//! The shipped table (`src/llm/prices.json`) is built by `examples/gen-prices.rs` from
//! LiteLLM's `model_prices_and_context_window.json` and models.dev's `api.json` with the same
//! importers behind `samocoder prices import` ([`import`]). Every row names the source it came
//! from ([`PriceTable::sources`]); the table carries its snapshot date. Prices are US dollars
//! per million tokens.
//!
//! Which price wins, first match: the cost the provider reported itself (OpenRouter's
//! `usage.cost`; the table's figure is kept beside it so a disagreement can be seen), a user
//! override from the config (`[prices."PROVIDER:MODEL"]`), a provider declared free
//! (`[providers.NAME] free = true`, as the built-in `ollama` is), the shipped or imported
//! table. A model with none of these costs `None` (unknown), never 0: a loopback base URL
//! alone says nothing about money (it may be a proxy in front of a paid API).

mod import;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub use import::{
    Format, ImportSpec, import, import_litellm, import_models_dev, import_openrouter,
};
pub use table::{
    PriceTable, TableSource, USER_TABLE_FILE, load_table, load_user_table, user_table_path,
};

use crate::config::{ModelRef, PriceOverride};
use crate::exit::{Exit, ExitStatus};
use crate::llm::Usage;

/// Providers whose chat models the shipped table covers (the built-in paid providers).
pub const BUILTIN_PROVIDERS: &[&str] = &["openai", "anthropic", "openrouter", "groq"];

/// The label recorded for prices set in the config (`[prices."PROVIDER:MODEL"]`).
pub const CONFIG_LABEL: &str = "config";
/// The label recorded for a provider declared free.
pub const FREE_LABEL: &str = "free";

/// Higher prices for a request whose prompt is larger than a threshold (Anthropic's and
/// Google's long-context prices, OpenAI's above 272k). The tier's prices apply to the whole
/// request, as the providers bill it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTier {
    /// The tier applies when input + cached + cache-write tokens exceed this.
    pub above_input_tokens: u64,
    pub input: f64,
    pub output: f64,
    /// `None`: the base row's cache-read price (else `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// `None`: the base row's cache-write price (else `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// `None`: reasoning tokens are billed as this tier's `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<f64>,
}

/// One model's prices (dollars per million tokens) and context window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// The key of the row's source in [`PriceTable::sources`]. Empty in config overrides.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub input: f64,
    pub output: f64,
    /// Price of input tokens read from the prompt cache; `None`: billed as `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Price of input tokens written to the prompt cache; `None`: billed as `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Price of reasoning tokens when the source prices them apart from output; `None`:
    /// reasoning tokens are output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<f64>,
    /// Long-prompt prices, lowest threshold first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<PriceTier>,
    /// Largest prompt in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

/// The per-token rates that apply to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    input: f64,
    output: f64,
    cache_read: f64,
    cache_write: f64,
    reasoning: f64,
}

impl ModelPrice {
    /// A plain row: input and output prices only.
    pub fn new(input: f64, output: f64) -> ModelPrice {
        ModelPrice {
            source: String::new(),
            input,
            output,
            cache_read: None,
            cache_write: None,
            reasoning: None,
            tiers: Vec::new(),
            context_window: None,
        }
    }

    /// True when every price is zero (a free model).
    pub fn is_free(&self) -> bool {
        let zero = |p: Option<f64>| p.is_none_or(|p| p == 0.0);
        self.input == 0.0
            && self.output == 0.0
            && zero(self.cache_read)
            && zero(self.cache_write)
            && zero(self.reasoning)
            && self.tiers.iter().all(|t| t.input == 0.0 && t.output == 0.0)
    }

    /// The rates for a request with `prompt_tokens` of input (all kinds together).
    fn rates(&self, prompt_tokens: u64) -> Rates {
        let base = Rates {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read.unwrap_or(self.input),
            cache_write: self.cache_write.unwrap_or(self.input),
            reasoning: self.reasoning.unwrap_or(self.output),
        };
        let tier = self
            .tiers
            .iter()
            .filter(|t| prompt_tokens > t.above_input_tokens)
            .max_by_key(|t| t.above_input_tokens);
        match tier {
            None => base,
            Some(t) => Rates {
                input: t.input,
                output: t.output,
                cache_read: t.cache_read.or(self.cache_read).unwrap_or(t.input),
                cache_write: t.cache_write.or(self.cache_write).unwrap_or(t.input),
                reasoning: t.reasoning.unwrap_or(t.output),
            },
        }
    }

    /// Dollars for this usage, rounded to the micro-dollar. Reasoning tokens are part of the
    /// output tokens; they are billed at the reasoning price where the row has one.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let prompt = usage
            .input_tokens
            .saturating_add(usage.cached_input_tokens)
            .saturating_add(usage.cache_write_tokens);
        let r = self.rates(prompt);
        let reasoning = usage.reasoning_tokens.min(usage.output_tokens);
        let answer = usage.output_tokens - reasoning;
        let dollars = (usage.input_tokens as f64 * r.input
            + usage.cached_input_tokens as f64 * r.cache_read
            + usage.cache_write_tokens as f64 * r.cache_write
            + answer as f64 * r.output
            + reasoning as f64 * r.reasoning)
            / 1e6;
        round_micro(dollars)
    }
}

impl From<&PriceOverride> for ModelPrice {
    fn from(o: &PriceOverride) -> Self {
        ModelPrice {
            cache_read: o.cached_input_per_mtok,
            cache_write: o.cache_write_per_mtok,
            context_window: o.context_window,
            ..ModelPrice::new(o.input_per_mtok, o.output_per_mtok)
        }
    }
}

/// Rounds dollars to whole micro-dollars, the precision costs are recorded with.
pub fn round_micro(dollars: f64) -> f64 {
    (dollars * 1e6).round() / 1e6
}

/// Why a price file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error("the price file is not valid JSON ({0}): {FORMATS_HINT}")]
    Parse(String),
    #[error("the price file is not a price list samocoder can read: {FORMATS_HINT}")]
    UnknownFormat,
    #[error(
        "the {format} file has no usable prices for {providers}: pass a file with prices for these providers (or name one with --provider)"
    )]
    NoModels { format: String, providers: String },
    /// The imported table under the data directory cannot be used.
    #[error(
        "the imported price table {path} cannot be used ({message}): run `samocoder prices import FILE` again or `samocoder prices reset`"
    )]
    UserTable { path: String, message: String },
}

const FORMATS_HINT: &str = "pass LiteLLM's model_prices_and_context_window.json, models.dev's api.json or the answer of OpenRouter's GET /api/v1/models";

impl ExitStatus for PriceError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// Where a recorded cost came from. Stored as `table|provider|override|unknown`; a provider
/// declared free is an `override` (the config says so).
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
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Dollars rounded to the micro-dollar; `None` when no price is known.
    pub usd: Option<f64>,
    pub source: CostSource,
    /// True the first time (per [`Pricing`]) a model without a price is met: warn the user once.
    pub first_unknown: bool,
    /// The price table (source and version, e.g. `models.dev 1.0.398`), `config` or `free`
    /// whose price made `usd`; for a provider-reported cost, the table it was checked
    /// against. `None`: no price known.
    pub table: Option<String>,
    /// For a provider-reported cost: what the table's price comes to (`None`: the table does
    /// not know the model).
    pub table_usd: Option<f64>,
}

/// How well a model's price is known before a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceKnowledge {
    /// An exact price: the config, a price table, or a provider declared free.
    Known,
    /// No price for this provider and model, but the same model id is priced under another
    /// provider (e.g. a proxy in front of OpenAI): costs can be estimated, not recorded.
    Estimated,
    /// Nothing: calls are recorded with an unknown cost and cannot be budgeted.
    Unknown,
}

/// What is known of one model's price, for budgets and for telling the user before a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceStatus {
    pub model: ModelRef,
    pub knowledge: PriceKnowledge,
    /// True when the price is known to be zero.
    pub free: bool,
    /// Who prices it: a table label (`LiteLLM 1.109.1`), `config` or `free`; for an estimate,
    /// the table that prices `basis`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// For an estimate: the model whose price is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<ModelRef>,
    /// The price used (exact or estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<ModelPrice>,
}

impl PriceStatus {
    /// Dollars for `usage` at this price (exact or estimated); `None` when unknown.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        self.price.as_ref().map(|p| p.cost(usage))
    }
}

/// What is known of the prices of a route's models, in route order: what the agent asks
/// before a run to budget it (see [`crate::llm::ModelLayer::route_prices`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutePrices {
    /// The route's name (the role, or `default`).
    pub route: String,
    pub models: Vec<PriceStatus>,
}

impl RoutePrices {
    /// The least that is known of any model of the route (a call may fall back to any of
    /// them): `Known` only when every model has an exact price.
    pub fn knowledge(&self) -> PriceKnowledge {
        self.models
            .iter()
            .map(|m| m.knowledge)
            .max()
            .unwrap_or(PriceKnowledge::Unknown)
    }

    /// True when every model of the route is known to cost nothing.
    pub fn free(&self) -> bool {
        !self.models.is_empty() && self.models.iter().all(|m| m.free)
    }

    /// What a call of `usage` costs at most, whichever model serves it (the dearest,
    /// exact or estimated); `None` when some model's price is unknown.
    pub fn max_cost(&self, usage: &Usage) -> Option<f64> {
        self.models
            .iter()
            .map(|m| m.cost(usage))
            .try_fold(0.0f64, |acc, c| c.map(|c| acc.max(c)))
            .filter(|_| !self.models.is_empty())
    }
}

/// Whether a base URL points at this machine (`localhost`, `127.0.0.0/8`, `::1`). Used to
/// find local servers to probe for their context window; it says nothing about money (a
/// local proxy may front a paid API: only `free = true` makes a provider free).
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

    pub fn table(&self) -> &PriceTable {
        &self.table
    }

    /// The price of a model (override first, then the table), if known.
    pub fn price(&self, model: &ModelRef) -> Option<(ModelPrice, CostSource)> {
        self.priced(model).map(|(p, s, _)| (p, s))
    }

    /// The exact price of a model with where it came from and its label.
    fn priced(&self, model: &ModelRef) -> Option<(ModelPrice, CostSource, String)> {
        if let Some(o) = self.overrides.get(&model.to_string()) {
            return Some((
                ModelPrice::from(o),
                CostSource::Override,
                CONFIG_LABEL.into(),
            ));
        }
        self.table
            .get(model)
            .map(|p| (p.clone(), CostSource::Table, self.table.label_of(p)))
    }

    /// The model's context window in tokens, if known.
    pub fn context_window(&self, model: &ModelRef) -> Option<u64> {
        self.price(model).and_then(|(p, _)| p.context_window)
    }

    /// The cost of `usage` on `model`. `free`: the provider is declared free.
    pub fn cost(&self, model: &ModelRef, usage: &Usage, free: bool) -> Cost {
        let priced = self.priced(model);
        if let Some(usd) = usage
            .reported_cost_usd
            .filter(|c| c.is_finite() && *c >= 0.0)
        {
            let (table, table_usd) = match &priced {
                Some((p, _, label)) => (Some(label.clone()), Some(p.cost(usage))),
                None => (None, None),
            };
            return Cost {
                usd: Some(round_micro(usd)),
                source: CostSource::Provider,
                first_unknown: false,
                table,
                table_usd,
            };
        }
        match priced {
            Some((p, CostSource::Override, label)) => Cost {
                usd: Some(p.cost(usage)),
                source: CostSource::Override,
                first_unknown: false,
                table: Some(label),
                table_usd: None,
            },
            _ if free => Cost {
                usd: Some(0.0),
                source: CostSource::Override,
                first_unknown: false,
                table: Some(FREE_LABEL.into()),
                table_usd: None,
            },
            Some((p, source, label)) => Cost {
                usd: Some(p.cost(usage)),
                source,
                first_unknown: false,
                table: Some(label),
                table_usd: None,
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
                    table: None,
                    table_usd: None,
                }
            }
        }
    }

    /// What is known of `model`'s price before calling it (no warning is used up). `free`:
    /// the provider is declared free.
    pub fn status(&self, model: &ModelRef, free: bool) -> PriceStatus {
        let known = |price: ModelPrice, by: String| PriceStatus {
            model: model.clone(),
            knowledge: PriceKnowledge::Known,
            free: price.is_free(),
            by: Some(by),
            basis: None,
            price: Some(price),
        };
        match self.priced(model) {
            Some((p, CostSource::Override, label)) => return known(p, label),
            _ if free => return known(ModelPrice::new(0.0, 0.0), FREE_LABEL.into()),
            Some((p, _, label)) => return known(p, label),
            None => {}
        }
        match self.table.same_model_elsewhere(model) {
            Some((basis, p)) => PriceStatus {
                model: model.clone(),
                knowledge: PriceKnowledge::Estimated,
                free: false,
                by: Some(self.table.label_of(p)),
                basis: Some(basis),
                price: Some(p.clone()),
            },
            None => PriceStatus {
                model: model.clone(),
                knowledge: PriceKnowledge::Unknown,
                free: false,
                by: None,
                basis: None,
                price: None,
            },
        }
    }
}
