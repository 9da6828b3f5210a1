//! Configuration: the TOML file, XDG paths, environment and `-c key=value` overrides, and the
//! built-in providers. Raw file types (`raw`) are kept apart from the resolved [`Config`].
//!
//! Layers, later ones winning: built-in defaults, `config.toml`, `SAMOCODER__SECTION__KEY`
//! environment variables, `-c key=value` flags. Tables merge key by key; arrays replace.

mod defaults;
mod edit;
mod env;
mod error;
mod layers;
mod model;
mod paths;
mod raw;
mod resolve;
mod source;

use std::path::Path;

pub use edit::{save_text, set_in_file};
pub use env::Env;
pub use error::ConfigError;
pub use layers::ENV_PREFIX;
pub use model::*;
pub use paths::{NoHomeDir, Paths};
pub use source::{Source, Sources};

/// The resolved configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: Sources,
    /// The merged TOML, for `config get`.
    table: toml::Table,
}

impl Loaded {
    /// The value at a dotted key (`budget.per_run_usd`, `providers.openai`).
    pub fn get(&self, key: &str) -> Result<&toml::Value, ConfigError> {
        let path = layers::parse_key(key).map_err(|_| ConfigError::UnknownKey(key.into()))?;
        layers::get_path(&self.table, &path).ok_or_else(|| ConfigError::UnknownKey(key.into()))
    }

    /// The merged configuration as a TOML table (defaults included).
    pub fn table(&self) -> &toml::Table {
        &self.table
    }
}

/// Loads the config file at `path` (a missing file is fine) under `env` and `flags`.
pub fn load(path: &Path, env: &Env, flags: &[String]) -> Result<Loaded, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    load_text(path, text.as_deref(), env, flags)
}

/// Like [`load`] with the file's text given (`None`: no file).
pub fn load_text(
    path: &Path,
    text: Option<&str>,
    env: &Env,
    flags: &[String],
) -> Result<Loaded, ConfigError> {
    let merged = layers::merge_layers(defaults::DEFAULTS, text.map(|t| (path, t)), env, flags)?;
    let config = resolve::resolve(&merged)?;
    Ok(Loaded {
        config,
        sources: merged.sources,
        table: merged.table,
    })
}

#[cfg(test)]
mod tests;
