//! scrypt import formats, padded standard base64 as Kratos:
//! `$scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>` (note: Kratos writes N itself under `ln`), and
//! Firebase's `$firescrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>$<salt separator>$<signer key>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{HashError, ct_eq, malformed, out_of_bounds};
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};

/// Bounds on stored parameters (as Kratos): at most 128 MiB and 10 passes per verification.
const MAX_LOG_N: u32 = 17;
const MAX_R: u32 = 8;
const MAX_P: u32 = 10;

/// Parsed cost parameters and salt.
#[derive(Debug)]
pub(crate) struct Cost {
    log_n: u8,
    r: u32,
    p: u32,
}

/// Parses `ln=<a>,r=<b>,p=<c>`.
fn parse_cost_fields(format: &'static str, text: &str) -> Result<(u32, u32, u32), HashError> {
    let err = malformed(format, "expected ln=<n>,r=<n>,p=<n>");
    let fields: Vec<&str> = text.split(',').collect();
    let [ln, r, p] = fields.as_slice() else {
        return Err(err);
    };
    let number = |field: &str, name: &str| -> Result<u32, HashError> {
        field
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or(err.clone())
    };
    Ok((number(ln, "ln")?, number(r, "r")?, number(p, "p")?))
}

fn bounded(format: &'static str, log_n: u32, r: u32, p: u32) -> Result<Cost, HashError> {
    if log_n == 0 || log_n > MAX_LOG_N {
        return Err(out_of_bounds(format, "N must be between 2 and 131072"));
    }
    if r == 0 || r > MAX_R {
        return Err(out_of_bounds(format, "r must be between 1 and 8"));
    }
    if p == 0 || p > MAX_P {
        return Err(out_of_bounds(format, "p must be between 1 and 10"));
    }
    let log_n = u8::try_from(log_n).map_err(|_| out_of_bounds(format, "N too large"))?;
    Ok(Cost { log_n, r, p })
}

fn decode(format: &'static str, text: &str, what: &'static str) -> Result<Vec<u8>, HashError> {
    STANDARD.decode(text).map_err(|_| malformed(format, what))
}

fn derive(password: &[u8], salt: &[u8], cost: &Cost, out: &mut [u8]) -> Result<(), HashError> {
    let params = ::scrypt::Params::new(cost.log_n, cost.r, cost.p)
        .map_err(|_| HashError::Internal("scrypt rejected parameters"))?;
    ::scrypt::scrypt(password, salt, &params, out).map_err(|_| HashError::Internal("scrypt failed"))
}

/// A parsed `$scrypt$` hash.
#[derive(Debug)]
pub(crate) struct Scrypt {
    cost: Cost,
    salt: Vec<u8>,
    key: Vec<u8>,
}

/// Parses and bounds-checks `$scrypt$...`.
pub(crate) fn parse(stored: &str) -> Result<Scrypt, HashError> {
    const NAME: &str = "scrypt";
    let parts: Vec<&str> = stored.split('$').collect();
    let ["", "scrypt", params, salt, key] = parts.as_slice() else {
        return Err(malformed(NAME, "expected 4 '$'-separated fields"));
    };
    let (n, r, p) = parse_cost_fields(NAME, params)?;
    if !n.is_power_of_two() {
        return Err(malformed(NAME, "N (written as ln) must be a power of two"));
    }
    let cost = bounded(NAME, n.trailing_zeros(), r, p)?;
    let salt = decode(NAME, salt, "salt is not padded base64")?;
    let key = decode(NAME, key, "hash is not padded base64")?;
    if key.is_empty() || key.len() > 1024 {
        return Err(malformed(NAME, "hash must be between 1 and 1024 bytes"));
    }
    Ok(Scrypt { cost, salt, key })
}

/// Verifies a `$scrypt$` hash.
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let s = parse(stored)?;
    let mut out = vec![0u8; s.key.len()];
    derive(password, &s.salt, &s.cost, &mut out)?;
    Ok(ct_eq(&out, &s.key))
}

/// A parsed `$firescrypt$` hash.
#[derive(Debug)]
pub(crate) struct Firebase {
    cost: Cost,
    salt_and_separator: Vec<u8>,
    hash: Vec<u8>,
    signer_key: Vec<u8>,
}

/// Parses and bounds-checks `$firescrypt$...`.
pub(crate) fn parse_firebase(stored: &str) -> Result<Firebase, HashError> {
    const NAME: &str = "firescrypt";
    let parts: Vec<&str> = stored.split('$').collect();
    let ["", "firescrypt", params, salt, hash, separator, signer_key] = parts.as_slice() else {
        return Err(malformed(NAME, "expected 6 '$'-separated fields"));
    };
    let (log_n, r, p) = parse_cost_fields(NAME, params)?;
    let cost = bounded(NAME, log_n, r, p)?;
    let mut salt_and_separator = decode(NAME, salt, "salt is not padded base64")?;
    let hash = decode(NAME, hash, "hash is not padded base64")?;
    salt_and_separator.extend(decode(
        NAME,
        separator,
        "salt separator is not padded base64",
    )?);
    let signer_key = decode(NAME, signer_key, "signer key is not padded base64")?;
    if signer_key.len() > 1024 {
        return Err(malformed(NAME, "signer key longer than 1024 bytes"));
    }
    Ok(Firebase {
        cost,
        salt_and_separator,
        hash,
        signer_key,
    })
}

/// Verifies a `$firescrypt$` hash: AES-256-CTR (zero IV) of the signer key under
/// scrypt(password, salt || separator) must equal the stored hash.
pub(crate) fn verify_firebase(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let f = parse_firebase(stored)?;
    let mut key = [0u8; 32];
    derive(password, &f.salt_and_separator, &f.cost, &mut key)?;
    let mut encrypted = f.signer_key.clone();
    // Counter mode as Go's `cipher.NewCTR`: the whole 128-bit block is a big-endian counter.
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new(&key.into(), &[0u8; 16].into());
    cipher
        .try_apply_keystream(&mut encrypted)
        .map_err(|_| HashError::Internal("firescrypt signer key too long"))?;
    Ok(ct_eq(&encrypted, &f.hash))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::hash::tests::{assert_malformed, assert_out_of_bounds, check_against};

    // Kratos's import vector is checked with the other formats' in `hash::tests`.
    // Python hashlib.scrypt, password "open sesame".
    const PY_SCRYPT: &str = "$scrypt$ln=1024,r=8,p=1$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=";
    // Kratos hasher test (a Firebase export), password "8x4WjoDbSxJZdR".
    const KRATOS_FIRESCRYPT: &str = "$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2SfzPQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FITUVlnOAwPKyw==";
    // Python hashlib.scrypt + cryptography AES-CTR, password "open sesame".
    const PY_FIRESCRYPT: &str = "$firescrypt$ln=10,r=8,p=1$ZmlyZS1zYWx0$lhaa7nDAKMuTf3YOs3a9EJXETEJG4wOmMgEcmKmAzXtQZemXn0dSt956Q1jFnHgcIjkWBlZCWy2UaG37xxQYrA==$Bw==$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

    #[test]
    fn scrypt_vectors() {
        check_against(PY_SCRYPT, "open sesame", "open sesame!");
    }

    #[test]
    fn firescrypt_vectors() {
        check_against(KRATOS_FIRESCRYPT, "8x4WjoDbSxJZdR", "8x4WjoDbSxJZdr");
        check_against(PY_FIRESCRYPT, "open sesame", "open");
    }

    #[test]
    fn malformed_and_bounds() {
        assert_malformed(
            b"x",
            &[
                "$scrypt$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$scrypt$ln=1000,r=8,p=1$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$scrypt$ln=abc,r=8,p=1$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$scrypt$ln=1024,r=8,p=1$(c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$firescrypt$ln=10,r=8,p=1$ZmlyZS1zYWx0$lhaa$Bw==",
                "$firescrypt$ln=10,r=8,p=1$ZmlyZS1zYWx0$lhaa!!$Bw==$AAEC",
            ],
        );
        assert_out_of_bounds(
            b"x",
            &[
                "$scrypt$ln=262144,r=8,p=1$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$scrypt$ln=1024,r=9,p=1$c2NyeXB0LXNhbHQtMTIzNA==$4vwLZg2sCkiiTzm/Bs/VJlwaNHawRaxqwFsxRdoSz/w=",
                "$firescrypt$ln=18,r=8,p=1$ZmlyZS1zYWx0$lhaa$Bw==$AAEC",
                "$firescrypt$ln=10,r=8,p=11$ZmlyZS1zYWx0$lhaa$Bw==$AAEC",
            ],
        );
    }
}
