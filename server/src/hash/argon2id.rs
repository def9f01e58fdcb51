//! argon2id hashing and argon2id/argon2i verification in Kratos's PHC shape:
//! `$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>` (unpadded standard base64).

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::Rng as _;

use super::Argon2Config;
use super::{HashError, ct_eq, decode_salt_and_hash, malformed, out_of_bounds};

/// Largest memory a stored or configured argon2 hash may use: 1 GiB (as Kratos).
pub(crate) const MAX_MEMORY_KIB: u64 = 1 << 20;
/// Largest memory × iterations: 10 GiB-passes (Kratos bounds m ≤ 1 GiB and t ≤ 10 separately;
/// bounding the product also lets small-memory hashes use more passes).
pub(crate) const MAX_WORK_KIB_ITERATIONS: u64 = MAX_MEMORY_KIB * 10;
/// Largest number of lanes.
pub(crate) const MAX_PARALLELISM: u32 = 255;

const NAME: &str = "argon2";

/// The parameters, salt and key of a stored argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) algorithm: Algorithm,
    pub(crate) memory_kib: u32,
    pub(crate) iterations: u32,
    pub(crate) parallelism: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

impl Parsed {
    /// True when this hash was made with exactly the configured parameters (salt at least as long).
    pub(crate) fn matches(&self, cfg: &Argon2Config) -> bool {
        self.algorithm == Algorithm::Argon2id
            && u64::from(self.memory_kib) == cfg.memory_kib()
            && self.iterations == cfg.iterations
            && self.parallelism == cfg.parallelism
            && self.key.len() == cfg.key_length as usize
            && self.salt.len() >= cfg.salt_length as usize
    }

    fn params(&self) -> Result<Params, HashError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(self.key.len()),
        )
        .map_err(|_| malformed(NAME, "parameters rejected by argon2"))
    }
}

fn parse_u32(text: &str, name: &str) -> Result<u32, HashError> {
    text.strip_prefix(name)
        .and_then(|v| v.strip_prefix('='))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or(malformed(NAME, "expected m=<n>,t=<n>,p=<n>"))
}

/// Parses and bounds-checks `$argon2id$...` or `$argon2i$...`.
pub(crate) fn parse(stored: &str) -> Result<Parsed, HashError> {
    let parts: Vec<&str> = stored.split('$').collect();
    let [empty, variant, version, params, salt, key] = parts.as_slice() else {
        return Err(malformed(NAME, "expected 5 '$'-separated fields"));
    };
    if !empty.is_empty() {
        return Err(malformed(NAME, "must start with '$'"));
    }
    let algorithm = match *variant {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        _ => return Err(malformed(NAME, "unknown variant")),
    };
    if *version != "v=19" {
        return Err(malformed(NAME, "only version v=19 is supported"));
    }
    let fields: Vec<&str> = params.split(',').collect();
    let [m, t, p] = fields.as_slice() else {
        return Err(malformed(NAME, "expected m=<n>,t=<n>,p=<n>"));
    };
    let memory_kib = parse_u32(m, "m")?;
    let iterations = parse_u32(t, "t")?;
    let parallelism = parse_u32(p, "p")?;
    if memory_kib == 0 || u64::from(memory_kib) > MAX_MEMORY_KIB {
        return Err(out_of_bounds(NAME, "m must be between 1 and 1048576 KiB"));
    }
    if iterations == 0 || u64::from(memory_kib) * u64::from(iterations) > MAX_WORK_KIB_ITERATIONS {
        return Err(out_of_bounds(
            NAME,
            "t must be at least 1 and m*t at most 10 GiB",
        ));
    }
    if parallelism == 0 || parallelism > MAX_PARALLELISM {
        return Err(out_of_bounds(NAME, "p must be between 1 and 255"));
    }
    let (salt, key) = decode_salt_and_hash(NAME, salt, key)?;
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err(malformed(NAME, "salt shorter than 8 bytes"));
    }
    if key.len() < Params::MIN_OUTPUT_LEN || key.len() > 1024 {
        return Err(malformed(NAME, "hash must be between 4 and 1024 bytes"));
    }
    let parsed = Parsed {
        algorithm,
        memory_kib,
        iterations,
        parallelism,
        salt,
        key,
    };
    parsed.params()?;
    Ok(parsed)
}

/// Runs argon2 into `out`, in `memory` when it is large enough, else in a fresh allocation.
pub(crate) fn derive(
    algorithm: Algorithm,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: Option<&mut Vec<Block>>,
) -> Result<(), HashError> {
    let blocks = params.block_count();
    let ctx = Argon2::new(algorithm, Version::V0x13, params);
    let result = match memory {
        Some(buffer) if buffer.len() >= blocks => {
            ctx.hash_password_into_with_memory(password, salt, out, &mut buffer[..blocks])
        }
        _ => ctx.hash_password_into(password, salt, out),
    };
    result.map_err(|_| HashError::Internal("argon2 failed"))
}

/// Hashes with argon2id and the configured parameters (already validated).
pub(crate) fn hash(
    password: &[u8],
    cfg: &Argon2Config,
    memory: Option<&mut Vec<Block>>,
) -> Result<String, HashError> {
    let memory_kib = u32::try_from(cfg.memory_kib())
        .map_err(|_| HashError::Internal("argon2 memory too large"))?;
    let params = Params::new(
        memory_kib,
        cfg.iterations,
        cfg.parallelism,
        Some(cfg.key_length as usize),
    )
    .map_err(|_| HashError::Internal("argon2 rejected the configured parameters"))?;
    let mut salt = vec![0u8; cfg.salt_length as usize];
    rand::rng().fill_bytes(&mut salt);
    let mut key = vec![0u8; cfg.key_length as usize];
    derive(
        Algorithm::Argon2id,
        params,
        password,
        &salt,
        &mut key,
        memory,
    )?;
    Ok(format!(
        "$argon2id$v=19$m={memory_kib},t={},p={}${}${}",
        cfg.iterations,
        cfg.parallelism,
        STANDARD_NO_PAD.encode(&salt),
        STANDARD_NO_PAD.encode(&key)
    ))
}

/// Verifies an argon2id or argon2i hash.
pub(crate) fn verify(
    password: &[u8],
    stored: &str,
    memory: Option<&mut Vec<Block>>,
) -> Result<bool, HashError> {
    let parsed = parse(stored)?;
    let mut out = vec![0u8; parsed.key.len()];
    derive(
        parsed.algorithm,
        parsed.params()?,
        password,
        &parsed.salt,
        &mut out,
        memory,
    )?;
    Ok(ct_eq(&out, &parsed.key))
}

/// A memory block sized for `cfg`, for reuse across hashes.
pub(crate) fn memory_for(cfg: &Argon2Config) -> Vec<Block> {
    let blocks = usize::try_from(cfg.memory_kib()).unwrap_or(0);
    vec![Block::default(); blocks]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hash::tests::{assert_malformed, assert_out_of_bounds, check_against};
    use crate::hash::{ByteSize, HashersConfig, hash_password, needs_rehash};

    // From Kratos's import test (checked with the other formats' in
    // `hash::tests`); password "123456".
    const KRATOS_ARGON2I: &str = "$argon2i$v=19$m=65536,t=3,p=4$STVE4CQ9qQ1dK/j224VMbA$o8b+k5wdHgBqf7ES+aWG2K7Y9diQ6ahEhbW8zcstXGo";

    fn small() -> HashersConfig {
        let mut cfg = HashersConfig::default();
        cfg.argon2.memory = ByteSize(64 * 1024);
        cfg.argon2.iterations = 1;
        cfg
    }

    #[test]
    fn round_trip_and_shape() {
        let cfg = small();
        let h = hash_password(b"secret", &cfg).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        let fields: Vec<&str> = h.split('$').collect();
        assert_eq!(STANDARD_NO_PAD.decode(fields[4]).unwrap().len(), 16);
        assert_eq!(STANDARD_NO_PAD.decode(fields[5]).unwrap().len(), 32);
        check_against(&h, "secret", "Secret");
        assert!(!needs_rehash(&h, &cfg));
        let mut stronger = cfg.clone();
        stronger.argon2.iterations = 2;
        assert!(needs_rehash(&h, &stronger));
        let mut other_memory = cfg.clone();
        other_memory.argon2.memory = ByteSize(128 * 1024);
        assert!(needs_rehash(&h, &other_memory));
        assert!(needs_rehash(KRATOS_ARGON2I, &cfg));
    }

    #[test]
    fn reused_memory_gives_same_result() {
        let cfg = small();
        let mut memory = memory_for(&cfg.argon2);
        let h = hash(b"pw", &cfg.argon2, Some(&mut memory)).unwrap();
        assert!(verify(b"pw", &h, Some(&mut memory)).unwrap());
        assert!(verify(b"pw", &h, None).unwrap());
        // A stored hash larger than the buffer falls back to allocation.
        let mut tiny = vec![Block::default(); 8];
        assert!(verify(b"123456", KRATOS_ARGON2I, Some(&mut tiny)).unwrap());
    }

    #[test]
    fn malformed_and_bounds() {
        assert_malformed(
            b"123456",
            &[
                "$argon2id$v=19$m=16,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw",
                "$argon2id$v=16$m=16,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=16,t=2$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=x,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=16,t=2,p=1$bVI1aE1S!!!6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=16,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg==",
            ],
        );
        assert_out_of_bounds(
            b"123456",
            &[
                "$argon2id$v=19$m=4194304,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=1048576,t=11,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
                "$argon2id$v=19$m=16,t=0,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
            ],
        );
    }
}
