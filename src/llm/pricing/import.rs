//! Reading other people's price lists into a [`PriceTable`]: LiteLLM's
//! `model_prices_and_context_window.json` (dollars per token), models.dev's `api.json`
//! (dollars per million tokens, per provider) and OpenRouter's `GET /api/v1/models` answer
//! (dollars per token as strings). The format is detected from the shape of the JSON.
//!
//! These files come from outside: a row whose prices are missing, negative or not numbers
//! is left out rather than guessed (OpenRouter lists `-1` for routers whose price varies).

use std::collections::BTreeMap;

use serde_json::Value;

use super::table::UNIT;
use super::{ModelPrice, PriceError, PriceTable, PriceTier, TableSource};
use crate::config::{ModelRef, is_valid_name};

/// The price-list formats samocoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// LiteLLM's `model_prices_and_context_window.json`.
    LiteLlm,
    /// models.dev's `api.json`.
    ModelsDev,
    /// OpenRouter's `GET /api/v1/models` answer.
    OpenRouter,
}

impl Format {
    /// The source name recorded with the prices.
    pub fn name(self) -> &'static str {
        match self {
            Format::LiteLlm => "LiteLLM",
            Format::ModelsDev => "models.dev",
            Format::OpenRouter => "OpenRouter models",
        }
    }

    /// Which format a parsed file is, from its shape; `None` for anything else.
    pub fn detect(v: &Value) -> Option<Format> {
        let obj = v.as_object()?;
        if let Some(data) = obj.get("data").and_then(Value::as_array) {
            let priced = |m: &Value| m.get("id").is_some() && m.get("pricing").is_some();
            return (!data.is_empty() && data.iter().all(priced)).then_some(Format::OpenRouter);
        }
        let entries: Vec<&Value> = obj.values().filter(|e| e.is_object()).collect();
        if entries.is_empty() {
            return None;
        }
        if entries.iter().any(|e| e.get("litellm_provider").is_some()) {
            return Some(Format::LiteLlm);
        }
        if entries
            .iter()
            .all(|e| e.get("models").is_some_and(Value::is_object))
        {
            return Some(Format::ModelsDev);
        }
        None
    }
}

/// What to import and how to label it.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    /// Providers to keep from a multi-provider file (LiteLLM's `litellm_provider`, models.dev's
    /// provider id); the rows are keyed `PROVIDER:MODEL` with the same name.
    pub providers: Vec<String>,
    /// The provider an OpenRouter models answer is filed under (normally `openrouter`).
    pub openrouter_as: String,
    /// The source's version, or the day of the import.
    pub version: String,
    /// The file name, kept in the table.
    pub file: Option<String>,
    /// The id the rows name their source by.
    pub source_id: String,
}

/// Reads a price list of any known format. `Err` for anything else, or when it has no
/// usable price for the providers asked for.
pub fn import(text: &str, spec: &ImportSpec) -> Result<(Format, PriceTable), PriceError> {
    let v: Value = serde_json::from_str(text).map_err(|e| PriceError::Parse(e.to_string()))?;
    let format = Format::detect(&v).ok_or(PriceError::UnknownFormat)?;
    let models = match format {
        Format::LiteLlm => litellm_rows(&v, &spec.providers),
        Format::ModelsDev => models_dev_rows(&v, &spec.providers),
        Format::OpenRouter => openrouter_rows(&v, &spec.openrouter_as),
    };
    if models.is_empty() {
        let providers = match format {
            Format::OpenRouter => spec.openrouter_as.clone(),
            _ => spec.providers.join(", "),
        };
        return Err(PriceError::NoModels {
            format: format.name().to_string(),
            providers,
        });
    }
    let models = models
        .into_iter()
        .map(|(k, mut m)| {
            m.source = spec.source_id.clone();
            (k, m)
        })
        .collect();
    let mut sources = BTreeMap::new();
    sources.insert(
        spec.source_id.clone(),
        TableSource {
            name: format.name().to_string(),
            version: spec.version.clone(),
            file: spec.file.clone(),
            licence: match format {
                Format::LiteLlm | Format::ModelsDev => Some("MIT".into()),
                Format::OpenRouter => None,
            },
        },
    );
    Ok((
        format,
        PriceTable {
            version: String::new(),
            unit: UNIT.to_string(),
            sources,
            models,
        },
    ))
}

fn spec_for(providers: &[&str], id: &str) -> ImportSpec {
    ImportSpec {
        providers: providers.iter().map(|p| p.to_string()).collect(),
        openrouter_as: "openrouter".into(),
        version: String::new(),
        file: None,
        source_id: id.into(),
    }
}

/// LiteLLM's file only (see [`import`]), for the providers given.
pub fn import_litellm(text: &str, providers: &[&str]) -> Result<PriceTable, PriceError> {
    expect(
        import(text, &spec_for(providers, "litellm"))?,
        Format::LiteLlm,
    )
}

/// models.dev's `api.json` only, for the providers given.
pub fn import_models_dev(text: &str, providers: &[&str]) -> Result<PriceTable, PriceError> {
    expect(
        import(text, &spec_for(providers, "models.dev"))?,
        Format::ModelsDev,
    )
}

/// An OpenRouter models answer only, filed under `provider`.
pub fn import_openrouter(text: &str, provider: &str) -> Result<PriceTable, PriceError> {
    let mut spec = spec_for(&[], "openrouter");
    spec.openrouter_as = provider.into();
    expect(import(text, &spec)?, Format::OpenRouter)
}

fn expect(got: (Format, PriceTable), want: Format) -> Result<PriceTable, PriceError> {
    if got.0 == want {
        Ok(got.1)
    } else {
        Err(PriceError::UnknownFormat)
    }
}

/// A price that can be used: a finite number at least 0 (from a number or a numeric string).
fn number(v: Option<&Value>) -> Option<f64> {
    let x = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (x.is_finite() && x >= 0.0).then_some(x)
}

/// The dearest price per million tokens taken from a file; anything above is a mistake.
const MAX_PER_MTOK: f64 = 1e6;

/// Dollars per token to dollars per million tokens, without float noise (`2.5e-06` -> 2.5).
fn per_token(v: Option<&Value>) -> Option<f64> {
    sane(number(v)? * 1e6)
}

/// Dollars per million tokens as given, rounded the same way.
fn per_mtok(v: Option<&Value>) -> Option<f64> {
    sane(number(v)?)
}

/// Rounded to a millionth of a dollar per million tokens; `None` when absurd.
fn sane(per_mtok: f64) -> Option<f64> {
    let x = (per_mtok * 1e6).round() / 1e6;
    (x.is_finite() && x <= MAX_PER_MTOK).then_some(x)
}

fn tokens(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64).filter(|n| *n > 0)
}

/// A reasoning price only when it differs from the output price.
fn distinct(reasoning: Option<f64>, output: f64) -> Option<f64> {
    reasoning.filter(|r| *r != output)
}

/// A catalogue row of all zeros is taken only for a model whose id says it is free
/// (`...:free`, OpenRouter's convention): elsewhere a zero in LiteLLM or models.dev often means
/// "priced some other way" (per audio hour, per tool use) or "not known", and an unknown price
/// must never become $0. OpenRouter's own answer is taken as it is.
fn zero_is_believable(model: &str, price: &ModelPrice) -> bool {
    !price.is_free() || model.ends_with(":free") || model.ends_with("/free")
}

/// A usable `PROVIDER:MODEL` key, or `None` for ids that cannot name a model.
fn key(provider: &str, model: &str) -> Option<String> {
    let k = format!("{provider}:{model}");
    k.parse::<ModelRef>().ok().map(|_| k)
}

fn litellm_rows(v: &Value, providers: &[String]) -> BTreeMap<String, ModelPrice> {
    let mut out = BTreeMap::new();
    let Some(obj) = v.as_object() else {
        return out;
    };
    for (name, e) in obj {
        let Some(provider) = e.get("litellm_provider").and_then(Value::as_str) else {
            continue;
        };
        let mode = e.get("mode").and_then(Value::as_str);
        if !providers.iter().any(|p| p == provider)
            || !matches!(mode, Some("chat" | "responses"))
            || name.starts_with("ft:")
        {
            continue;
        }
        let f = |field: &str| per_token(e.get(field));
        let (Some(input), Some(output)) = (f("input_cost_per_token"), f("output_cost_per_token"))
        else {
            continue;
        };
        let model = name
            .strip_prefix(provider)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(name);
        let Some(k) = key(provider, model) else {
            continue;
        };
        let mut tiers = Vec::new();
        for t in litellm_thresholds(e) {
            let at = |base: &str| f(&format!("{base}_above_{}k_tokens", t / 1000));
            let (Some(ti), Some(to)) = (at("input_cost_per_token"), at("output_cost_per_token"))
            else {
                continue;
            };
            tiers.push(PriceTier {
                above_input_tokens: t,
                input: ti,
                output: to,
                cache_read: at("cache_read_input_token_cost"),
                cache_write: at("cache_creation_input_token_cost"),
                reasoning: None,
            });
        }
        let row = ModelPrice {
            cache_read: f("cache_read_input_token_cost"),
            cache_write: f("cache_creation_input_token_cost"),
            reasoning: distinct(f("output_cost_per_reasoning_token"), output),
            tiers,
            context_window: tokens(e.get("max_input_tokens")),
            ..ModelPrice::new(input, output)
        };
        if zero_is_believable(model, &row) {
            out.insert(k, row);
        }
    }
    out
}

/// The thresholds of LiteLLM's `input_cost_per_token_above_{N}k_tokens` fields, ascending.
fn litellm_thresholds(e: &Value) -> Vec<u64> {
    let mut t: Vec<u64> = e
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter_map(|k| {
            let n = k
                .strip_prefix("input_cost_per_token_above_")?
                .strip_suffix("k_tokens")?;
            n.parse::<u64>().ok().filter(|n| *n > 0).map(|n| n * 1000)
        })
        .collect();
    t.sort_unstable();
    t.dedup();
    t
}

fn models_dev_rows(v: &Value, providers: &[String]) -> BTreeMap<String, ModelPrice> {
    let mut out = BTreeMap::new();
    let Some(obj) = v.as_object() else {
        return out;
    };
    for (provider, p) in obj {
        if !providers.iter().any(|x| x == provider) {
            continue;
        }
        let Some(models) = p.get("models").and_then(Value::as_object) else {
            continue;
        };
        for (id, m) in models {
            let text_out = m
                .pointer("/modalities/output")
                .and_then(Value::as_array)
                .is_none_or(|o| o.iter().any(|x| x == "text"));
            let Some(cost) = m.get("cost").filter(|_| text_out) else {
                continue;
            };
            let c = |field: &str| per_mtok(cost.get(field));
            let (Some(input), Some(output)) = (c("input"), c("output")) else {
                continue;
            };
            let Some(k) = key(provider, id) else {
                continue;
            };
            let row = ModelPrice {
                cache_read: c("cache_read"),
                cache_write: c("cache_write"),
                reasoning: distinct(c("reasoning"), output),
                tiers: models_dev_tiers(cost),
                context_window: tokens(m.pointer("/limit/input"))
                    .or_else(|| tokens(m.pointer("/limit/context"))),
                ..ModelPrice::new(input, output)
            };
            if zero_is_believable(id, &row) {
                out.insert(k, row);
            }
        }
    }
    out
}

/// `cost.tiers` (context tiers with their size), else `cost.context_over_200k`.
fn models_dev_tiers(cost: &Value) -> Vec<PriceTier> {
    let tier = |t: &Value, above: u64| {
        let c = |field: &str| per_mtok(t.get(field));
        Some(PriceTier {
            above_input_tokens: above,
            input: c("input")?,
            output: c("output")?,
            cache_read: c("cache_read"),
            cache_write: c("cache_write"),
            reasoning: c("reasoning").filter(|r| Some(*r) != c("output")),
        })
    };
    let mut tiers: Vec<PriceTier> = match cost.get("tiers").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter(|t| t.pointer("/tier/type").and_then(Value::as_str) == Some("context"))
            .filter_map(|t| tier(t, tokens(t.pointer("/tier/size"))?))
            .collect(),
        None => cost
            .get("context_over_200k")
            .and_then(|t| tier(t, 200_000))
            .into_iter()
            .collect(),
    };
    tiers.sort_by_key(|t| t.above_input_tokens);
    tiers.dedup_by_key(|t| t.above_input_tokens);
    tiers
}

fn openrouter_rows(v: &Value, provider: &str) -> BTreeMap<String, ModelPrice> {
    let mut out = BTreeMap::new();
    if !is_valid_name(provider) {
        return out;
    }
    for m in v
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(pricing)) = (m.get("id").and_then(Value::as_str), m.get("pricing"))
        else {
            continue;
        };
        let p = |field: &str| per_token(pricing.get(field));
        let (Some(input), Some(output)) = (p("prompt"), p("completion")) else {
            continue;
        };
        let Some(k) = key(provider, id) else {
            continue;
        };
        let reasoning = p("internal_reasoning").filter(|r| *r > 0.0);
        let mut tiers: Vec<PriceTier> = pricing
            .get("overrides")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let min = tokens(o.get("min_prompt_tokens"))?;
                let f = |field: &str| per_token(o.get(field));
                Some(PriceTier {
                    above_input_tokens: min - 1,
                    input: f("prompt")?,
                    output: f("completion")?,
                    cache_read: f("input_cache_read"),
                    cache_write: f("input_cache_write"),
                    reasoning: f("internal_reasoning")
                        .filter(|r| *r > 0.0 && Some(*r) != f("completion")),
                })
            })
            .collect();
        tiers.sort_by_key(|t| t.above_input_tokens);
        tiers.dedup_by_key(|t| t.above_input_tokens);
        out.insert(
            k,
            ModelPrice {
                cache_read: p("input_cache_read"),
                cache_write: p("input_cache_write"),
                reasoning: distinct(reasoning, output),
                tiers,
                context_window: tokens(m.get("context_length"))
                    .or_else(|| tokens(m.pointer("/top_provider/context_length"))),
                ..ModelPrice::new(input, output)
            },
        );
    }
    out
}
