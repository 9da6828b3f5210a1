//! Where a config value came from, for `config show --json` and for error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    /// A `SAMOCODER__SECTION__KEY` environment variable.
    Env(String),
    /// A `-c key=value` flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(s) => write!(f, "flag -c {s}"),
        }
    }
}

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Dotted key -> where its current value came from. Keys are leaves (arrays count as leaves).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Sources(BTreeMap<String, Source>);

impl Sources {
    /// Records `value` (recursively for tables) at `prefix` as coming from `source`, replacing
    /// what an earlier layer recorded below that key.
    pub(super) fn record(&mut self, prefix: &str, value: &toml::Value, source: &Source) {
        let below = format!("{prefix}.");
        self.0.retain(|k, _| k != prefix && !k.starts_with(&below));
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    self.record(&join(prefix, k), v, source);
                }
            }
            _ => {
                self.0.insert(prefix.to_string(), source.clone());
            }
        }
    }

    /// Where `key` (or the nearest enclosing key that was recorded) came from.
    pub fn of(&self, key: &str) -> Source {
        let mut k = key;
        loop {
            if let Some(s) = self.0.get(k) {
                return s.clone();
            }
            match k.rfind('.') {
                Some(i) => k = &k[..i],
                None => return Source::Default,
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Source)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Joins a dotted prefix and a key, quoting the key when it is not a bare TOML key.
pub(super) fn join(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}
