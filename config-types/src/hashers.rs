//! The `hashers` section: which algorithm hashes new passwords, and its cost.
//!
//! These types only describe the section; the server's hash module checks the
//! values against the bounds it enforces and builds the hashers.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::is_default;
use crate::units::{ByteSize, GoDuration};

/// The `hashers` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct HashersConfig {
    /// Algorithm used for new hashes (`algorithm`); other stored formats are re-hashed on login.
    #[serde(skip_serializing_if = "is_default")]
    pub algorithm: Algorithm,
    /// Parameters of the argon2id hasher (`argon2`).
    #[serde(skip_serializing_if = "is_default")]
    pub argon2: Argon2Config,
    /// Parameters of the bcrypt hasher (`bcrypt`).
    #[serde(skip_serializing_if = "is_default")]
    pub bcrypt: BcryptConfig,
}

/// Algorithm used to hash new passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// argon2id (the default).
    #[default]
    Argon2,
    /// bcrypt, written with the `$2a$` prefix as Kratos does.
    Bcrypt,
}

/// The `hashers.argon2` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Argon2Config {
    /// Memory cost (`memory`), default 19 MiB.
    pub memory: ByteSize,
    /// Number of passes (`iterations`), default 2.
    pub iterations: u32,
    /// Degree of parallelism (`parallelism`), default 1.
    pub parallelism: u32,
    /// Salt length in bytes (`salt_length`), default 16.
    pub salt_length: u32,
    /// Length of the derived key in bytes (`key_length`), default 32.
    pub key_length: u32,
    /// Expected duration of one hash (`expected_duration`), default 500ms; informational.
    pub expected_duration: GoDuration,
    /// Expected deviation of the hash duration (`expected_deviation`), default 500ms; informational.
    pub expected_deviation: GoDuration,
    /// Memory dedicated to the server (`dedicated_memory`), default 1GB; informational.
    pub dedicated_memory: ByteSize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory: ByteSize(19 * 1024 * 1024),
            iterations: 2,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
            expected_duration: GoDuration(Duration::from_millis(500)),
            expected_deviation: GoDuration(Duration::from_millis(500)),
            dedicated_memory: ByteSize(1024 * 1024 * 1024),
        }
    }
}

impl Argon2Config {
    /// Memory cost in KiB blocks, as argon2 counts it (bytes rounded down to whole KiB).
    pub fn memory_kib(&self) -> u64 {
        self.memory.0 / 1024
    }
}

/// The `hashers.bcrypt` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct BcryptConfig {
    /// Cost factor (`cost`), default 12.
    pub cost: u32,
}

impl Default for BcryptConfig {
    fn default() -> Self {
        Self { cost: 12 }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_from_empty_document() {
        let cfg: HashersConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg.algorithm, Algorithm::Argon2);
        assert_eq!(cfg.argon2.memory, ByteSize(19 * 1024 * 1024));
        assert_eq!(cfg.argon2.iterations, 2);
        assert_eq!(cfg.argon2.parallelism, 1);
        assert_eq!(cfg.argon2.salt_length, 16);
        assert_eq!(cfg.argon2.key_length, 32);
        assert_eq!(cfg.bcrypt.cost, 12);
    }

    #[test]
    fn kratos_keys_and_sizes() {
        let cfg: HashersConfig = serde_json::from_value(serde_json::json!({
            "algorithm": "bcrypt",
            "argon2": { "memory": "128MB", "iterations": 1, "parallelism": 4,
                        "expected_duration": "1s", "expected_deviation": "500ms",
                        "dedicated_memory": "1GB" },
            "bcrypt": { "cost": 10 },
            "some_future_key": true
        }))
        .unwrap();
        assert_eq!(cfg.algorithm, Algorithm::Bcrypt);
        assert_eq!(cfg.argon2.memory.0, 128 << 20);
        assert_eq!(cfg.argon2.memory_kib(), 128 * 1024);
        assert_eq!(cfg.argon2.expected_duration.0, Duration::from_secs(1));
        assert_eq!(cfg.argon2.dedicated_memory.0, 1 << 30);
        assert_eq!(cfg.argon2.salt_length, 16);
        assert_eq!(cfg.bcrypt.cost, 10);
    }

    #[test]
    fn schema_generates() {
        let schema = schemars::schema_for!(HashersConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("\"salt_length\""));
        assert!(text.contains("\"argon2\""));
    }
}
