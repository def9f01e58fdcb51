//! Checks of the `hashers` section (the types are data in the `bia-config` crate): costs the
//! hashers here accept, with errors that name the key.

use super::argon2id::{MAX_MEMORY_KIB, MAX_PARALLELISM, MAX_WORK_KIB_ITERATIONS};
use super::bcrypt::MAX_COST as BCRYPT_MAX_VERIFY_COST;
use bia_config::hashers::HashersConfig;

/// A configuration value that is out of range; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Full key path, e.g. `hashers.bcrypt.cost`.
    pub key: &'static str,
    /// What is wrong with the value.
    pub message: String,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

/// Checks every value of the `hashers` section; hashes made with a valid configuration always
/// verify within the bounds `verify_password` enforces on stored hashes.
pub fn validate_config(config: &HashersConfig) -> Result<(), ConfigError> {
    let a = &config.argon2;
    if a.iterations < 1 {
        return Err(invalid("hashers.argon2.iterations", "must be at least 1"));
    }
    if a.parallelism < 1 || a.parallelism > MAX_PARALLELISM {
        return Err(invalid(
            "hashers.argon2.parallelism",
            format!("must be between 1 and {MAX_PARALLELISM}"),
        ));
    }
    let kib = a.memory_kib();
    let min_kib = 8 * u64::from(a.parallelism);
    if kib < min_kib {
        return Err(invalid(
            "hashers.argon2.memory",
            format!("must be at least {min_kib}KB (8KB per unit of parallelism)"),
        ));
    }
    if kib > MAX_MEMORY_KIB {
        return Err(invalid("hashers.argon2.memory", "must be at most 1GB"));
    }
    if kib * u64::from(a.iterations) > MAX_WORK_KIB_ITERATIONS {
        return Err(invalid(
            "hashers.argon2.iterations",
            "memory times iterations must be at most 10GB (a hash would take too long)",
        ));
    }
    if !(16..=256).contains(&a.salt_length) {
        return Err(invalid(
            "hashers.argon2.salt_length",
            "must be between 16 and 256",
        ));
    }
    if !(16..=256).contains(&a.key_length) {
        return Err(invalid(
            "hashers.argon2.key_length",
            "must be between 16 and 256",
        ));
    }
    let cost = config.bcrypt.cost;
    if !(4..=31).contains(&cost) {
        return Err(invalid("hashers.bcrypt.cost", "must be between 4 and 31"));
    }
    if cost > BCRYPT_MAX_VERIFY_COST {
        return Err(invalid(
            "hashers.bcrypt.cost",
            format!(
                "must be at most {BCRYPT_MAX_VERIFY_COST}: higher costs take seconds per login"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use bia_config::ByteSize;

    #[test]
    fn the_defaults_are_valid() {
        validate_config(&HashersConfig::default()).unwrap();
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = HashersConfig::default();
        cfg.bcrypt.cost = 3;
        assert_eq!(
            validate_config(&cfg).unwrap_err().to_string(),
            "hashers.bcrypt.cost: must be between 4 and 31"
        );
        cfg.bcrypt.cost = 20;
        assert!(
            validate_config(&cfg)
                .unwrap_err()
                .to_string()
                .starts_with("hashers.bcrypt.cost:")
        );
        let mut cfg = HashersConfig::default();
        cfg.argon2.iterations = 0;
        assert_eq!(
            validate_config(&cfg).unwrap_err().key,
            "hashers.argon2.iterations"
        );
        let mut cfg = HashersConfig::default();
        cfg.argon2.memory = ByteSize(4096);
        assert_eq!(
            validate_config(&cfg).unwrap_err().key,
            "hashers.argon2.memory"
        );
        let mut cfg = HashersConfig::default();
        cfg.argon2.salt_length = 8;
        assert_eq!(
            validate_config(&cfg).unwrap_err().key,
            "hashers.argon2.salt_length"
        );
    }
}
