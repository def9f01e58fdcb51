//! Password hashing: argon2id (default) and bcrypt for new hashes; verification of every format Kratos
//! imports (argon2i, pbkdf2, scrypt, firescrypt, md5-crypt, sha256-crypt, sha512-crypt, SSHA, salted
//! sha1/sha256/sha512/md5, hmac); a worker pool with reusable argon2 memory; argon2 calibration.
//!
//! Invariants: comparisons of derived keys are constant-time; errors never contain a password or a
//! hash; cost parameters read from stored hashes are bounded, so an imported hash cannot make a
//! login take minutes or allocate gigabytes.

mod argon2id;
mod bcrypt;
mod calibrate;
mod config;
mod crypt;
mod digests;
mod format;
mod mac;
mod pbkdf2;
mod pool;
mod scrypt;

pub use bia_config::hashers::{Algorithm, Argon2Config, BcryptConfig, HashersConfig};
pub use bia_config::units::{ByteSize, GoDuration};
pub use calibrate::{Calibration, calibrate};
pub use config::{ConfigError, validate_config};
pub use format::Format;
pub use pool::{HashPool, PoolError};

use subtle::ConstantTimeEq;

/// Longest password, in bytes, that is hashed or verified at all. It bounds the work one
/// request can cause: the crypt formats cost time quadratic in the password length, and
/// every other format at least linear. Registration, settings, login and admin import all
/// pass through [`hash_password`] or [`verify_password`] (or the pool), which refuse longer ones.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Refuses a password over [`MAX_PASSWORD_BYTES`].
pub fn check_password_length(password: &[u8]) -> Result<(), HashError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(HashError::PasswordOverCap);
    }
    Ok(())
}

/// Why a password could not be hashed or a stored hash could not be checked.
///
/// A wrong password is not an error: [`verify_password`] returns `Ok(false)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The stored string is in none of the supported formats.
    #[error("unknown password hash format")]
    UnknownFormat,
    /// The stored string has a known prefix but cannot be parsed.
    #[error("malformed {format} password hash: {reason}")]
    Malformed {
        /// Format name, e.g. `pbkdf2`.
        format: &'static str,
        /// What is wrong (never quotes the hash).
        reason: &'static str,
    },
    /// The stored hash asks for more work or memory than we allow.
    #[error("{format} password hash parameters exceed allowed bounds: {reason}")]
    ParametersOutOfBounds {
        /// Format name, e.g. `scrypt`.
        format: &'static str,
        /// Which bound is exceeded.
        reason: &'static str,
    },
    /// bcrypt only uses the first 72 bytes of a password; longer ones are refused as Kratos does.
    #[error("password is longer than 72 bytes, the bcrypt limit")]
    PasswordTooLong,
    /// The password is longer than [`MAX_PASSWORD_BYTES`], which no hasher or verifier accepts.
    #[error("password is longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordOverCap,
    /// The hasher configuration is invalid.
    #[error("invalid hasher configuration: {0}")]
    Config(#[from] ConfigError),
    /// The underlying primitive failed (e.g. out of memory).
    #[error("password hashing failed: {0}")]
    Internal(&'static str),
}

pub(crate) fn malformed(format: &'static str, reason: &'static str) -> HashError {
    HashError::Malformed { format, reason }
}

pub(crate) fn out_of_bounds(format: &'static str, reason: &'static str) -> HashError {
    HashError::ParametersOutOfBounds { format, reason }
}

/// Decodes the salt and the hash of a PHC string, both unpadded base64.
pub(crate) fn decode_salt_and_hash(
    format: &'static str,
    salt: &str,
    hash: &str,
) -> Result<(Vec<u8>, Vec<u8>), HashError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    let salt = STANDARD_NO_PAD
        .decode(salt)
        .map_err(|_| malformed(format, "salt is not unpadded base64"))?;
    let hash = STANDARD_NO_PAD
        .decode(hash)
        .map_err(|_| malformed(format, "hash is not unpadded base64"))?;
    Ok((salt, hash))
}

/// The value paired with the first of `prefixes` that `stored` starts with,
/// and what follows that prefix.
pub(crate) fn strip_scheme<'a, T: Copy>(
    stored: &'a str,
    prefixes: &[(&str, T)],
) -> Option<(T, &'a str)> {
    prefixes
        .iter()
        .find_map(|&(prefix, value)| Some((value, stored.strip_prefix(prefix)?)))
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Hashes `password` with the configured algorithm, returning a PHC/MCF string:
/// `$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>` or `$2a$<cost>$<salt+hash>`.
pub fn hash_password(password: &[u8], config: &HashersConfig) -> Result<String, HashError> {
    check_password_length(password)?;
    validate_config(config)?;
    match config.algorithm {
        Algorithm::Argon2 => argon2id::hash(password, &config.argon2, None),
        Algorithm::Bcrypt => bcrypt::hash(password, config.bcrypt.cost),
    }
}

/// Verifies `password` against a stored hash in any supported format.
///
/// Returns `Ok(false)` for a wrong password, [`HashError::UnknownFormat`] for an unrecognised
/// string and another error for a recognised but malformed or out-of-bounds one.
pub fn verify_password(password: &[u8], stored: &str) -> Result<bool, HashError> {
    verify_with_memory(password, stored, None)
}

/// [`verify_password`] that lends argon2 a reusable memory block when the stored hash fits in it.
pub(crate) fn verify_with_memory(
    password: &[u8],
    stored: &str,
    memory: Option<&mut Vec<::argon2::Block>>,
) -> Result<bool, HashError> {
    check_password_length(password)?;
    let format = Format::detect(stored).ok_or(HashError::UnknownFormat)?;
    match format {
        Format::Argon2id | Format::Argon2i => argon2id::verify(password, stored, memory),
        Format::Bcrypt => bcrypt::verify(password, stored),
        Format::Pbkdf2 => pbkdf2::verify(password, stored),
        Format::Scrypt => scrypt::verify(password, stored),
        Format::FirebaseScrypt => scrypt::verify_firebase(password, stored),
        Format::Md5Crypt | Format::Sha256Crypt | Format::Sha512Crypt => {
            crypt::verify(password, stored)
        }
        Format::Ssha => digests::verify_ssha(password, stored),
        Format::SaltedSha => digests::verify_salted_sha(password, stored),
        Format::Md5 => digests::verify_md5(password, stored),
        Format::Hmac => mac::verify(password, stored),
    }
}

/// Parses a stored hash without a password: its format, well-formedness and parameter bounds.
///
/// The admin API calls this on import so that a hash we could never verify is refused with a
/// 400 before it is stored.
pub fn check_format(stored: &str) -> Result<Format, HashError> {
    let format = Format::detect(stored).ok_or(HashError::UnknownFormat)?;
    match format {
        Format::Argon2id | Format::Argon2i => argon2id::parse(stored).map(drop),
        Format::Bcrypt => bcrypt::parse_cost(stored).map(drop),
        Format::Pbkdf2 => pbkdf2::parse(stored).map(drop),
        Format::Scrypt => scrypt::parse(stored).map(drop),
        Format::FirebaseScrypt => scrypt::parse_firebase(stored).map(drop),
        Format::Md5Crypt | Format::Sha256Crypt | Format::Sha512Crypt => {
            crypt::parse(stored).map(drop)
        }
        Format::Ssha => digests::parse_ssha(stored).map(drop),
        Format::SaltedSha => digests::parse_salted_sha(stored).map(drop),
        Format::Md5 => digests::parse_md5(stored).map(drop),
        Format::Hmac => mac::parse(stored).map(drop),
    }?;
    Ok(format)
}

/// True when `stored` is in a supported format, well-formed and within bounds (see [`check_format`]).
pub fn is_supported_format(stored: &str) -> bool {
    check_format(stored).is_ok()
}

/// True when the stored hash should be replaced by a fresh one after a successful login: it is
/// not in the configured algorithm, or its parameters differ from the configured ones (argon2
/// `m`, `t`, `p`, key length, shorter salt; bcrypt lower cost). Every legacy import format is
/// re-hashed; an unparseable string is too.
pub fn needs_rehash(stored: &str, config: &HashersConfig) -> bool {
    match (config.algorithm, Format::detect(stored)) {
        (Algorithm::Argon2, Some(Format::Argon2id)) => match argon2id::parse(stored) {
            Ok(parsed) => !parsed.matches(&config.argon2),
            Err(_) => true,
        },
        (Algorithm::Bcrypt, Some(Format::Bcrypt)) => match bcrypt::parse_cost(stored) {
            Ok(cost) => cost < config.bcrypt.cost,
            Err(_) => true,
        },
        _ => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
