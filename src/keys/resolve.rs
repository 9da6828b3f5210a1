//! [`Keys`]: finds a provider's key. The provider's environment variable wins (when set and
//! not empty), then the keychain.

use serde::Serialize;

use super::{EnvStore, KeyError, Secret, SecretStore};
use crate::config::{Env, ProviderConfig};

/// Where a provider's key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "var", rename_all = "snake_case")]
pub enum KeySource {
    /// The environment variable named here.
    Env(String),
    /// The OS keychain.
    Keychain,
    /// The provider needs a key and none was found.
    None,
    /// The provider's config names no key variable: it needs no key (e.g. a local Ollama).
    NotNeeded,
}

/// A provider's key and where it came from. `secret` is `Some` exactly for `Env` and `Keychain`.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    pub source: KeySource,
    pub secret: Option<Secret>,
}

/// The lookup: environment first, then the keychain.
pub struct Keys<'a> {
    env: EnvStore<'a>,
    keychain: Box<dyn SecretStore + 'a>,
}

impl<'a> Keys<'a> {
    pub fn new<'p>(
        env: &'a Env,
        providers: impl IntoIterator<Item = &'p ProviderConfig>,
        keychain: Box<dyn SecretStore + 'a>,
    ) -> Keys<'a> {
        Keys {
            env: EnvStore::new(env, providers),
            keychain,
        }
    }

    /// The keychain behind the environment.
    pub fn keychain(&self) -> &dyn SecretStore {
        self.keychain.as_ref()
    }

    /// Finds `provider`'s key. Fails only when the key is not in the environment and the
    /// keychain cannot be read.
    pub fn resolve(&self, provider: &ProviderConfig) -> Result<ResolvedKey, KeyError> {
        let Some(var) = provider.key_env.as_deref() else {
            return Ok(ResolvedKey {
                source: KeySource::NotNeeded,
                secret: None,
            });
        };
        if let Some(secret) = self.env.get(&provider.name)? {
            return Ok(ResolvedKey {
                source: KeySource::Env(var.to_string()),
                secret: Some(secret),
            });
        }
        Ok(match self.keychain.get(&provider.name)? {
            Some(secret) => ResolvedKey {
                source: KeySource::Keychain,
                secret: Some(secret),
            },
            None => ResolvedKey {
                source: KeySource::None,
                secret: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MemoryStore;
    use crate::keys::store::tests::provider;

    /// A keychain that cannot be reached, to check that the environment does not need it.
    struct Broken;
    impl SecretStore for Broken {
        fn get(&self, _: &str) -> Result<Option<Secret>, KeyError> {
            Err(KeyError::Unavailable {
                reason: "test".into(),
            })
        }
        fn set(&self, _: &str, _: &Secret) -> Result<(), KeyError> {
            self.get("").map(drop)
        }
        fn delete(&self, _: &str) -> Result<bool, KeyError> {
            self.get("").map(|_| false)
        }
        fn describe(&self) -> String {
            "a broken keychain".into()
        }
    }

    fn keychain_with(provider: &str, key: &str) -> Box<MemoryStore> {
        let m = MemoryStore::new();
        m.set(provider, &Secret::new(key)).unwrap();
        Box::new(m)
    }

    #[test]
    fn env_wins_over_keychain() {
        let env: Env = [("OPENAI_API_KEY", "sk-from-env")].into_iter().collect();
        let p = provider("openai", Some("OPENAI_API_KEY"));
        let keys = Keys::new(&env, [&p], keychain_with("openai", "sk-from-keychain"));
        let r = keys.resolve(&p).unwrap();
        assert_eq!(r.source, KeySource::Env("OPENAI_API_KEY".into()));
        assert_eq!(r.secret.unwrap().expose(), "sk-from-env");
    }

    #[test]
    fn empty_env_var_falls_through_to_keychain() {
        let env: Env = [("OPENAI_API_KEY", "")].into_iter().collect();
        let p = provider("openai", Some("OPENAI_API_KEY"));
        let keys = Keys::new(&env, [&p], keychain_with("openai", "sk-from-keychain"));
        let r = keys.resolve(&p).unwrap();
        assert_eq!(r.source, KeySource::Keychain);
        assert_eq!(r.secret.unwrap().expose(), "sk-from-keychain");
    }

    #[test]
    fn nothing_anywhere_is_none_and_no_key_env_is_not_needed() {
        let env = Env::default();
        let openai = provider("openai", Some("OPENAI_API_KEY"));
        let ollama = provider("ollama", None);
        let keys = Keys::new(&env, [&openai, &ollama], Box::new(MemoryStore::new()));
        let r = keys.resolve(&openai).unwrap();
        assert_eq!(r.source, KeySource::None);
        assert!(r.secret.is_none());
        assert_eq!(keys.resolve(&ollama).unwrap().source, KeySource::NotNeeded);
    }

    #[test]
    fn env_key_does_not_touch_an_unavailable_keychain() {
        let env: Env = [("GROQ_API_KEY", "gsk_x")].into_iter().collect();
        let groq = provider("groq", Some("GROQ_API_KEY"));
        let openai = provider("openai", Some("OPENAI_API_KEY"));
        let keys = Keys::new(&env, [&groq, &openai], Box::new(Broken));
        assert_eq!(
            keys.resolve(&groq).unwrap().source,
            KeySource::Env("GROQ_API_KEY".into())
        );
        assert!(matches!(
            keys.resolve(&openai),
            Err(KeyError::Unavailable { .. })
        ));
    }
}
