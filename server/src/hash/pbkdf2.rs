//! PBKDF2 import format: `$pbkdf2-<digest>$i=<iterations>,l=<key length>$<salt>$<hash>` with
//! unpadded standard base64. Digests as Kratos maps them: `sha1`, `sha256`, `sha512` (SHA-2),
//! `sha224` and `sha384` (SHA3-224 and SHA3-384, a Kratos quirk kept for compatibility); any
//! other `sha<n>` falls back to SHA-256 as in Kratos.

use super::{HashError, ct_eq, decode_salt_and_hash, malformed, out_of_bounds};

const NAME: &str = "pbkdf2";
/// Largest iteration count accepted in a stored hash (as Kratos).
const MAX_ITERATIONS: u32 = 10_000_000;

/// Digest underlying the PBKDF2 PRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha512,
    Sha3_224,
    Sha3_384,
}

/// A parsed PBKDF2 hash.
#[derive(Debug)]
pub(crate) struct Parsed {
    digest: Digest,
    iterations: u32,
    salt: Vec<u8>,
    key: Vec<u8>,
}

/// Parses and bounds-checks a stored PBKDF2 hash.
pub(crate) fn parse(stored: &str) -> Result<Parsed, HashError> {
    let parts: Vec<&str> = stored.split('$').collect();
    let [empty, name, params, salt, key] = parts.as_slice() else {
        return Err(malformed(NAME, "expected 4 '$'-separated fields"));
    };
    if !empty.is_empty() {
        return Err(malformed(NAME, "must start with '$'"));
    }
    let digest = match name.strip_prefix("pbkdf2-") {
        Some("sha1") => Digest::Sha1,
        Some("sha224") => Digest::Sha3_224,
        Some("sha384") => Digest::Sha3_384,
        Some("sha512") => Digest::Sha512,
        Some(_) => Digest::Sha256,
        None => return Err(malformed(NAME, "expected $pbkdf2-<digest>$")),
    };
    let (iterations, _length) = params
        .strip_prefix("i=")
        .and_then(|rest| rest.split_once(",l="))
        .and_then(|(i, l)| Some((i.parse::<u32>().ok()?, l.parse::<u32>().ok()?)))
        .ok_or(malformed(NAME, "expected i=<iterations>,l=<length>"))?;
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(out_of_bounds(NAME, "i must be between 1 and 10000000"));
    }
    let (salt, key) = decode_salt_and_hash(NAME, salt, key)?;
    if key.is_empty() || key.len() > 1024 {
        return Err(malformed(NAME, "hash must be between 1 and 1024 bytes"));
    }
    // As Kratos, the key length is taken from the decoded hash; `l` is informational.
    Ok(Parsed {
        digest,
        iterations,
        salt,
        key,
    })
}

/// Verifies a stored PBKDF2 hash.
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let p = parse(stored)?;
    let mut out = vec![0u8; p.key.len()];
    match p.digest {
        Digest::Sha1 => {
            ::pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, &p.salt, p.iterations, &mut out)
        }
        Digest::Sha256 => {
            ::pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &p.salt, p.iterations, &mut out)
        }
        Digest::Sha512 => {
            ::pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &p.salt, p.iterations, &mut out)
        }
        Digest::Sha3_224 => {
            ::pbkdf2::pbkdf2_hmac::<sha3::Sha3_224>(password, &p.salt, p.iterations, &mut out)
        }
        Digest::Sha3_384 => {
            ::pbkdf2::pbkdf2_hmac::<sha3::Sha3_384>(password, &p.salt, p.iterations, &mut out)
        }
    }
    Ok(ct_eq(&out, &p.key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::hash::tests::{assert_malformed, assert_out_of_bounds, check};

    #[test]
    fn vectors() {
        let cases = [
            // Kratos import test, password "123456".
            (
                "$pbkdf2-sha256$i=1000,l=128$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A",
                "123456",
            ),
            // Python hashlib.pbkdf2_hmac, password "correct horse".
            (
                "$pbkdf2-sha1$i=2000,l=24$TmFDbC1hbmQtcGVwcGVyIQ$xNRZVnpOzEQ/3AJ4/jqs+DeJBCIQaz9I",
                "correct horse",
            ),
            (
                "$pbkdf2-sha512$i=2000,l=24$TmFDbC1hbmQtcGVwcGVyIQ$d6OYQY/CpiCVTfZ0hmyr8OnPwNTHg8fH",
                "correct horse",
            ),
            (
                "$pbkdf2-sha224$i=2000,l=24$TmFDbC1hbmQtcGVwcGVyIQ$R6Vww5Sw+y2mp6LxO933JO9qjcqTr7f6",
                "correct horse",
            ),
            (
                "$pbkdf2-sha384$i=2000,l=24$TmFDbC1hbmQtcGVwcGVyIQ$vMfkMKQdr/rXjmMqA7wRH5dQA9L/8Vf7",
                "correct horse",
            ),
            (
                "$pbkdf2-sha256$i=2000,l=24$TmFDbC1hbmQtcGVwcGVyIQ$nYWBPjsQWAR9PtFFDp6nAgo3m/mulJhn",
                "correct horse",
            ),
        ];
        for (stored, password) in cases {
            check(stored, password);
        }
    }

    #[test]
    fn malformed() {
        assert_malformed(
            b"123456",
            &[
                "$pbkdf2-sha256$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A",
                "$pbkdf2-sha256$aaaa$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A",
                "$pbkdf2-sha256$I=1000,l=128$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A",
                "$pbkdf2-sha256$i=1000,l=128$e8/arsEf4cvQihdNgqj0Nx$5xQQKNTyeTHx2Ld5/JDE7A",
                "$pbkdf2-sha256$i=1000,l=128$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A==",
            ],
        );
        assert_out_of_bounds(
            b"123456",
            &["$pbkdf2-sha256$i=10000001,l=16$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A"],
        );
    }
}
