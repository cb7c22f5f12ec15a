//! API key material: generation, the visible prefix, the hash the store looks a key up by, and
//! the secret that signs the key's end-user tokens.
//!
//! A key is `wak_` + 8 random characters (the visible prefix) + `_` + 32 random characters:
//! 40 characters of base62, about 238 bits of randomness. Keys are random, not chosen by
//! people, so one SHA-256 is enough to store them: there is nothing to guess a dictionary from.

use std::fmt;

use sha2::{Digest, Sha256};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TAG: &str = "wak_";
/// Characters of the visible prefix (`wak_` and 8 characters), stored and shown in listings.
pub const KEY_PREFIX_LEN: usize = TAG.len() + 8;
const SECRET_LEN: usize = 32;

/// A full API key. Shown once when created; its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySecret({}…)", self.prefix().unwrap_or("?"))
    }
}

impl KeySecret {
    /// A fresh random key.
    ///
    /// # Panics
    /// Only if the operating system has no source of randomness, which no supported platform
    /// lacks.
    #[allow(clippy::expect_used)]
    pub fn generate() -> Self {
        let mut key = String::with_capacity(KEY_PREFIX_LEN + 1 + SECRET_LEN);
        key.push_str(TAG);
        key.push_str(&random_chars(KEY_PREFIX_LEN - TAG.len()));
        key.push('_');
        key.push_str(&random_chars(SECRET_LEN));
        Self(key)
    }

    /// Wraps a presented credential; `None` unless it has the shape of a key.
    pub fn parse(presented: &str) -> Option<Self> {
        let well_formed = presented.len() == KEY_PREFIX_LEN + 1 + SECRET_LEN
            && presented.starts_with(TAG)
            && presented.as_bytes()[KEY_PREFIX_LEN] == b'_'
            && presented[TAG.len()..]
                .bytes()
                .enumerate()
                .all(|(i, b)| i == KEY_PREFIX_LEN - TAG.len() || ALPHABET.contains(&b));
        well_formed.then(|| Self(presented.to_string()))
    }

    /// The whole key, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The visible prefix, e.g. `wak_3kX9aQ2m`.
    pub fn prefix(&self) -> Option<&str> {
        self.0.get(..KEY_PREFIX_LEN)
    }

    /// What the store keeps and looks the key up by: hex SHA-256 of the key.
    pub fn lookup_hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// The secret that signs this key's end-user tokens: SHA-256 of `user-token:` and the key.
    /// The app's backend computes it from the key it holds; the store keeps it so tokens can
    /// be checked without the key.
    pub fn token_secret(&self) -> Vec<u8> {
        token_secret_of(&self.0)
    }
}

/// The token-signing secret of a key, from its text.
pub(crate) fn token_secret_of(key: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"user-token:");
    hasher.update(key.as_bytes());
    hasher.finalize().to_vec()
}

#[allow(clippy::expect_used)]
fn random_chars(n: usize) -> String {
    // Rejection sampling keeps every character equally likely (248 = 4 × 62).
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::getrandom(&mut buf).expect("the operating system provides randomness");
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = KeySecret::generate();
        let b = KeySecret::generate();
        assert_ne!(a, b);
        assert_eq!(KeySecret::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.prefix().map(str::len), Some(KEY_PREFIX_LEN));
        assert_eq!(a.lookup_hash().len(), 64);
        assert!(!format!("{a:?}").contains(&a.expose()[KEY_PREFIX_LEN..]));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "wak_",
            "Bearer x",
            "wak_abcdefgh_short",
            "eyJhbGciOi.x.y",
        ] {
            assert_eq!(KeySecret::parse(bad), None, "{bad}");
        }
        let good = KeySecret::generate();
        let mut tampered = good.expose().to_string();
        tampered.replace_range(20..21, "!");
        assert_eq!(KeySecret::parse(&tampered), None);
    }
}
