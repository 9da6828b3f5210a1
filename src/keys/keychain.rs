//! [`KeychainStore`]: the operating system's keychain. macOS Keychain and Windows Credential
//! Manager through the `keyring` crate; on Linux the Secret Service when the session bus has
//! one ([`super::secret_service`]: survives a reboot), else the user's kernel keyring
//! ([`super::kernel`]: kept in memory), and every message says which.

use super::{KeyError, Secret, SecretStore};

/// The service name keys are stored under.
pub const SERVICE: &str = "samocoder";

/// The OS keychain: one entry per provider, service [`SERVICE`], user = provider name.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    service: String,
    /// Linux: which store this instance uses, found on first use.
    #[cfg(target_os = "linux")]
    backend: std::sync::OnceLock<LinuxBackend>,
}

/// Which Linux store holds the keys.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinuxBackend {
    SecretService,
    /// The fallback, with why the Secret Service could not be used.
    Kernel {
        why: String,
    },
}

impl Default for KeychainStore {
    fn default() -> Self {
        KeychainStore::new()
    }
}

impl KeychainStore {
    pub fn new() -> KeychainStore {
        KeychainStore {
            service: SERVICE.to_string(),
            #[cfg(target_os = "linux")]
            backend: std::sync::OnceLock::new(),
        }
    }
}

#[cfg(target_os = "linux")]
impl KeychainStore {
    /// The kernel key's description: `samocoder:openai`.
    fn description(&self, provider: &str) -> String {
        format!("{}:{provider}", self.service)
    }

    /// The Secret Service when one answers on the session bus, else the kernel keyring.
    pub fn backend(&self) -> &LinuxBackend {
        self.backend
            .get_or_init(|| match super::secret_service::usable() {
                Ok(()) => LinuxBackend::SecretService,
                Err(e) => LinuxBackend::Kernel {
                    why: match e {
                        KeyError::Unavailable { reason } => reason,
                        other => other.to_string(),
                    },
                },
            })
    }
}

#[cfg(target_os = "linux")]
impl SecretStore for KeychainStore {
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError> {
        match self.backend() {
            LinuxBackend::SecretService => {
                match super::secret_service::get(&self.service, provider)? {
                    Some(s) => Ok(Some(s)),
                    // A key stored by an older samocoder, before the Secret Service was used.
                    None => {
                        Ok(super::kernel::get(&self.description(provider), provider)
                            .unwrap_or(None))
                    }
                }
            }
            LinuxBackend::Kernel { .. } => {
                super::kernel::get(&self.description(provider), provider)
            }
        }
    }

    fn set(&self, provider: &str, secret: &Secret) -> Result<(), KeyError> {
        match self.backend() {
            LinuxBackend::SecretService => {
                super::secret_service::set(&self.service, provider, secret)?;
                // One place only: an older copy in the kernel keyring goes.
                let _ = super::kernel::delete(&self.description(provider));
                Ok(())
            }
            LinuxBackend::Kernel { .. } => {
                super::kernel::set(&self.description(provider), provider, secret)
            }
        }
    }

    fn delete(&self, provider: &str) -> Result<bool, KeyError> {
        match self.backend() {
            LinuxBackend::SecretService => {
                let ss = super::secret_service::delete(&self.service, provider)?;
                let kernel = super::kernel::delete(&self.description(provider)).unwrap_or(false);
                Ok(ss || kernel)
            }
            LinuxBackend::Kernel { .. } => super::kernel::delete(&self.description(provider)),
        }
    }

    fn describe(&self) -> String {
        match self.backend() {
            LinuxBackend::SecretService => {
                "the Secret Service (your desktop keyring over D-Bus; kept on disk)".to_string()
            }
            LinuxBackend::Kernel { why } => format!(
                "{}; used because the Secret Service is not available: {why}",
                super::kernel::describe()
            ),
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl KeychainStore {
    fn entry(&self, provider: &str) -> Result<keyring::Entry, KeyError> {
        keyring::Entry::new(&self.service, provider).map_err(|e| map_keyring(e, provider))
    }
}

#[cfg(not(target_os = "linux"))]
impl SecretStore for KeychainStore {
    fn get(&self, provider: &str) -> Result<Option<Secret>, KeyError> {
        match self.entry(provider)?.get_password() {
            Ok(key) => Ok(Some(Secret::new(key))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e, provider)),
        }
    }

    fn set(&self, provider: &str, secret: &Secret) -> Result<(), KeyError> {
        self.entry(provider)?
            .set_password(secret.expose())
            .map_err(|e| map_keyring(e, provider))?;
        match self.get(provider)? {
            Some(back) if back.expose() == secret.expose() => Ok(()),
            _ => Err(KeyError::Unavailable {
                reason: "the keychain accepted the key but does not give it back".to_string(),
            }),
        }
    }

    fn delete(&self, provider: &str) -> Result<bool, KeyError> {
        match self.entry(provider)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_keyring(e, provider)),
        }
    }

    fn describe(&self) -> String {
        if cfg!(target_os = "macos") {
            "the macOS Keychain".to_string()
        } else if cfg!(windows) {
            "the Windows Credential Manager".to_string()
        } else {
            "the OS keychain".to_string()
        }
    }
}

/// Maps a `keyring` error without ever quoting what it carries (`BadEncoding` holds the
/// stored bytes).
#[cfg(not(target_os = "linux"))]
fn map_keyring(e: keyring::Error, provider: &str) -> KeyError {
    let store = "the OS keychain".to_string();
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => {
            KeyError::Unavailable {
                reason: inner.to_string(),
            }
        }
        keyring::Error::BadEncoding(_) => KeyError::Corrupt {
            store,
            provider: provider.to_string(),
        },
        keyring::Error::TooLong(attr, max) => KeyError::Rejected {
            store,
            provider: provider.to_string(),
            reason: format!("{attr} is longer than {max}"),
        },
        keyring::Error::Invalid(attr, why) => KeyError::Rejected {
            store,
            provider: provider.to_string(),
            reason: format!("{attr} {why}"),
        },
        keyring::Error::NoEntry => KeyError::Failed {
            store,
            reason: format!("no entry for `{provider}`"),
        },
        keyring::Error::Ambiguous(_) => KeyError::Failed {
            store,
            reason: format!(
                "more than one entry for `{provider}`: remove them in the keychain app"
            ),
        },
        other => KeyError::Failed {
            store,
            reason: other.to_string(),
        },
    }
}

// The `keyring` crate is a dependency only where it is the keychain (macOS, Windows).
#[cfg(all(test, not(target_os = "linux")))]
mod tests {
    use super::*;

    #[test]
    fn keyring_errors_never_quote_the_stored_bytes() {
        let e = map_keyring(
            keyring::Error::BadEncoding(b"sk-secret-bytes".to_vec()),
            "openai",
        );
        assert!(matches!(e, KeyError::Corrupt { .. }));
        assert!(!e.to_string().contains("sk-secret"), "{e}");
        assert!(e.to_string().contains("samocoder keys rm openai"), "{e}");
    }

    #[test]
    fn no_storage_access_is_unavailable() {
        let e = map_keyring(keyring::Error::NoStorageAccess("locked".into()), "openai");
        assert!(matches!(e, KeyError::Unavailable { .. }), "{e:?}");
    }
}
