//! INSECURE, TEST-ONLY: keys in a plain JSON file, so integration tests can run `keys set`
//! in one process and `keys list` in the next without a real keychain.
//!
//! Selected by the environment variable [`TEST_STORE_VAR`] (the file's path). This module
//! and the code that selects it exist only in debug builds (`#[cfg(debug_assertions)]`):
//! a release build (`cargo install`, `cargo build --release`) has no way to write a key to a
//! file. A cargo feature would be less safe (anyone can turn one on for a release build), and
//! a mock keyring cannot be shared between processes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::{KeyError, Secret, SecretStore};

/// Path of the insecure test key file (debug builds only).
pub const TEST_STORE_VAR: &str = "SAMOCODER_INSECURE_TEST_KEYSTORE";

/// A JSON object `{ "provider": "key" }` in one file, written atomically with mode 0600.
pub struct InsecureTestFileStore {
    path: PathBuf,
}

impl InsecureTestFileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        InsecureTestFileStore { path: path.into() }
    }

    fn failed(&self, what: impl std::fmt::Display) -> KeyError {
        KeyError::Failed {
            store: self.describe(),
            reason: what.to_string(),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, String>, KeyError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| self.failed(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.failed(e)),
        }
    }

    fn save(&self, keys: &BTreeMap<String, String>) -> Result<(), KeyError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.failed(e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.failed(e))?;
        serde_json::to_writer(&mut tmp, keys).map_err(|e| self.failed(e))?;
        tmp.flush().map_err(|e| self.failed(e))?;
        tmp.persist(&self.path).map_err(|e| self.failed(e.error))?;
        Ok(())
    }
}

impl SecretStore for InsecureTestFileStore {
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError> {
        Ok(self.load()?.remove(provider).map(Secret::new))
    }

    fn set(&self, provider: &str, secret: &Secret) -> Result<(), KeyError> {
        let mut keys = self.load()?;
        keys.insert(provider.to_string(), secret.expose().to_string());
        self.save(&keys)
    }

    fn delete(&self, provider: &str) -> Result<bool, KeyError> {
        let mut keys = self.load()?;
        let removed = keys.remove(provider).is_some();
        if removed {
            self.save(&keys)?;
        }
        Ok(removed)
    }

    fn describe(&self) -> String {
        format!("the INSECURE test key file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_across_instances() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("keys.json");
        InsecureTestFileStore::new(&path)
            .set("openai", &Secret::new("sk-file"))
            .unwrap();
        let again = InsecureTestFileStore::new(&path);
        assert_eq!(again.get("openai").unwrap().unwrap().expose(), "sk-file");
        assert!(again.delete("openai").unwrap());
        assert!(!again.delete("openai").unwrap());
        assert!(again.get("openai").unwrap().is_none());
    }
}
