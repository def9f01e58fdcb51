//! Cross-format tests: Kratos's import vectors, format detection and error hygiene.

use super::*;

/// Asserts that `password` verifies against `stored` and `wrong` does not.
pub(super) fn check_against(stored: &str, password: &str, wrong: &str) {
    assert!(
        verify_password(password.as_bytes(), stored).unwrap(),
        "{stored}"
    );
    assert!(
        !verify_password(wrong.as_bytes(), stored).unwrap(),
        "{stored}"
    );
}

/// Asserts that `password` verifies against `stored` and another does not.
pub(super) fn check(stored: &str, password: &str) {
    check_against(stored, password, "wrong password");
}

/// Asserts that verifying `password` against each of `stored` fails with an
/// error that `expected` accepts.
fn assert_each_fails(password: &[u8], stored: &[&str], expected: fn(&HashError) -> bool) {
    for bad in stored {
        let result = verify_password(password, bad);
        assert!(result.as_ref().is_err_and(expected), "{bad}: {result:?}");
    }
}

/// Asserts that verifying `password` against each of `stored` fails as malformed.
pub(super) fn assert_malformed(password: &[u8], stored: &[&str]) {
    assert_each_fails(password, stored, |e| {
        matches!(e, HashError::Malformed { .. })
    });
    // What verification refuses, the import check refuses too.
    for bad in stored {
        assert!(
            matches!(check_format(bad), Err(HashError::Malformed { .. })),
            "{bad}"
        );
    }
}

/// Asserts that verifying `password` against each of `stored` fails with
/// parameters out of bounds.
pub(super) fn assert_out_of_bounds(password: &[u8], stored: &[&str]) {
    assert_each_fails(password, stored, |e| {
        matches!(e, HashError::ParametersOutOfBounds { .. })
    });
}

/// The hashes Kratos's admin import test stores (the snapshots redact them); the password is
/// "123456" except for the SSHA family ("test123"), as in that test.
const KRATOS_IMPORT: [(&str, &str, &str); 10] = [
    (
        "pkbdf2",
        "$pbkdf2-sha256$i=1000,l=128$e8/arsEf4cvQihdNgqj0Nw$5xQQKNTyeTHx2Ld5/JDE7A",
        "123456",
    ),
    (
        "bcrypt2",
        "$2a$10$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq",
        "123456",
    ),
    (
        "argon2i",
        "$argon2i$v=19$m=65536,t=3,p=4$STVE4CQ9qQ1dK/j224VMbA$o8b+k5wdHgBqf7ES+aWG2K7Y9diQ6ahEhbW8zcstXGo",
        "123456",
    ),
    (
        "argon2id",
        "$argon2id$v=19$m=16,t=2,p=1$bVI1aE1SaTV6SGQ3bzdXdw$fnjCcZYmEPOUOjYXsT92Cg",
        "123456",
    ),
    (
        "scrypt",
        "$scrypt$ln=16384,r=8,p=1$ZtQva9xCHzlSELH/mA7Kj5KjH2tCrkbwYzdxknkL0QQ=$pnTcXKaWVT+FwFDdk3vO1K0J7ZgOxdSU1tCJNYmn8zI=",
        "123456",
    ),
    ("md5", "$md5$4QrcOUm6Wau+VuBX8g+IPg==", "123456"),
    ("SSHA", "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a", "test123"),
    (
        "SSHA256",
        "{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK",
        "test123",
    ),
    (
        "SSHA512",
        "{SSHA512}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
        "test123",
    ),
    (
        "hmac",
        "$hmac-sha256$YjhhZDA4YTNhNTQ3ZTM1ODI5YjgyMWI3NTM3MDMwMWRkOGM0YjA2YmRkNzc3MWY5YjU0MWE3NTkxNDA2ODcxOA==$MTIzNDU2",
        "123456",
    ),
];

#[test]
fn kratos_import_vectors_verify() {
    let config = HashersConfig::default();
    for (name, stored, password) in KRATOS_IMPORT {
        assert!(is_supported_format(stored), "{name}");
        check(stored, password);
        assert!(needs_rehash(stored, &config), "{name}");
    }
}

#[test]
fn detection() {
    let cases = [
        (
            "$2y$04$W.jjHRRzCI2PUatem2kXvuZcwYcxCc0L69y3ZJ4254vlwpotacyei",
            Format::Bcrypt,
        ),
        ("$argon2id$v=19$", Format::Argon2id),
        ("$argon2i$v=19$", Format::Argon2i),
        ("$pbkdf2-sha1$", Format::Pbkdf2),
        ("$scrypt$", Format::Scrypt),
        ("$firescrypt$", Format::FirebaseScrypt),
        ("{SSHA512}abc", Format::Ssha),
        ("$sha512$pf=", Format::SaltedSha),
        ("$md5$abc", Format::Md5),
        ("$md5-crypt$abc", Format::Md5Crypt),
        ("$sha256-crypt$abc", Format::Sha256Crypt),
        ("$sha512-crypt$abc", Format::Sha512Crypt),
        ("$hmac-md4$a$b", Format::Hmac),
    ];
    for (stored, format) in cases {
        assert_eq!(Format::detect(stored), Some(format), "{stored}");
    }
    for unknown in [
        "",
        "plain",
        "$1$salt$hash",
        "$pbkdf2$",
        "$pbkdf2-sha1234$",
        "{SHA}abc",
        "$hmac-sha3$a$b",
        "$argon2d$v=19$",
    ] {
        assert_eq!(Format::detect(unknown), None, "{unknown}");
        assert_eq!(
            verify_password(b"pw", unknown),
            Err(HashError::UnknownFormat)
        );
        assert!(!is_supported_format(unknown));
    }
}

#[test]
fn errors_never_echo_secrets() {
    let password = b"SuperSecretPassword";
    let stored_prefixes = [
        "unknown-SuperSecretPassword",
        "$argon2id$v=19$m=16,t=2,p=1$SuperSecretPassword$xx",
        "$pbkdf2-sha256$i=1,l=1$SuperSecretPassword!$x",
        "$sha1$pf=SuperSecretPassword$x$y",
        "$hmac-md5$SuperSecretPassword$!",
        "$firescrypt$ln=1,r=1,p=1$Super$Secret$Password$!",
    ];
    for stored in stored_prefixes {
        let err = verify_password(password, stored).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("SuperSecret"), "{text}");
        assert!(!text.contains("Password$"), "{text}");
    }
    assert_eq!(
        HashError::UnknownFormat.to_string(),
        "unknown password hash format"
    );
}

#[test]
fn check_format_reports_the_format() {
    assert_eq!(
        check_format("$md5$4QrcOUm6Wau+VuBX8g+IPg=="),
        Ok(Format::Md5)
    );
    assert!(matches!(
        check_format("$md5$!!"),
        Err(HashError::Malformed { format: "md5", .. })
    ));
    assert!(matches!(
        check_format("$2a$31$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq"),
        Err(HashError::ParametersOutOfBounds { .. })
    ));
}

#[test]
fn hash_password_refuses_invalid_config() {
    let mut config = HashersConfig::default();
    config.argon2.iterations = 0;
    assert!(matches!(
        hash_password(b"pw", &config),
        Err(HashError::Config(_))
    ));
}
