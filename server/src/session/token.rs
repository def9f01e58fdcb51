//! Session tokens: `ory_st_` and 32 random alphanumerics; only their digest is stored.

use rand::Rng as _;
use sha2::{Digest, Sha256};

/// The prefix Kratos gives session tokens.
pub const TOKEN_PREFIX: &str = "ory_st_";
const TOKEN_LENGTH: usize = 32;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh random token.
pub fn generate_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_alphanumeric(TOKEN_LENGTH))
}

/// `length` random alphanumerics.
pub fn random_alphanumeric(length: usize) -> String {
    let mut out = String::with_capacity(length);
    let mut rng = rand::rng();
    let mut buffer = [0u8; 64];
    // Rejection sampling keeps every character equally likely.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    while out.len() < length {
        rng.fill_bytes(&mut buffer);
        for byte in buffer {
            if byte < limit && out.len() < length {
                out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// The hex SHA-256 digest under which a token is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + TOKEN_LENGTH);
        assert!(
            a[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(hash_token("x").len(), 64);
        assert_eq!(hash_token(&a), hash_token(&a));
    }
}
