//! Whether a password is too similar to an identifier.
//!
//! The rule, applied to both lower-cased (Unicode) and compared by character:
//! - a password that contains the identifier (of at least
//!   [`MIN_CONTAINED`] characters), or that the identifier contains, is too
//!   similar: `alice@example.org` and `xalice@example.org1`, or
//!   `alice@example.org` and `example.org`;
//! - otherwise, it is too similar when the longest run of characters both
//!   share covers at least half of the password: `alice.smith@example.org`
//!   and `alice.smith!!` share `alice.smith`, 11 of 13 characters.
//!
//! The longest common run costs time in the product of both lengths, so it is
//! computed only when it can decide (the identifier at least half as long as
//! the password) and both are at most [`MAX_COMPARED`] characters long;
//! containment is always checked.

/// The shortest identifier whose presence in a password makes it too similar.
pub const MIN_CONTAINED: usize = 3;

/// The longest password or identifier compared run by run.
pub const MAX_COMPARED: usize = 1024;

/// True when `password` is too similar to `identifier` (see the module docs).
pub fn too_similar(password: &str, identifier: &str) -> bool {
    let password = password.to_lowercase();
    let identifier = identifier.trim().to_lowercase();
    if identifier.is_empty() || password.is_empty() {
        return false;
    }
    let password_chars: Vec<char> = password.chars().collect();
    let identifier_chars: Vec<char> = identifier.chars().collect();
    if identifier.contains(&password)
        || (identifier_chars.len() >= MIN_CONTAINED && password.contains(&identifier))
    {
        return true;
    }
    let decidable = identifier_chars.len() * 2 >= password_chars.len();
    if !decidable || password_chars.len() > MAX_COMPARED || identifier_chars.len() > MAX_COMPARED {
        return false;
    }
    longest_common_run(&password_chars, &identifier_chars) * 2 >= password_chars.len()
}

/// Length of the longest common substring, in one row of dynamic programming.
fn longest_common_run(a: &[char], b: &[char]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    let mut best = 0;
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            current[j + 1] = if x == y { previous[j] + 1 } else { 0 };
            best = best.max(current[j + 1]);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_either_way_is_too_similar() {
        assert!(too_similar("Alice@Example.org", "alice@example.org"));
        assert!(too_similar("xalice@example.org1", "alice@example.org"));
        assert!(too_similar("example.org", "alice@example.org"));
        assert!(too_similar("bobby-tables-forever", "bob"));
        // Too short an identifier to matter inside a password.
        assert!(!too_similar("a long secret", "ab"));
    }

    #[test]
    fn a_long_shared_run_is_too_similar() {
        assert!(too_similar("alice.smith!!", "alice.smith@example.org"));
        assert!(too_similar("Alice.Smith2", "alice.smith@example.org"));
        // Runs are not reordered: two separate halves are not one run.
        assert!(!too_similar("SMITH-alice!", "alice.smith@example.org"));
        assert!(!too_similar(
            "correct horse battery staple",
            "horse@example.org"
        ));
        assert!(!too_similar("a long enough secret", "reg@example.org"));
        assert!(!too_similar("anything", ""));
    }

    #[test]
    fn longest_common_run_counts_characters() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(longest_common_run(&chars("xabcdy"), &chars("zabcdw")), 4);
        assert_eq!(longest_common_run(&chars("çàé"), &chars("aàé")), 2);
        assert_eq!(longest_common_run(&chars(""), &chars("abc")), 0);
    }

    #[test]
    fn huge_inputs_stay_cheap() {
        let password = "p".repeat(100_000);
        let identifier = "q".repeat(100_000);
        assert!(!too_similar(&password, &identifier));
    }
}
