//! Linux: keys in the user's persistent kernel keyring (keyutils), so `keys set` works on
//! headless machines without D-Bus or a keyring daemon. See the README ("Keys") for why.
//!
//! The keyring is reached through a fresh process keyring that the persistent keyring is
//! linked into. Going through the session keyring instead (what keyring 3.x does) fails in
//! processes without a session keyring of their own (containers, some SSH and CI setups):
//! the key is added but can never be read back, and the `EACCES` comes back as "no entry".
//! Here every kernel error is mapped by hand, and `set` reads the key back before it reports
//! success.

use linux_keyutils::{KeyError as Kernel, KeyRing, KeyRingIdentifier};

use super::{KeyError, Secret};

/// Where the kernel keeps the persistent keyring's idle expiry, in seconds.
const EXPIRY_FILE: &str = "/proc/sys/kernel/keys/persistent_keyring_expiry";

pub(super) fn describe() -> String {
    let expiry = std::fs::read_to_string(EXPIRY_FILE)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(human_duration)
        .map(|d| format!(", or after {d} without use"))
        .unwrap_or_default();
    format!("your user's kernel keyring (kept in memory: lost at reboot{expiry})")
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The user's persistent keyring, possessed through this process's own keyring.
fn ring() -> Result<KeyRing, KeyError> {
    KeyRing::from_special_id(KeyRingIdentifier::Process, true).map_err(unavailable)?;
    KeyRing::get_persistent(KeyRingIdentifier::Process).map_err(unavailable)
}

fn unavailable(e: Kernel) -> KeyError {
    let reason = match e {
        Kernel::OperationNotSupported | Kernel::Unknown(_) => {
            "this kernel has no persistent keyrings".to_string()
        }
        Kernel::AccessDenied | Kernel::PermissionDenied => {
            "the kernel keyring refused access".to_string()
        }
        other => format!("kernel keyring error {other:?}"),
    };
    KeyError::Unavailable { reason }
}

fn failed(e: Kernel) -> KeyError {
    KeyError::Failed {
        store: "the kernel keyring".to_string(),
        reason: format!("{e:?}"),
    }
}

pub(super) fn get(description: &str, provider: &str) -> Result<Option<Secret>, KeyError> {
    let ring = ring()?;
    let key = match ring.search(description) {
        Ok(key) => key,
        Err(Kernel::KeyDoesNotExist | Kernel::KeyExpired | Kernel::KeyRevoked) => return Ok(None),
        Err(e @ (Kernel::AccessDenied | Kernel::PermissionDenied)) => return Err(unavailable(e)),
        Err(e) => return Err(failed(e)),
    };
    let bytes = match key.read_to_vec() {
        Ok(bytes) => bytes,
        // Invalidated between the search and the read.
        Err(Kernel::KeyExpired | Kernel::KeyRevoked | Kernel::KeyDoesNotExist) => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    String::from_utf8(bytes)
        .map(|s| Some(Secret::new(s)))
        .map_err(|_| KeyError::Corrupt {
            store: "the kernel keyring".to_string(),
            provider: provider.to_string(),
        })
}

pub(super) fn set(description: &str, provider: &str, secret: &Secret) -> Result<(), KeyError> {
    let ring = ring()?;
    let rejected = |reason: &str| KeyError::Rejected {
        store: "the kernel keyring".to_string(),
        provider: provider.to_string(),
        reason: reason.to_string(),
    };
    // Adding a key with an existing description replaces the old value in place.
    match ring.add_key(description, secret.expose().as_bytes()) {
        Ok(_) => {}
        Err(e @ (Kernel::AccessDenied | Kernel::PermissionDenied)) => return Err(unavailable(e)),
        Err(Kernel::QuotaExceeded) => return Err(rejected("your kernel key quota is full")),
        Err(Kernel::InvalidArguments | Kernel::InvalidDescription) => {
            return Err(rejected("the kernel does not accept a key of this size"));
        }
        Err(e) => return Err(failed(e)),
    }
    match get(description, provider)? {
        Some(back) if back.expose() == secret.expose() => Ok(()),
        _ => Err(KeyError::Unavailable {
            reason: "the kernel keyring accepted the key but does not give it back".to_string(),
        }),
    }
}

pub(super) fn delete(description: &str) -> Result<bool, KeyError> {
    let ring = ring()?;
    match ring.search(description) {
        Ok(key) => match key.invalidate() {
            Ok(()) => Ok(true),
            Err(Kernel::KeyExpired | Kernel::KeyRevoked | Kernel::KeyDoesNotExist) => Ok(false),
            Err(e) => Err(failed(e)),
        },
        Err(Kernel::KeyDoesNotExist | Kernel::KeyExpired | Kernel::KeyRevoked) => Ok(false),
        Err(e @ (Kernel::AccessDenied | Kernel::PermissionDenied)) => Err(unavailable(e)),
        Err(e) => Err(failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_as_words() {
        assert_eq!(human_duration(259_200), "3 days");
        assert_eq!(human_duration(86_400), "1 day");
        assert_eq!(human_duration(7_200), "2 hours");
        assert_eq!(human_duration(90), "90 seconds");
    }

    #[test]
    fn access_denied_is_unavailable_not_missing() {
        assert!(matches!(
            unavailable(Kernel::AccessDenied),
            KeyError::Unavailable { .. }
        ));
        assert!(
            unavailable(Kernel::OperationNotSupported)
                .to_string()
                .contains("no persistent keyrings")
        );
    }
}
