//! Linux: keys in the Secret Service (GNOME Keyring, KWallet, KeePassXC) over the session
//! D-Bus, through a pure-Rust client (`secret-service` on `zbus`): they survive a reboot.
//! Items carry the attributes `service = samocoder` and `username = PROVIDER` (what
//! `secret-tool lookup service samocoder username openai` finds). The session is encrypted
//! (Diffie-Hellman), so the key does not cross the bus in clear.

use std::collections::HashMap;

use secret_service::EncryptionType;
use secret_service::blocking::SecretService;

use super::{KeyError, Secret};

const STORE: &str = "the Secret Service";

fn attrs<'a>(service: &'a str, provider: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", provider)])
}

fn map(e: secret_service::Error) -> KeyError {
    use secret_service::Error as E;
    match e {
        E::Unavailable => KeyError::Unavailable {
            reason: "no Secret Service on the session bus".into(),
        },
        E::Locked | E::Prompt | E::PromptDisconnected => KeyError::Unavailable {
            reason: "the Secret Service keyring is locked: unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock`) and try again".into(),
        },
        other => KeyError::Failed {
            store: STORE.into(),
            reason: other.to_string(),
        },
    }
}

/// Connects to the session bus's Secret Service, or says why not.
pub(super) fn connect() -> Result<SecretService<'static>, KeyError> {
    SecretService::connect(EncryptionType::Dh).map_err(|e| match e {
        secret_service::Error::Zbus(_) => KeyError::Unavailable {
            reason: "there is no D-Bus session bus".into(),
        },
        secret_service::Error::ZbusFdo(_) | secret_service::Error::Unavailable => {
            KeyError::Unavailable {
                reason: "no Secret Service (org.freedesktop.secrets) answers on the session bus"
                    .into(),
            }
        }
        other => map(other),
    })
}

/// True when a Secret Service answers and has a default collection to store keys in.
pub(super) fn usable() -> Result<(), KeyError> {
    let ss = connect()?;
    ss.get_default_collection().map(|_| ()).map_err(map)
}

pub(super) fn get(service: &str, provider: &str) -> Result<Option<Secret>, KeyError> {
    let ss = connect()?;
    let found = ss.search_items(attrs(service, provider)).map_err(map)?;
    let item = match (found.unlocked.first(), found.locked.first()) {
        (Some(i), _) => i,
        (None, Some(i)) => {
            i.unlock().map_err(map)?;
            i
        }
        (None, None) => return Ok(None),
    };
    let mut bytes = item.get_secret().map_err(map)?;
    let text = String::from_utf8(std::mem::take(&mut bytes));
    secrecy::zeroize::Zeroize::zeroize(&mut bytes);
    match text {
        Ok(s) => Ok(Some(Secret::new(s))),
        Err(e) => {
            let mut raw = e.into_bytes();
            secrecy::zeroize::Zeroize::zeroize(&mut raw);
            Err(KeyError::Corrupt {
                store: STORE.into(),
                provider: provider.into(),
            })
        }
    }
}

pub(super) fn set(service: &str, provider: &str, secret: &Secret) -> Result<(), KeyError> {
    let ss = connect()?;
    let collection = ss.get_default_collection().map_err(map)?;
    collection.ensure_unlocked().map_err(map)?;
    collection
        .create_item(
            &format!("samocoder: {provider} API key"),
            attrs(service, provider),
            secret.expose().as_bytes(),
            true,
            "text/plain",
        )
        .map_err(map)?;
    match get(service, provider)? {
        Some(back) if back.expose() == secret.expose() => Ok(()),
        _ => Err(KeyError::Unavailable {
            reason: "the Secret Service accepted the key but does not give it back".into(),
        }),
    }
}

pub(super) fn delete(service: &str, provider: &str) -> Result<bool, KeyError> {
    let ss = connect()?;
    let found = ss.search_items(attrs(service, provider)).map_err(map)?;
    let mut removed = false;
    for item in found.unlocked.iter().chain(&found.locked) {
        item.delete().map_err(map)?;
        removed = true;
    }
    Ok(removed)
}
