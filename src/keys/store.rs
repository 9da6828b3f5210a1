//! The [`SecretStore`] trait, its errors, and the environment and in-memory stores.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Secret;
use crate::config::{Env, ProviderConfig};
use crate::exit::{Exit, ExitStatus};

/// Somewhere API keys are kept, one per provider name.
pub trait SecretStore {
    /// The key stored for `provider`, or `None` when there is none.
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError>;
    /// Stores `secret` for `provider`, replacing any earlier one. Returns only once the key
    /// can be read back.
    fn set(&self, provider: &str, secret: &Secret) -> Result<(), KeyError>;
    /// Removes the key for `provider`. `Ok(false)` when there was none.
    fn delete(&self, provider: &str) -> Result<bool, KeyError>;
    /// Where the keys live, for messages ("the macOS Keychain", ...).
    fn describe(&self) -> String;
}

/// Why a key could not be read, stored or removed. No variant ever carries a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store cannot be used on this machine (no keychain service, no access).
    #[error("the OS keychain is not available here ({reason})")]
    Unavailable { reason: String },
    /// The store only reads (environment variables).
    #[error("{store} is read-only: keys there are set outside samocoder")]
    ReadOnly { store: String },
    /// The store refused this value or name.
    #[error("{store} refused the key for `{provider}`: {reason}")]
    Rejected {
        store: String,
        provider: String,
        reason: String,
    },
    /// What is stored is not a usable key (not text).
    #[error(
        "the key stored for `{provider}` in {store} is not valid text: remove it with `samocoder keys rm {provider}` and set it again"
    )]
    Corrupt { store: String, provider: String },
    /// Anything else the store reported.
    #[error("{store} failed: {reason}")]
    Failed { store: String, reason: String },
}

impl ExitStatus for KeyError {
    fn exit(&self) -> Exit {
        match self {
            KeyError::Unavailable { .. }
            | KeyError::ReadOnly { .. }
            | KeyError::Rejected { .. }
            | KeyError::Corrupt { .. } => Exit::Usage,
            KeyError::Failed { .. } => Exit::Failure,
        }
    }
}

/// Keys in environment variables: each provider's `key_env` in one [`Env`] snapshot.
/// A variable that is set but empty counts as not set. Read-only.
pub struct EnvStore<'a> {
    env: &'a Env,
    vars: BTreeMap<String, String>,
}

impl<'a> EnvStore<'a> {
    /// Reads the variables named by the providers' `key_env` (providers without one are skipped).
    pub fn new<'p>(env: &'a Env, providers: impl IntoIterator<Item = &'p ProviderConfig>) -> Self {
        let vars = providers
            .into_iter()
            .filter_map(|p| Some((p.name.clone(), p.key_env.clone()?)))
            .collect();
        EnvStore { env, vars }
    }

    /// The variable that holds `provider`'s key, if it has one.
    pub fn var(&self, provider: &str) -> Option<&str> {
        self.vars.get(provider).map(String::as_str)
    }

    fn read_only(&self) -> KeyError {
        KeyError::ReadOnly {
            store: self.describe(),
        }
    }
}

impl SecretStore for EnvStore<'_> {
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError> {
        Ok(self
            .var(provider)
            .and_then(|var| self.env.non_empty(var))
            .map(Secret::new))
    }

    fn set(&self, _provider: &str, _secret: &Secret) -> Result<(), KeyError> {
        Err(self.read_only())
    }

    fn delete(&self, _provider: &str) -> Result<bool, KeyError> {
        Err(self.read_only())
    }

    fn describe(&self) -> String {
        "the environment".to_string()
    }
}

/// Keys in memory, for tests.
#[derive(Default)]
pub struct MemoryStore {
    keys: Mutex<BTreeMap<String, Secret>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError> {
        Ok(self.lock().get(provider).cloned())
    }

    fn set(&self, provider: &str, secret: &Secret) -> Result<(), KeyError> {
        self.lock().insert(provider.to_string(), secret.clone());
        Ok(())
    }

    fn delete(&self, provider: &str) -> Result<bool, KeyError> {
        Ok(self.lock().remove(provider).is_some())
    }

    fn describe(&self) -> String {
        "the in-memory store".to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::WireKind;

    pub(crate) fn provider(name: &str, key_env: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            name: name.to_string(),
            kind: WireKind::Openai,
            base_url: "http://127.0.0.1:1".to_string(),
            key_env: key_env.map(str::to_string),
            free: false,
            prompt_cache_key: None,
        }
    }

    #[test]
    fn memory_store_sets_gets_and_deletes() {
        let s = MemoryStore::new();
        assert!(s.get("openai").unwrap().is_none());
        s.set("openai", &Secret::new("sk-one")).unwrap();
        s.set("openai", &Secret::new("sk-two")).unwrap();
        assert_eq!(s.get("openai").unwrap().unwrap().expose(), "sk-two");
        assert!(s.get("groq").unwrap().is_none());
        assert!(s.delete("openai").unwrap());
        assert!(!s.delete("openai").unwrap());
        assert!(s.get("openai").unwrap().is_none());
    }

    #[test]
    fn env_store_reads_the_providers_variable_and_ignores_empty() {
        let env: Env = [("OPENAI_API_KEY", "sk-env"), ("GROQ_API_KEY", "")]
            .into_iter()
            .collect();
        let providers = [
            provider("openai", Some("OPENAI_API_KEY")),
            provider("groq", Some("GROQ_API_KEY")),
            provider("ollama", None),
        ];
        let s = EnvStore::new(&env, &providers);
        assert_eq!(s.get("openai").unwrap().unwrap().expose(), "sk-env");
        assert!(s.get("groq").unwrap().is_none());
        assert!(s.get("ollama").unwrap().is_none());
        assert!(s.get("unknown").unwrap().is_none());
        assert_eq!(s.var("groq"), Some("GROQ_API_KEY"));
    }

    #[test]
    fn env_store_is_read_only_and_says_so() {
        let env = Env::default();
        let providers = [provider("openai", Some("OPENAI_API_KEY"))];
        let s = EnvStore::new(&env, &providers);
        let err = s.set("openai", &Secret::new("sk-x")).unwrap_err();
        assert!(matches!(err, KeyError::ReadOnly { .. }));
        assert!(err.to_string().contains("read-only"), "{err}");
        assert!(matches!(s.delete("openai"), Err(KeyError::ReadOnly { .. })));
    }
}
