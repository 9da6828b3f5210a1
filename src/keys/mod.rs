//! API keys: the [`SecretStore`] trait with its keychain, environment and in-memory stores,
//! the [`Secret`] type that never prints itself, and the [`Keys`] lookup (environment
//! variable first, then the OS keychain).
//!
//! Keys are never written to a file in plain text: when the keychain cannot be used, callers
//! tell the user to set the provider's environment variable instead.

#[cfg(target_os = "linux")]
mod kernel;
mod keychain;
mod resolve;
mod secret;
#[cfg(target_os = "linux")]
mod secret_service;
mod store;
#[cfg(debug_assertions)]
mod test_store;

#[cfg(target_os = "linux")]
pub use keychain::LinuxBackend;
pub use keychain::{KeychainStore, SERVICE};
pub use resolve::{KeySource, Keys, ResolvedKey};
pub use secret::Secret;
pub use store::{EnvStore, KeyError, MemoryStore, SecretStore};
#[cfg(debug_assertions)]
pub use test_store::{InsecureTestFileStore, TEST_STORE_VAR};

use crate::config::Env;

/// The keychain this process uses: the OS keychain. In debug builds only, the environment
/// variable [`TEST_STORE_VAR`] selects the insecure test file store instead (see
/// [`InsecureTestFileStore`]); release builds do not contain that code.
pub fn keychain_store(env: &Env) -> Box<dyn SecretStore> {
    #[cfg(debug_assertions)]
    if let Some(path) = env.non_empty(TEST_STORE_VAR) {
        return Box::new(InsecureTestFileStore::new(path));
    }
    let _ = env;
    Box::new(KeychainStore::new())
}
