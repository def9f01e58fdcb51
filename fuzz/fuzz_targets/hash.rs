//! Every stored-hash format: the parsers on any input, and the verifiers
//! whenever the parsed cost parameters are cheap enough to run millions of
//! times (the server's own bounds allow costs meant for one login, not for
//! fuzzing, so the harness skips those instead of running them).
//!
//! Input: the password, a newline, then the stored hash.
#![no_main]

use bia_server::hash::{
    Algorithm, Format, HashError, HashersConfig, check_format, needs_rehash, verify_password,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (password, stored) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let Ok(stored) = std::str::from_utf8(stored) else {
        return;
    };
    let checked = check_format(stored);
    assert_eq!(
        checked.is_ok(),
        bia_server::hash::is_supported_format(stored)
    );
    for algorithm in [Algorithm::Argon2, Algorithm::Bcrypt] {
        let config = HashersConfig {
            algorithm,
            ..HashersConfig::default()
        };
        let _ = needs_rehash(stored, &config);
    }
    match checked {
        Ok(format) if cheap(format, stored) => {
            // A hash the import check accepts is one the verifier can check.
            match verify_password(password, stored) {
                Ok(_) | Err(HashError::PasswordTooLong | HashError::PasswordOverCap) => {}
                Err(error) => panic!(
                    "{} hash passed the check but not verification: {error}",
                    format.name()
                ),
            }
        }
        Ok(_) => {}
        // The verifier parses first, so a refused hash is refused again (cheaply).
        Err(_) => assert!(verify_password(password, stored).is_err()),
    }
});

/// Whether verifying `stored` costs at most about a millisecond. Reads the
/// cost fields the way the formats write them; anything unexpected is not cheap.
fn cheap(format: Format, stored: &str) -> bool {
    let fields: Vec<&str> = stored.split('$').collect();
    let params = |n: usize, limits: &[(&str, u64)]| {
        fields.get(n).is_some_and(|text| {
            text.split(',').all(|pair| {
                pair.split_once('=').is_some_and(|(key, value)| {
                    limits.iter().any(|&(name, limit)| {
                        name == key && value.parse::<u64>().is_ok_and(|v| v <= limit)
                    })
                })
            })
        })
    };
    match format {
        Format::Argon2id | Format::Argon2i => params(3, &[("m", 256), ("t", 4), ("p", 4)]),
        Format::Bcrypt => fields
            .get(2)
            .is_some_and(|cost| cost.parse::<u32>().is_ok_and(|c| c <= 4)),
        Format::Pbkdf2 => params(2, &[("i", 64), ("l", u64::MAX)]),
        // `ln` is N itself in Kratos's scrypt format, its logarithm in Firebase's.
        Format::Scrypt => params(2, &[("ln", 256), ("r", 4), ("p", 2)]),
        Format::FirebaseScrypt => params(2, &[("ln", 8), ("r", 4), ("p", 2)]),
        Format::Sha256Crypt | Format::Sha512Crypt => fields
            .get(2)
            .and_then(|field| field.strip_prefix("rounds="))
            .is_some_and(|rounds| rounds.parse::<u32>().is_ok_and(|r| r <= 2000)),
        Format::Md5Crypt | Format::Ssha | Format::SaltedSha | Format::Md5 | Format::Hmac => true,
    }
}
