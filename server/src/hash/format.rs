//! Recognition of stored hash formats by their prefix, in Kratos's order.

/// A stored password hash format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `$md5-crypt$<salt>$<hash>` (the `$1$` crypt scheme).
    Md5Crypt,
    /// `$2a$`, `$2b$`, `$2x$`, `$2y$` bcrypt.
    Bcrypt,
    /// `$sha256-crypt$[rounds=<n>$]<salt>$<hash>` (the `$5$` crypt scheme).
    Sha256Crypt,
    /// `$sha512-crypt$[rounds=<n>$]<salt>$<hash>` (the `$6$` crypt scheme).
    Sha512Crypt,
    /// `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`.
    Argon2id,
    /// `$argon2i$v=19$m=..,t=..,p=..$<salt>$<hash>`.
    Argon2i,
    /// `$pbkdf2-sha1|sha224|sha256|sha384|sha512$i=..,l=..$<salt>$<hash>`.
    Pbkdf2,
    /// `$scrypt$ln=<N>,r=..,p=..$<salt>$<hash>`.
    Scrypt,
    /// `{SSHA}`, `{SSHA256}`, `{SSHA512}` followed by base64(hash || salt).
    Ssha,
    /// `$sha1|sha256|sha512$pf=<pattern>$<salt>$<hash>`.
    SaltedSha,
    /// `$firescrypt$ln=..,r=..,p=..$<salt>$<hash>$<salt separator>$<signer key>`.
    FirebaseScrypt,
    /// `$md5$<hash>` or `$md5$pf=<pattern>$<salt>$<hash>`.
    Md5,
    /// `$hmac-md4|md5|sha1|sha224|sha256|sha384|sha512$<hash>$<key>`.
    Hmac,
}

impl Format {
    /// The format of `stored`, judged by its prefix only (`None` when unknown).
    pub fn detect(stored: &str) -> Option<Format> {
        RULES
            .iter()
            .find(|(matches, _)| matches(stored))
            .map(|&(_, format)| format)
    }

    /// Short lowercase name, e.g. `argon2id`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Md5Crypt => "md5-crypt",
            Format::Bcrypt => "bcrypt",
            Format::Sha256Crypt => "sha256-crypt",
            Format::Sha512Crypt => "sha512-crypt",
            Format::Argon2id => "argon2id",
            Format::Argon2i => "argon2i",
            Format::Pbkdf2 => "pbkdf2",
            Format::Scrypt => "scrypt",
            Format::Ssha => "ssha",
            Format::SaltedSha => "sha",
            Format::FirebaseScrypt => "firescrypt",
            Format::Md5 => "md5",
            Format::Hmac => "hmac",
        }
    }
}

/// Whether a stored hash has a format's prefix.
type Recognizer = fn(&str) -> bool;

/// How each format is recognized, in Kratos's order: the first match wins.
const RULES: [(Recognizer, Format); 13] = [
    (|s| s.starts_with("$md5-crypt$"), Format::Md5Crypt),
    (is_bcrypt_prefix, Format::Bcrypt),
    (|s| s.starts_with("$sha256-crypt$"), Format::Sha256Crypt),
    (|s| s.starts_with("$sha512-crypt$"), Format::Sha512Crypt),
    (|s| s.starts_with("$argon2id$"), Format::Argon2id),
    (|s| s.starts_with("$argon2i$"), Format::Argon2i),
    (is_pbkdf2_prefix, Format::Pbkdf2),
    (|s| s.starts_with("$scrypt$"), Format::Scrypt),
    (
        |s| starts_with_any(s, &["{SSHA}", "{SSHA256}", "{SSHA512}"]),
        Format::Ssha,
    ),
    (
        |s| starts_with_any(s, &["$sha1$", "$sha256$", "$sha512$"]),
        Format::SaltedSha,
    ),
    (|s| s.starts_with("$firescrypt$"), Format::FirebaseScrypt),
    (|s| s.starts_with("$md5$"), Format::Md5),
    (|s| super::mac::algorithm_of(s).is_some(), Format::Hmac),
];

fn starts_with_any(s: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| s.starts_with(p))
}

/// `^\$2[abxy]?\$`, as Kratos (plus `x`, which the bcrypt crate reads).
fn is_bcrypt_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    match b {
        [b'$', b'2', b'$', ..] => true,
        [b'$', b'2', v, b'$', ..] => matches!(v, b'a' | b'b' | b'x' | b'y' | b'z'),
        _ => false,
    }
}

/// `^\$pbkdf2-sha[0-9]{1,3}\$`.
fn is_pbkdf2_prefix(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("$pbkdf2-sha") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'$')
}
