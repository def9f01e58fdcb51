//! Unix crypt import formats, written by Kratos with descriptive prefixes:
//! `$md5-crypt$<salt>$<hash>` (the `$1$` scheme), `$sha256-crypt$[rounds=<n>$]<salt>$<hash>` (`$5$`)
//! and `$sha512-crypt$[rounds=<n>$]<salt>$<hash>` (`$6$`). Implemented from the published
//! algorithms (PHK's MD5-crypt; Drepper's SHA-crypt specification).

use sha2::Digest;

use super::{HashError, ct_eq, malformed, out_of_bounds, strip_scheme};

const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DEFAULT_ROUNDS: u32 = 5000;
/// Largest rounds accepted in a stored hash (glibc allows 999999999, minutes of work).
const MAX_ROUNDS: u32 = 10_000_000;

/// Which crypt scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Md5,
    Sha256,
    Sha512,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Md5 => "md5-crypt",
            Scheme::Sha256 => "sha256-crypt",
            Scheme::Sha512 => "sha512-crypt",
        }
    }
    fn encoded_len(self) -> usize {
        match self {
            Scheme::Md5 => 22,
            Scheme::Sha256 => 43,
            Scheme::Sha512 => 86,
        }
    }
}

/// The prefix of each scheme.
const SCHEMES: [(&str, Scheme); 3] = [
    ("$md5-crypt$", Scheme::Md5),
    ("$sha256-crypt$", Scheme::Sha256),
    ("$sha512-crypt$", Scheme::Sha512),
];

/// A parsed crypt hash.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    scheme: Scheme,
    rounds: u32,
    salt: &'a [u8],
    encoded: &'a [u8],
}

/// Parses a `$md5-crypt$`, `$sha256-crypt$` or `$sha512-crypt$` hash.
pub(crate) fn parse(stored: &str) -> Result<Parsed<'_>, HashError> {
    let (scheme, rest) = strip_scheme(stored, &SCHEMES).ok_or(HashError::UnknownFormat)?;
    let name = scheme.name();
    let fields: Vec<&str> = rest.split('$').collect();
    let (rounds, salt, encoded) = match (scheme, fields.as_slice()) {
        (Scheme::Md5, [salt, hash]) => (1000, *salt, *hash),
        (_, [rounds, salt, hash]) if scheme != Scheme::Md5 => {
            let rounds: u32 = rounds
                .strip_prefix("rounds=")
                .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|r| r.parse().ok())
                .ok_or(malformed(name, "expected rounds=<n>"))?;
            (rounds.max(1000), *salt, *hash)
        }
        (_, [salt, hash]) => (DEFAULT_ROUNDS, *salt, *hash),
        _ => return Err(malformed(name, "wrong number of '$'-separated fields")),
    };
    if rounds > MAX_ROUNDS {
        return Err(out_of_bounds(name, "rounds above 10000000"));
    }
    let max_salt = if scheme == Scheme::Md5 { 8 } else { 16 };
    if salt.len() > max_salt || !salt.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(malformed(
            name,
            "salt too long or not in the crypt alphabet",
        ));
    }
    if encoded.len() != scheme.encoded_len() || !encoded.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(malformed(name, "hash has the wrong length or alphabet"));
    }
    Ok(Parsed {
        scheme,
        rounds,
        salt: salt.as_bytes(),
        encoded: encoded.as_bytes(),
    })
}

/// Verifies a crypt hash.
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let p = parse(stored)?;
    let computed = match p.scheme {
        Scheme::Md5 => encode(&md5_crypt(password, p.salt), MD5_ORDER, 2),
        Scheme::Sha256 => encode(
            &sha_crypt::<sha2::Sha256>(password, p.salt, p.rounds),
            SHA256_ORDER,
            3,
        ),
        Scheme::Sha512 => encode(
            &sha_crypt::<sha2::Sha512>(password, p.salt, p.rounds),
            SHA512_ORDER,
            2,
        ),
    };
    Ok(ct_eq(&computed, p.encoded))
}

fn md5_crypt(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let alternate = md5::Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = md5::Md5::new();
    ctx.update(password);
    ctx.update(b"$1$");
    ctx.update(salt);
    let mut remaining = password.len();
    while remaining > 0 {
        let take = remaining.min(16);
        ctx.update(&alternate[..take]);
        remaining -= take;
    }
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest = ctx.finalize().to_vec();
    for i in 0..1000 {
        let mut round = md5::Md5::new();
        if i % 2 == 1 {
            round.update(password);
        } else {
            round.update(&digest);
        }
        if i % 3 != 0 {
            round.update(salt);
        }
        if i % 7 != 0 {
            round.update(password);
        }
        if i % 2 == 1 {
            round.update(&digest);
        } else {
            round.update(password);
        }
        digest = round.finalize().to_vec();
    }
    digest
}

fn sha_crypt<D: Digest>(password: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
    let size = <D as Digest>::output_size();
    let b = D::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = D::new();
    ctx.update(password);
    ctx.update(salt);
    let mut remaining = password.len();
    while remaining > size {
        ctx.update(&b);
        remaining -= size;
    }
    ctx.update(&b[..remaining]);
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update(&b);
        } else {
            ctx.update(password);
        }
        bits >>= 1;
    }
    let a = ctx.finalize();
    let mut dp = D::new();
    for _ in 0..password.len() {
        dp.update(password);
    }
    let dp = dp.finalize();
    let p: Vec<u8> = dp.iter().cycle().take(password.len()).copied().collect();
    let mut ds = D::new();
    for _ in 0..16 + usize::from(a[0]) {
        ds.update(salt);
    }
    let ds = ds.finalize();
    let s: Vec<u8> = ds.iter().cycle().take(salt.len()).copied().collect();
    let mut c = a.to_vec();
    for i in 0..rounds {
        let mut round = D::new();
        if i % 2 == 1 {
            round.update(&p);
        } else {
            round.update(&c);
        }
        if i % 3 != 0 {
            round.update(&s);
        }
        if i % 7 != 0 {
            round.update(&p);
        }
        if i % 2 == 1 {
            round.update(&c);
        } else {
            round.update(&p);
        }
        c = round.finalize().to_vec();
    }
    c
}

const MD5_ORDER: &[[usize; 3]] = &[[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]];
const SHA256_ORDER: &[[usize; 3]] = &[
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
];
const SHA512_ORDER: &[[usize; 3]] = &[
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
];

fn push(out: &mut Vec<u8>, mut word: u32, chars: usize) {
    for _ in 0..chars {
        out.push(ALPHABET[(word & 0x3f) as usize]);
        word >>= 6;
    }
}

/// Crypt base64 in the scheme's byte order; the leftover bytes (`tail_chars` characters) follow.
fn encode(digest: &[u8], order: &[[usize; 3]], tail_chars: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(86);
    for &[a, b, c] in order {
        let word =
            (u32::from(digest[a]) << 16) | (u32::from(digest[b]) << 8) | u32::from(digest[c]);
        push(&mut out, word, 4);
    }
    let tail = match digest.len() {
        16 => u32::from(digest[11]),
        32 => (u32::from(digest[31]) << 8) | u32::from(digest[30]),
        _ => u32::from(digest[63]),
    };
    push(&mut out, tail, tail_chars);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::hash::tests::{assert_malformed, assert_out_of_bounds, check};

    #[test]
    fn md5_crypt() {
        // Kratos hasher tests.
        check("$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/", "test");
        check("$md5-crypt$$whuMjZj.HMFoaTaZRRtkO0", "test");
        check("$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b.", "ory");
        // passlib md5_crypt.
        check("$md5-crypt$saltstri$T2/ewcphylZigUqYmbojG.", "hunter2");
        check("$md5-crypt$$vnSTnHkIF96nN6kxQkZrf.", "hunter2");
    }

    #[test]
    fn sha256_crypt() {
        // passlib sha256_crypt (default rounds, and rounds=1000 with a 70-byte password).
        check(
            "$sha256-crypt$saltstringsaltst$1lPpStmpi5zM9NNMxpYo84GHVuIPgtEGQSTF34NMhr2",
            "hunter2",
        );
        check(
            "$sha256-crypt$rounds=1000$short$q54aWTe6evzq3YTjkxWhG7mGw6fr.hbSwTuUF/EQyc/",
            "a much longer password that exceeds one sha256 block of 64 bytes easily",
        );
    }

    #[test]
    fn sha512_crypt() {
        // passlib sha512_crypt.
        check(
            "$sha512-crypt$saltstringsaltst$zPS9Y/4X/Ra5iC6/UmRm.0SjO1PKJcdqZEYF.arok32CQMocE.oE9K9YP43NNUySFxV8PEsUdAJ.34WRXYhvT.",
            "hunter2",
        );
        check(
            "$sha512-crypt$rounds=1234$abc$1poZUdvcMNVc5wMcOHfrW.QyTOC3396hVj6mNWCFKGslZCxVC8VBw5vcG5ao89MaE6amyhpgZgvtst/RbF8d/0",
            "a much longer password that exceeds one sha512 block, which is 128 bytes long, so we need even more text here",
        );
        check(
            "$sha512-crypt$x$QSmr1Bx2g4O6BzKvdkgOcyU6H91X6I/XBv5pSalMhSPkwdH6Beo3F455xZJg0v//bxVK5F4OE5k1.0xuR26MK0",
            "",
        );
    }

    #[test]
    fn kratos_high_round_vectors() {
        // Kratos hasher tests (535000 and 656000 rounds: slow in debug builds, so one each).
        check(
            "$sha256-crypt$rounds=535000$05R.9KB6UC2kLI3w$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78",
            "test",
        );
        check(
            "$sha512-crypt$rounds=656000$0baQbxBrfpKqvizk$Q9cYk1MeNAlECPgpG3jjfNI2DumLqd0yHbxzLdxiX6nsSD5i9n0awcbiCf8R5DzpIYxeBPznPcb1wtzlgUKtH0",
            "ory",
        );
    }

    #[test]
    fn malformed() {
        assert_malformed(
            b"x",
            &[
                "$sha256-crypt$$",
                "$sha256-crypt$$$",
                "$sha512-crypt$$",
                "$sha512-crypt$rounds=x$abc$1poZUdvcMNVc5wMcOHfrW.QyTOC3396hVj6mNWCFKGslZCxVC8VBw5vcG5ao89MaE6amyhpgZgvtst/RbF8d/0",
                "$md5-crypt$saltstri$T2/ewcphylZigUqYmbojG",
                "$md5-crypt$toolongsalt$T2/ewcphylZigUqYmbojG.",
                "$md5-crypt$saltstri$T2/ewcphylZigUqYmbojG.$",
            ],
        );
        assert_out_of_bounds(
            b"x",
            &["$sha256-crypt$rounds=999999999$short$q54aWTe6evzq3YTjkxWhG7mGw6fr.hbSwTuUF/EQyc/"],
        );
    }
}
