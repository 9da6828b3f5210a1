//! Configuration errors. Each names the key and where its value came from.

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatus};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Bad TOML or a value of the wrong shape in the file; `at` is "line L, column C".
    #[error("config file {}, {at}: {message}", path.display())]
    Parse {
        path: PathBuf,
        at: String,
        message: String,
    },
    /// A bad `-c key=value` flag or `SAMOCODER__*` environment override.
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
    /// A value that parsed but makes no sense.
    #[error("{key} (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
    #[error("unknown config key `{0}`; see `samocoder config show` for the keys that exist")]
    UnknownKey(String),
    #[error("cannot write config file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Editor(String),
}

impl ExitStatus for ConfigError {
    fn exit(&self) -> Exit {
        match self {
            ConfigError::Write { .. } => Exit::Failure,
            _ => Exit::Usage,
        }
    }
}
