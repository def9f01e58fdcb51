//! Encryption of secrets kept at rest (TOTP secrets) under `secrets.cipher`
//! with the algorithm of `ciphers.algorithm`, written as Kratos writes them:
//! the hex encoding of a random nonce followed by the sealed text. The first
//! secret seals; every secret is tried to open, so secrets rotate.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use rand::Rng as _;

/// The algorithms `ciphers.algorithm` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// XChaCha20-Poly1305 with a 24-byte nonce (the default).
    #[default]
    XChaCha20Poly1305,
    /// AES-256-GCM with a 12-byte nonce.
    Aes,
}

impl Algorithm {
    /// The algorithm a config value names; `None` for anything else
    /// (`noop` included: secrets are never kept in clear text).
    pub fn parse(name: Option<&str>) -> Option<Self> {
        match name {
            None | Some("xchacha20-poly1305") => Some(Algorithm::XChaCha20Poly1305),
            Some("aes") => Some(Algorithm::Aes),
            Some(_) => None,
        }
    }

    fn nonce_len(self) -> usize {
        match self {
            Algorithm::XChaCha20Poly1305 => 24,
            Algorithm::Aes => 12,
        }
    }
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    /// No cipher secret is configured.
    #[error("no cipher secret is configured (secrets.cipher)")]
    NoSecret,
    /// A configured secret is not 32 bytes long.
    #[error("cipher secrets must be 32 bytes long")]
    BadSecret,
    /// `ciphers.algorithm` names no algorithm this server implements.
    #[error("ciphers.algorithm must be xchacha20-poly1305 or aes")]
    BadAlgorithm,
    /// The text is not hex, too short, or no secret opens it.
    #[error("the sealed text cannot be opened")]
    Unreadable,
}

/// Seals and opens short secrets.
#[derive(Clone)]
pub struct Cipher {
    algorithm: Algorithm,
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("algorithm", &self.algorithm)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Cipher {
    /// A cipher with these secrets (each exactly 32 bytes; the first seals).
    pub fn new(algorithm: Algorithm, secrets: &[String]) -> Result<Self, CipherError> {
        let keys = secrets
            .iter()
            .map(|s| <[u8; 32]>::try_from(s.as_bytes()).map_err(|_| CipherError::BadSecret))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { algorithm, keys })
    }

    /// A cipher with no secret: it seals nothing and opens nothing.
    pub fn without_secrets() -> Self {
        Self {
            algorithm: Algorithm::default(),
            keys: Vec::new(),
        }
    }

    /// The first secret, from which other keys of the server's own are
    /// derived (never used directly for anything else).
    pub fn sealing_key(&self) -> Result<&[u8; 32], CipherError> {
        self.keys.first().ok_or(CipherError::NoSecret)
    }

    /// Seals `plain` under the first secret: hex of nonce and sealed text.
    pub fn seal(&self, plain: &[u8]) -> Result<String, CipherError> {
        let key = self.sealing_key()?;
        let mut nonce = vec![0u8; self.algorithm.nonce_len()];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.apply(key, &nonce, plain, true)?;
        let mut out = nonce;
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    /// Opens what [`Cipher::seal`] wrote, under any configured secret.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CipherError> {
        let bytes = hex::decode(sealed).map_err(|_| CipherError::Unreadable)?;
        let n = self.algorithm.nonce_len();
        if bytes.len() < n + 16 {
            return Err(CipherError::Unreadable);
        }
        let (nonce, body) = bytes.split_at(n);
        self.keys
            .iter()
            .find_map(|key| self.apply(key, nonce, body, false).ok())
            .ok_or(CipherError::Unreadable)
    }

    fn apply(
        &self,
        key: &[u8; 32],
        nonce: &[u8],
        text: &[u8],
        seal: bool,
    ) -> Result<Vec<u8>, CipherError> {
        let result = match self.algorithm {
            Algorithm::XChaCha20Poly1305 => {
                let cipher =
                    XChaCha20Poly1305::new_from_slice(key).map_err(|_| CipherError::BadSecret)?;
                let nonce = nonce.try_into().map_err(|_| CipherError::Unreadable)?;
                if seal {
                    cipher.encrypt(nonce, text)
                } else {
                    cipher.decrypt(nonce, text)
                }
            }
            Algorithm::Aes => {
                let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CipherError::BadSecret)?;
                let nonce = nonce.try_into().map_err(|_| CipherError::Unreadable)?;
                if seal {
                    cipher.encrypt(nonce, text)
                } else {
                    cipher.decrypt(nonce, text)
                }
            }
        };
        result.map_err(|_| CipherError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "0123456789abcdef0123456789abcdef";
    const TWO: &str = "fedcba9876543210fedcba9876543210";

    fn cipher(algorithm: Algorithm, secrets: &[&str]) -> Cipher {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        Cipher::new(algorithm, &secrets).unwrap()
    }

    #[test]
    fn both_algorithms_round_trip_with_fresh_nonces() {
        for algorithm in [Algorithm::XChaCha20Poly1305, Algorithm::Aes] {
            let c = cipher(algorithm, &[ONE]);
            let a = c.seal(b"otpauth://totp/x").unwrap();
            let b = c.seal(b"otpauth://totp/x").unwrap();
            assert_ne!(a, b, "every seal draws a new nonce");
            assert_eq!(a.len(), 2 * (algorithm.nonce_len() + 16 + 16));
            assert_eq!(c.open(&a).unwrap(), b"otpauth://totp/x");
        }
    }

    #[test]
    fn rotated_secrets_still_open_and_tampering_is_refused() {
        let old = cipher(Algorithm::XChaCha20Poly1305, &[ONE]);
        let sealed = old.seal(b"secret").unwrap();
        let rotated = cipher(Algorithm::XChaCha20Poly1305, &[TWO, ONE]);
        assert_eq!(rotated.open(&sealed).unwrap(), b"secret");
        let other = cipher(Algorithm::XChaCha20Poly1305, &[TWO]);
        assert_eq!(other.open(&sealed), Err(CipherError::Unreadable));
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(old.open(&tampered), Err(CipherError::Unreadable));
        assert_eq!(old.open("zz"), Err(CipherError::Unreadable));
        assert_eq!(old.open(""), Err(CipherError::Unreadable));
        let aes = cipher(Algorithm::Aes, &[ONE]);
        assert_eq!(
            aes.open(&old.seal(b"x").unwrap()),
            Err(CipherError::Unreadable)
        );
    }

    #[test]
    fn secrets_must_be_32_bytes_and_noop_is_not_an_algorithm() {
        assert_eq!(
            Cipher::new(Algorithm::Aes, &["short".to_owned()]).err(),
            Some(CipherError::BadSecret)
        );
        let none = Cipher::new(Algorithm::Aes, &[]).unwrap();
        assert_eq!(none.seal(b"x"), Err(CipherError::NoSecret));
        assert_eq!(Algorithm::parse(Some("noop")), None);
        assert_eq!(Algorithm::parse(None), Some(Algorithm::XChaCha20Poly1305));
        assert_eq!(Algorithm::parse(Some("aes")), Some(Algorithm::Aes));
    }
}
