//! bcrypt hashing (`$2a$<cost>$...`, as Kratos writes it) and verification of `$2a$`, `$2b$`,
//! `$2x$`, `$2y$`.

use super::{HashError, malformed, out_of_bounds};

/// Highest cost accepted in a stored hash (as Kratos: cost 15 already takes about 2 s).
pub(crate) const MAX_COST: u32 = 15;
/// bcrypt reads at most this many bytes of a password; longer ones are refused.
const MAX_PASSWORD_LEN: usize = 72;
const NAME: &str = "bcrypt";

/// Reads and bounds-checks the cost of a stored bcrypt hash.
pub(crate) fn parse_cost(stored: &str) -> Result<u32, HashError> {
    let b = stored.as_bytes();
    let well_formed = b.len() == 60
        && stored.is_ascii()
        && matches!(b.get(..3), Some(b"$2a" | b"$2b" | b"$2x" | b"$2y"))
        && b.get(3) == Some(&b'$')
        && b.get(6) == Some(&b'$');
    if !well_formed {
        return Err(malformed(
            NAME,
            "expected $2a$, $2b$, $2x$ or $2y$ and 60 characters",
        ));
    }
    let cost: u32 = stored
        .get(4..6)
        .and_then(|c| c.parse().ok())
        .ok_or(malformed(NAME, "cost is not a number"))?;
    if cost < 4 {
        return Err(malformed(NAME, "cost below 4"));
    }
    if cost > MAX_COST {
        return Err(out_of_bounds(NAME, "cost above 15"));
    }
    // The salt and hash as verification decodes them, so that the import
    // check never accepts a hash no password can match.
    stored
        .parse::<::bcrypt::HashParts>()
        .map_err(|_| malformed(NAME, "salt or hash is not bcrypt base64"))?;
    Ok(cost)
}

/// Hashes with the given cost (already validated).
pub(crate) fn hash(password: &[u8], cost: u32) -> Result<String, HashError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::PasswordTooLong);
    }
    let parts = ::bcrypt::hash_with_result(password, cost)
        .map_err(|_| HashError::Internal("bcrypt failed"))?;
    Ok(parts.format_for_version(::bcrypt::Version::TwoA))
}

/// Verifies a bcrypt hash (constant-time comparison inside the bcrypt crate).
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::PasswordTooLong);
    }
    parse_cost(stored)?;
    ::bcrypt::verify(password, stored)
        .map_err(|_| malformed(NAME, "salt or hash is not bcrypt base64"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hash::tests::{assert_malformed, assert_out_of_bounds, check_against};
    use crate::hash::{Algorithm, HashersConfig, hash_password, needs_rehash, verify_password};

    // Kratos's import vector is checked with the other formats' in `hash::tests`.
    // Generated independently (passlib bcrypt, ident 2b and 2y); password "hunter2".
    const PASSLIB_2B: &str = "$2b$04$Cc.CqsUP3hd6xEzJe2YnQe4ZyxzRDGC1O1LL6IG96a8gIgJkR/B0C";
    const PASSLIB_2Y: &str = "$2y$04$W.jjHRRzCI2PUatem2kXvuZcwYcxCc0L69y3ZJ4254vlwpotacyei";

    #[test]
    fn vectors() {
        check_against(PASSLIB_2B, "hunter2", "hunter3");
        check_against(PASSLIB_2Y, "hunter2", "hunter");
    }

    #[test]
    fn round_trip_2a() {
        let mut cfg = HashersConfig {
            algorithm: Algorithm::Bcrypt,
            ..HashersConfig::default()
        };
        cfg.bcrypt.cost = 4;
        let h = hash_password(b"pw", &cfg).unwrap();
        assert!(h.starts_with("$2a$04$"), "{h}");
        check_against(&h, "pw", "pW");
        assert!(!needs_rehash(&h, &cfg));
        cfg.bcrypt.cost = 5;
        assert!(needs_rehash(&h, &cfg));
        cfg.algorithm = Algorithm::Argon2;
        assert!(needs_rehash(&h, &cfg));
        assert_eq!(
            hash_password(
                &[b'a'; 73],
                &HashersConfig {
                    algorithm: Algorithm::Bcrypt,
                    ..HashersConfig::default()
                }
            ),
            Err(HashError::PasswordTooLong)
        );
        assert_eq!(
            verify_password(&[b'a'; 73], &h),
            Err(HashError::PasswordTooLong)
        );
    }

    #[test]
    fn malformed_and_bounds() {
        assert_malformed(
            b"123456",
            &[
                "$2a$10$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDy",
                "$2a$1x$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq",
                "$2z$10$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq",
                "$2a$10$ZsCsoVQ3xfBG/K2z2XpBf!tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq",
                // Found by fuzzing: the import check accepted it, verification refused it.
                "$2y$04$W.jjHRRzCI2PUatem2kXvuZcwYcxCc0\0\0\0\0\0\0\0\x00254vlwpotacyei",
            ],
        );
        assert_out_of_bounds(
            b"123456",
            &["$2a$16$ZsCsoVQ3xfBG/K2z2XpBf.tm90GZmtOqtqWcB5.pYd5Eq8y7RlDyq"],
        );
    }
}
