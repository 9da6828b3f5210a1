//! [`Secret`]: an API key that never prints itself.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// An API key. `Debug` and `Display` print `***`; the memory is zeroed on drop (it wraps
/// [`secrecy::SecretString`]). Read it only where it is sent: [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

/// Prefixes that name a key's kind and are the same for every user, so showing them gives
/// nothing away. Longest first.
const KNOWN_PREFIXES: &[&str] = &["sk-proj-", "sk-ant-", "sk-or-", "sk-", "gsk_"];

/// Keys with fewer characters than this show at most two of them.
const SHORT: usize = 12;
/// Keys with fewer characters than this show none.
const TINY: usize = 6;
/// Characters that must stay hidden between a shown prefix and the shown tail.
const MIN_HIDDEN: usize = 8;

impl Secret {
    /// Takes the key; the `String` it came in is zeroed (all of its capacity), and the key
    /// lives on in an allocation of exactly its size (`SecretString::from(String)` would
    /// shrink the buffer and free the old one without zeroing it).
    pub fn new(value: impl Into<String>) -> Secret {
        use secrecy::zeroize::Zeroize;
        let mut value = value.into();
        let exact: Box<str> = Box::from(value.as_str());
        value.zeroize();
        Secret(SecretString::from(exact))
    }

    /// The key itself. Call this only to put it on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A masked form that identifies the key to its owner without revealing it: a known
    /// public prefix (`sk-`, `sk-ant-`, `sk-or-`, `gsk_`, ...) and the last 4 characters, as
    /// in `sk-…a1b2`. Short keys show only `…` and the last 2 characters, tiny ones `***`.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.expose())
    }
}

fn fingerprint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    if n < TINY {
        return "***".to_string();
    }
    let tail = |k: usize| chars[n - k..].iter().collect::<String>();
    if n < SHORT {
        return format!("…{}", tail(2));
    }
    let prefix = KNOWN_PREFIXES
        .iter()
        .find(|p| key.starts_with(**p) && n >= p.chars().count() + MIN_HIDDEN + 4)
        .copied()
        .unwrap_or("");
    format!("{prefix}…{}", tail(4))
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_masking_table() {
        let cases = [
            ("", "***"),
            ("abc", "***"),
            ("abcde", "***"),
            ("abcdef", "…ef"),
            ("sk-abcdefg", "…fg"),
            ("abcdefghijk", "…jk"),
            ("abcdefghijkl", "…ijkl"),
            ("sk-abcdefghijklmnopa1b2", "sk-…a1b2"),
            (
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-9f3e",
                "sk-ant-…9f3e",
            ),
            ("sk-or-v1-0123456789abcdef0123456789abcdef", "sk-or-…cdef"),
            ("sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "sk-proj-…UvWx"),
            ("gsk_abcdefghijklmnopqrstuvwxyz12", "gsk_…yz12"),
            ("xai-abcdefghijklmnopqrstuvwxyz", "…wxyz"),
            // A prefix is shown only when enough stays hidden after it.
            ("sk-abcdefghijk", "…hijk"),
            ("sk-ant-abcdefghijk", "sk-…hijk"),
            ("ключ-абвгдежзийклмн", "…клмн"),
        ];
        for (key, want) in cases {
            assert_eq!(Secret::new(key).fingerprint(), want, "{key:?}");
        }
    }

    #[test]
    fn fingerprint_never_shows_more_than_a_third_of_an_unprefixed_key() {
        for len in 0..64 {
            let key: String = "q".repeat(len);
            let shown = Secret::new(key).fingerprint().matches('q').count();
            assert!(shown * 3 <= len.max(1), "len {len} shows {shown}");
        }
    }

    #[test]
    fn a_secret_keeps_its_value_whatever_it_was_made_from() {
        let mut big = String::with_capacity(1024);
        big.push_str("sk-with-spare-capacity-1234");
        assert_eq!(Secret::new(big).expose(), "sk-with-spare-capacity-1234");
        assert_eq!(Secret::new("").expose(), "");
        assert_eq!(Secret::new("ключ-1234").expose(), "ключ-1234");
    }

    #[test]
    fn debug_and_display_never_reveal() {
        let s = Secret::new("sk-verysecretvalue1234");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "sk-verysecretvalue1234");
    }
}
