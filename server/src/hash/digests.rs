//! Plain-digest import formats (standard padded base64 throughout):
//! - `{SSHA}`, `{SSHA256}`, `{SSHA512}` + base64(digest(password || salt) || salt);
//! - `$sha1$pf=<base64 pattern>$<base64 salt>$<base64 hash>` and `$sha256$`, `$sha512$`;
//! - `$md5$<base64 hash>` (unsalted) and `$md5$pf=<base64 pattern>$<base64 salt>$<base64 hash>`.
//!
//! A pattern (`pf`) such as `{SALT}{PASSWORD}` says how salt and password were concatenated;
//! each placeholder is replaced once, left to right, and replaced text is not scanned again.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

use super::{HashError, ct_eq, malformed, strip_scheme};

/// Digest used by SSHA and the salted SHA formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sha {
    Sha1,
    Sha256,
    Sha512,
}

impl Sha {
    fn len(self) -> usize {
        match self {
            Sha::Sha1 => 20,
            Sha::Sha256 => 32,
            Sha::Sha512 => 64,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Sha::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Sha::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Sha::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// A parsed digest-based hash: which digest, the bytes to hash and the expected digest.
#[derive(Debug)]
pub(crate) struct Salted {
    pattern: Option<Vec<u8>>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Salted {
    /// The digest input for `password`.
    fn input(&self, password: &[u8]) -> Vec<u8> {
        match &self.pattern {
            Some(pattern) => apply_pattern(pattern, &self.salt, password),
            None => password.to_vec(),
        }
    }
}

/// Replaces `{SALT}` and `{PASSWORD}` in one left-to-right pass.
fn apply_pattern(pattern: &[u8], salt: &[u8], password: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pattern.len() + salt.len() + password.len());
    let mut rest = pattern;
    while let Some((&first, tail)) = rest.split_first() {
        if let Some(after) = rest.strip_prefix(b"{SALT}") {
            out.extend_from_slice(salt);
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"{PASSWORD}") {
            out.extend_from_slice(password);
            rest = after;
        } else {
            out.push(first);
            rest = tail;
        }
    }
    out
}

fn decode(format: &'static str, text: &str, what: &'static str) -> Result<Vec<u8>, HashError> {
    STANDARD.decode(text).map_err(|_| malformed(format, what))
}

/// Parses `pf=<base64>`, `<salt>`, `<hash>`.
fn parse_pattern_fields(
    format: &'static str,
    pf: &str,
    salt: &str,
    hash: &str,
) -> Result<Salted, HashError> {
    let pattern = pf
        .strip_prefix("pf=")
        .filter(|p| !p.is_empty())
        .ok_or(malformed(format, "expected pf=<base64 pattern>"))?;
    Ok(Salted {
        pattern: Some(decode(format, pattern, "pattern is not base64")?),
        salt: decode(format, salt, "salt is not base64")?,
        hash: decode(format, hash, "hash is not base64")?,
    })
}

/// The prefix of each SSHA digest.
const SSHA_PREFIXES: [(&str, Sha); 3] = [
    ("{SSHA}", Sha::Sha1),
    ("{SSHA256}", Sha::Sha256),
    ("{SSHA512}", Sha::Sha512),
];

/// Parses `{SSHA}`, `{SSHA256}` or `{SSHA512}`.
pub(crate) fn parse_ssha(stored: &str) -> Result<(Sha, Salted), HashError> {
    const NAME: &str = "ssha";
    let (sha, body) = strip_scheme(stored, &SSHA_PREFIXES)
        .ok_or(malformed(NAME, "expected {SSHA}, {SSHA256} or {SSHA512}"))?;
    let decoded = decode(NAME, body, "body is not base64")?;
    if decoded.len() <= sha.len() {
        return Err(malformed(NAME, "no salt after the digest"));
    }
    let (hash, salt) = decoded.split_at(sha.len());
    Ok((
        sha,
        Salted {
            pattern: Some(b"{PASSWORD}{SALT}".to_vec()),
            salt: salt.to_vec(),
            hash: hash.to_vec(),
        },
    ))
}

/// Verifies `{SSHA*}`.
pub(crate) fn verify_ssha(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let (sha, s) = parse_ssha(stored)?;
    Ok(ct_eq(&sha.digest(&s.input(password)), &s.hash))
}

/// Parses `$sha1$`, `$sha256$`, `$sha512$` with a pattern.
pub(crate) fn parse_salted_sha(stored: &str) -> Result<(Sha, Salted), HashError> {
    const NAME: &str = "sha";
    let parts: Vec<&str> = stored.split('$').collect();
    let ["", name, pf, salt, hash] = parts.as_slice() else {
        return Err(malformed(NAME, "expected 4 '$'-separated fields"));
    };
    let sha = match *name {
        "sha1" => Sha::Sha1,
        "sha256" => Sha::Sha256,
        "sha512" => Sha::Sha512,
        _ => return Err(malformed(NAME, "expected sha1, sha256 or sha512")),
    };
    Ok((sha, parse_pattern_fields(NAME, pf, salt, hash)?))
}

/// Verifies `$sha1$`, `$sha256$`, `$sha512$`.
pub(crate) fn verify_salted_sha(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let (sha, s) = parse_salted_sha(stored)?;
    Ok(ct_eq(&sha.digest(&s.input(password)), &s.hash))
}

/// Parses `$md5$<hash>` or `$md5$pf=..$<salt>$<hash>`.
pub(crate) fn parse_md5(stored: &str) -> Result<Salted, HashError> {
    const NAME: &str = "md5";
    let parts: Vec<&str> = stored.split('$').collect();
    match parts.as_slice() {
        ["", "md5", hash] => Ok(Salted {
            pattern: None,
            salt: Vec::new(),
            hash: decode(NAME, hash, "hash is not base64")?,
        }),
        ["", "md5", pf, salt, hash] => parse_pattern_fields(NAME, pf, salt, hash),
        _ => Err(malformed(
            NAME,
            "expected $md5$<hash> or $md5$pf=..$<salt>$<hash>",
        )),
    }
}

/// Verifies `$md5$`.
pub(crate) fn verify_md5(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let s = parse_md5(stored)?;
    Ok(ct_eq(&md5::Md5::digest(s.input(password)), &s.hash))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::apply_pattern;
    use crate::hash::tests::assert_malformed;
    use crate::hash::tests::check;

    #[test]
    fn ssha_vectors_from_kratos() {
        check("{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a", "test123");
        check(
            "{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK",
            "test123",
        );
        check(
            "{SSHA512}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
            "test123",
        );
    }

    #[test]
    fn salted_sha_vectors() {
        // Kratos hasher tests.
        check(
            "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
            "test",
        );
        check(
            "$sha1$pf=JHtQQVNTV09SRH0ke1NBTFR9JA==$NW9wbWtnejAzcg==$iE5n1yjX3oAdxRHwZ4u57I4LpQo=",
            "test",
        );
        check(
            "$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$0gfRVLCvtBCk20udLDEY5vNhujWx7RGjwRIS1ebMsLY=",
            "test",
        );
        check(
            "$sha512$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0CgBXcdHw/GC562eFEFGr4gpgANX8ZYsX+j5B19IkdmOY2Fytsz3QUwSWdGcUjbqwgJGTH0UYvw==",
            "test",
        );
        // Python hashlib: sha256(b"pepper:" + b"s4lt" + b"|" + b"p@ss"), pattern "pepper:{SALT}|{PASSWORD}".
        check(
            "$sha256$pf=cGVwcGVyOntTQUxUfXx7UEFTU1dPUkR9$czRsdA==$f0hT6BosjDUwSaFtTrpuUnxGFWXga5duSRvjbwcXGkE=",
            "p@ss",
        );
    }

    #[test]
    fn md5_vectors() {
        // Kratos import test (unsalted) and hasher tests (patterns).
        check("$md5$4QrcOUm6Wau+VuBX8g+IPg==", "123456");
        check(
            "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$q+RdKCgc+ipCAcm5ChQwlQ==",
            "test",
        );
        check(
            "$md5$pf=e1NBTFR9JCR7UEFTU1dPUkR9$MTIzNA==$ud392Z8rfZ+Ou7ZFXYLKbA==",
            "test",
        );
        check(
            "$md5$pf=e1BBU1NXT1JEfXtTQUxUfSQ/$MTIzNDU2Nzg5$8PhwWanVRnpJAFK4NUjR0w==",
            "ory",
        );
    }

    #[test]
    fn malformed() {
        assert_malformed(
            b"test",
            &[
                "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy",
                "{SSHA}!!!!",
                "$sha1$pf=$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
                "$sha1$$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
                "$sha1$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
                "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$5opmkgz03r$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
                "$md5$pf=$$",
                "$md5$pf=MTIz$Z$",
                "$md5$pf=MTIz$MTIz$Z",
                "$md5$a$b",
            ],
        );
    }

    #[test]
    fn pattern_is_single_pass() {
        assert_eq!(
            apply_pattern(b"{SALT}{PASSWORD}", b"{PASSWORD}", b"pw"),
            b"{PASSWORD}pw"
        );
        assert_eq!(apply_pattern(b"a{SALT{PASSWORD}}", b"s", b"p"), b"a{SALTp}");
    }
}
