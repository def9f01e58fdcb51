//! Making one-time secrets and their digests.

use hmac::{KeyInit as _, Mac as _};
use rand::RngExt as _;
use sha2::Sha256;
use uuid::Uuid;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// Characters in a link token.
const LINK_TOKEN_CHARS: usize = 32;

/// A fresh six-digit code, uniformly drawn (leading zeros kept).
pub fn new_code() -> String {
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!("{n:0CODE_DIGITS$}")
}

/// A fresh link token: 32 letters and digits (about 190 bits).
pub fn new_link_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..LINK_TOKEN_CHARS)
        .map(|_| {
            let i = rng.random_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'0'))
        })
        .collect()
}

/// Digests secrets under the server's secrets, bound to their flow.
#[derive(Clone)]
pub struct Digester {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digester")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Digester {
    /// Digests under the first secret, accepts digests of any.
    pub fn new(secrets: &[String]) -> Self {
        Self {
            keys: secrets.iter().map(|s| s.as_bytes().to_vec()).collect(),
        }
    }

    fn digest_with(key: &[u8], flow_id: Uuid, secret: &str) -> String {
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
            return String::new();
        };
        mac.update(flow_id.as_bytes());
        mac.update(secret.trim().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The digest stored for a new secret.
    pub fn digest(&self, flow_id: Uuid, secret: &str) -> String {
        let key = self.keys.first().map_or(&[][..], Vec::as_slice);
        Self::digest_with(key, flow_id, secret)
    }

    /// Whether `secret` is the one behind `digest`, under any secret
    /// (compared in constant time).
    pub fn matches(&self, flow_id: Uuid, secret: &str, digest: &str) -> bool {
        self.keys.iter().any(|key| {
            let candidate = Self::digest_with(key, flow_id, secret);
            !candidate.is_empty() && crate::hash::ct_eq(candidate.as_bytes(), digest.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_tokens_thirty_two_characters() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let token = new_link_token();
        assert_eq!(token.len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(token, new_link_token());
    }

    #[test]
    fn digests_bind_the_flow_and_accept_every_secret() {
        let flow = Uuid::new_v4();
        let old = Digester::new(&["old-secret-old-secret".into()]);
        let rotated = Digester::new(&[
            "new-secret-new-secret".into(),
            "old-secret-old-secret".into(),
        ]);
        let digest = old.digest(flow, "123456");
        assert!(rotated.matches(flow, "123456", &digest));
        assert!(rotated.matches(flow, " 123456 ", &digest));
        assert!(!rotated.matches(flow, "123457", &digest));
        assert!(!rotated.matches(Uuid::new_v4(), "123456", &digest));
        assert_ne!(rotated.digest(flow, "123456"), digest);
    }
}
