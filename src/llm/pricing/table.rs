//! [`PriceTable`]: rows keyed `PROVIDER:MODEL`, each naming its source; the shipped table,
//! the imported one under the data directory, and how the two are layered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ModelPrice, PriceError};
use crate::config::ModelRef;

const SHIPPED: &str = include_str!("../prices.json");

/// Always the unit of a table's prices.
pub const UNIT: &str = "USD per million tokens";

/// The file under the data directory holding the table `samocoder prices import` wrote.
pub const USER_TABLE_FILE: &str = "prices.json";

/// Where a table's rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSource {
    /// `LiteLLM`, `models.dev`, `OpenRouter models`, ...
    pub name: String,
    /// The source's version (`1.109.1`), or the day it was imported.
    pub version: String,
    /// The file it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
}

impl TableSource {
    /// `name version`, as recorded with every call priced from it.
    pub fn label(&self) -> String {
        if self.version.is_empty() {
            self.name.clone()
        } else {
            format!("{} {}", self.name, self.version)
        }
    }
}

/// A price table as shipped in the repository or imported by the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceTable {
    /// The snapshot: the day the table was built, `YYYY-MM-DD`.
    pub version: String,
    /// Always [`UNIT`].
    pub unit: String,
    /// The sources rows name in [`ModelPrice::source`].
    pub sources: BTreeMap<String, TableSource>,
    /// Keyed `PROVIDER:MODEL`.
    pub models: BTreeMap<String, ModelPrice>,
}

/// The file format, also accepting tables written before rows named their source (one
/// `source` text and a `generated` date for the whole table).
#[derive(Deserialize)]
struct RawTable {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    generated: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    sources: BTreeMap<String, TableSource>,
    models: BTreeMap<String, ModelPrice>,
}

/// The source id given to the rows of a table written before rows named their source.
const LEGACY_SOURCE: &str = "imported";

impl PriceTable {
    /// The table shipped with this build.
    pub fn shipped() -> PriceTable {
        // The shipped file is checked by a unit test, so this cannot fail in a release.
        PriceTable::from_json(SHIPPED).unwrap_or_else(|_| PriceTable::empty())
    }

    pub fn empty() -> PriceTable {
        PriceTable {
            version: String::new(),
            unit: UNIT.to_string(),
            sources: BTreeMap::new(),
            models: BTreeMap::new(),
        }
    }

    /// Reads a table written by [`PriceTable::to_json`] (or by an older samocoder).
    pub fn from_json(text: &str) -> Result<PriceTable, PriceError> {
        let raw: RawTable =
            serde_json::from_str(text).map_err(|e| PriceError::Parse(e.to_string()))?;
        if raw.unit.as_deref().is_some_and(|u| u != UNIT) {
            return Err(PriceError::Parse(format!(
                "prices are in {:?}, expected {UNIT:?}",
                raw.unit.unwrap_or_default()
            )));
        }
        let version = raw.version.or(raw.generated.clone()).unwrap_or_default();
        let mut sources = raw.sources;
        let mut models = raw.models;
        if models.values().any(|m| m.source.is_empty()) {
            sources
                .entry(LEGACY_SOURCE.to_string())
                .or_insert_with(|| TableSource {
                    name: raw.source.unwrap_or_else(|| "imported prices".into()),
                    version: raw.generated.unwrap_or_else(|| version.clone()),
                    file: None,
                    licence: None,
                });
            for m in models.values_mut().filter(|m| m.source.is_empty()) {
                m.source = LEGACY_SOURCE.to_string();
            }
        }
        for (key, m) in &models {
            if key.parse::<ModelRef>().is_err() {
                return Err(PriceError::Parse(format!(
                    "`{key}` is not a PROVIDER:MODEL name"
                )));
            }
            if !sources.contains_key(&m.source) {
                return Err(PriceError::Parse(format!(
                    "`{key}` names source `{}`, which the table does not list",
                    m.source
                )));
            }
            if !valid_price(m) {
                return Err(PriceError::Parse(format!(
                    "`{key}` has a negative or non-finite price"
                )));
            }
        }
        Ok(PriceTable {
            version,
            unit: UNIT.to_string(),
            sources,
            models,
        })
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

    /// The label of the source of `row` (`models.dev 1.0.398`).
    pub fn label_of(&self, row: &ModelPrice) -> String {
        match self.sources.get(&row.source) {
            Some(s) => s.label(),
            None => format!("price table {}", self.version),
        }
    }

    /// This table with `newer`'s models added or replacing ours, `newer`'s sources added and
    /// the sources no row names any more dropped. The version is the newer one.
    pub fn overlay(mut self, newer: PriceTable) -> PriceTable {
        self.models.extend(newer.models);
        self.sources.extend(newer.sources);
        let used: std::collections::BTreeSet<&str> =
            self.models.values().map(|m| m.source.as_str()).collect();
        self.sources.retain(|id, _| used.contains(id.as_str()));
        if !newer.version.is_empty() {
            self.version = newer.version;
        }
        self
    }

    /// Gives the source `from` the id `to` (in the rows too).
    pub fn rename_source(&mut self, from: &str, to: &str) {
        if let Some(s) = self.sources.remove(from) {
            self.sources.insert(to.to_string(), s);
        }
        for m in self.models.values_mut().filter(|m| m.source == from) {
            m.source = to.to_string();
        }
    }

    /// Rows per provider (`openrouter` -> 355), for reports.
    pub fn rows_per_provider(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for key in self.models.keys() {
            let provider = key.split_once(':').map_or(key.as_str(), |(p, _)| p);
            *n.entry(provider.to_string()).or_insert(0) += 1;
        }
        n
    }

    /// For a model the table does not price: the same model under another provider, for an
    /// estimate. The model id is matched whole (`myproxy:gpt-4o` -> `openai:gpt-4o`) or
    /// without a vendor prefix (`myproxy:openai/gpt-4o` -> `openai:gpt-4o`, and the other
    /// way round). Of several matches the dearest is taken, so a budget errs on the safe side.
    pub fn same_model_elsewhere(&self, model: &ModelRef) -> Option<(ModelRef, &ModelPrice)> {
        let bare = |id: &str| id.rsplit_once('/').map_or(id, |(_, m)| m).to_string();
        let want = bare(&model.model);
        if want.is_empty() {
            return None;
        }
        self.models
            .iter()
            .filter_map(|(key, p)| {
                let m: ModelRef = key.parse().ok()?;
                (m.provider != model.provider && bare(&m.model) == want).then_some((m, p))
            })
            .max_by(|(a, pa), (b, pb)| {
                pa.output
                    .total_cmp(&pb.output)
                    .then(pa.input.total_cmp(&pb.input))
                    .then_with(|| b.cmp(a))
            })
    }
}

fn valid_price(m: &ModelPrice) -> bool {
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    let opt = |v: Option<f64>| v.is_none_or(ok);
    ok(m.input)
        && ok(m.output)
        && opt(m.cache_read)
        && opt(m.cache_write)
        && opt(m.reasoning)
        && m.tiers.iter().all(|t| {
            ok(t.input)
                && ok(t.output)
                && opt(t.cache_read)
                && opt(t.cache_write)
                && opt(t.reasoning)
        })
}

/// Where the imported price table lives.
pub fn user_table_path(data_dir: &Path) -> PathBuf {
    data_dir.join(USER_TABLE_FILE)
}

/// The imported table under `data_dir`, if there is one.
pub fn load_user_table(data_dir: &Path) -> Result<Option<PriceTable>, PriceError> {
    let path = user_table_path(data_dir);
    let user_err = |message: String| PriceError::UserTable {
        path: path.display().to_string(),
        message,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(user_err(e.to_string())),
    };
    PriceTable::from_json(&text).map(Some).map_err(|e| {
        user_err(match e {
            PriceError::Parse(m) => m,
            other => other.to_string(),
        })
    })
}

/// The table to price calls with: the shipped one, overlaid by the imported table under
/// `data_dir` when there is one (its models win).
pub fn load_table(data_dir: &Path) -> Result<PriceTable, PriceError> {
    Ok(match load_user_table(data_dir)? {
        Some(user) => PriceTable::shipped().overlay(user),
        None => PriceTable::shipped(),
    })
}
