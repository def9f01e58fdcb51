//! The password policy: what a newly chosen password must satisfy.
//!
//! Checks, in order, each refusing with Kratos's message id:
//! 1. length: at least `min_password_length` characters (4000032) and at most
//!    what the hasher takes, in bytes (4000033);
//! 2. similarity to any of the identity's password identifiers (4000031), see
//!    [`similarity`] for the rule;
//! 3. the Have I Been Pwned range API: more than `max_breaches` breaches
//!    refuse the password (4000034, with the count); a failed lookup lets it
//!    through when `ignore_network_errors` is on and otherwise refuses it with
//!    the generic policy message (4000005).
//!
//! The lookup runs last, so an obviously bad password never leaves a trace on
//! the network. Settings come from `selfservice.methods.password.config`.

pub mod breach;
pub mod similarity;

use std::sync::Arc;

use serde_json::json;

use crate::flow::ui::Message;
use bia_config::PasswordConfig;

pub use breach::{BreachCheck, BreachLookup, LookupError, PwnedPasswords};

/// Policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySettings {
    /// Shortest password accepted, in characters.
    pub min_length: usize,
    /// Whether passwords similar to an identifier are refused.
    pub identifier_similarity_check: bool,
    /// Breaches tolerated.
    pub max_breaches: u64,
    /// Whether a failed breach lookup lets the password through.
    pub ignore_network_errors: bool,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            min_length: 8,
            identifier_similarity_check: true,
            max_breaches: 0,
            ignore_network_errors: true,
        }
    }
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum.
        min: usize,
        /// The password's length in characters.
        actual: usize,
    },
    /// More bytes than the hasher takes.
    TooLong {
        /// The maximum.
        max: usize,
        /// The password's length in bytes.
        actual: usize,
    },
    /// Too similar to an identifier.
    TooSimilar,
    /// Found in more breaches than tolerated.
    Breached {
        /// Breaches it was found in.
        count: u64,
    },
    /// The breach lookup failed and failures are not ignored.
    LookupFailed,
}

impl Violation {
    /// The message shown on the password field, as Kratos words it.
    pub fn message(&self) -> Message {
        match *self {
            Violation::TooShort { min, actual } => Message::error(
                4000032,
                format!("The password must be at least {min} characters long, but got {actual}."),
                json!({"min_length": min, "actual_length": actual}),
            ),
            Violation::TooLong { max, actual } => Message::error(
                4000033,
                format!("The password must be at most {max} characters long, but got {actual}."),
                json!({"max_length": max, "actual_length": actual}),
            ),
            Violation::TooSimilar => Message {
                context: None,
                ..Message::error(
                    4000031,
                    "The password can not be used because it is too similar to the identifier.",
                    json!({}),
                )
            },
            Violation::Breached { count } => Message::error(
                4000034,
                "The password has been found in data breaches and must no longer be used.",
                json!({"breaches": count}),
            ),
            Violation::LookupFailed => {
                let reason = "the breached-password database could not be reached, \
                              please try again later";
                Message::error(
                    4000005,
                    format!("The password can not be used because {reason}."),
                    json!({"reason": reason}),
                )
            }
        }
    }
}

/// The password policy.
#[derive(Debug)]
pub struct PasswordPolicy {
    settings: PolicySettings,
    breaches: Option<BreachCheck>,
}

impl PasswordPolicy {
    /// A policy with these settings; breaches are looked up through `lookup`
    /// when one is given.
    pub fn new(settings: PolicySettings, lookup: Option<Arc<dyn BreachLookup>>) -> Self {
        Self {
            settings,
            breaches: lookup.map(BreachCheck::new),
        }
    }

    /// The policy a `selfservice.methods.password.config` section describes.
    pub fn from_config(config: &PasswordConfig) -> Result<Self, LookupError> {
        let settings = PolicySettings {
            min_length: config.min_password_length(),
            identifier_similarity_check: config.identifier_similarity_check_enabled(),
            max_breaches: config.max_breaches(),
            ignore_network_errors: config.ignore_network_errors(),
        };
        let lookup: Option<Arc<dyn BreachLookup>> = if config.haveibeenpwned_enabled() {
            Some(Arc::new(PwnedPasswords::new(
                &config.haveibeenpwned_base_url(),
            )?))
        } else {
            None
        };
        Ok(Self::new(settings, lookup))
    }

    /// Checks a new password of an identity with these password identifiers;
    /// `max_bytes` is the most the hasher takes.
    pub async fn check(
        &self,
        password: &str,
        identifiers: &[String],
        max_bytes: Option<usize>,
    ) -> Result<(), Violation> {
        let length = password.chars().count();
        if length < self.settings.min_length {
            return Err(Violation::TooShort {
                min: self.settings.min_length,
                actual: length,
            });
        }
        if let Some(max) = max_bytes
            && password.len() > max
        {
            return Err(Violation::TooLong {
                max,
                actual: password.len(),
            });
        }
        if self.settings.identifier_similarity_check
            && identifiers
                .iter()
                .any(|identifier| similarity::too_similar(password, identifier))
        {
            return Err(Violation::TooSimilar);
        }
        let Some(breaches) = &self.breaches else {
            return Ok(());
        };
        match breaches.count(password).await {
            Ok(count) if count > self.settings.max_breaches => Err(Violation::Breached { count }),
            Ok(_) => Ok(()),
            Err(error) if self.settings.ignore_network_errors => {
                tracing::warn!(%error, "breached-password lookup failed; the password is accepted");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "breached-password lookup failed; the password is refused");
                Err(Violation::LookupFailed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    struct Answer(Result<String, LookupError>);

    #[async_trait]
    impl BreachLookup for Answer {
        async fn range(&self, _prefix: &str) -> Result<String, LookupError> {
            self.0.clone()
        }
    }

    fn policy(settings: PolicySettings, answer: Result<&str, &str>) -> PasswordPolicy {
        let answer = answer
            .map(str::to_owned)
            .map_err(|e| LookupError(e.to_owned()));
        PasswordPolicy::new(settings, Some(Arc::new(Answer(answer))))
    }

    // SHA-1 of "password" is 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8.
    const RANGE: &str =
        "1E4C9B93F3F0682250B6CF8331B7EE68FD8:5\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:0\r\n";

    #[tokio::test]
    async fn length_limits() {
        let policy = PasswordPolicy::new(PolicySettings::default(), None);
        assert_eq!(
            policy.check("short", &[], None).await,
            Err(Violation::TooShort { min: 8, actual: 5 })
        );
        // Characters, not bytes, count toward the minimum.
        assert!(policy.check("ééééééééé", &[], None).await.is_ok());
        assert_eq!(
            policy.check(&"x".repeat(73), &[], Some(72)).await,
            Err(Violation::TooLong {
                max: 72,
                actual: 73
            })
        );
        let message = Violation::TooShort { min: 8, actual: 5 }.message();
        assert_eq!(message.id, 4000032);
        assert_eq!(
            message.text,
            "The password must be at least 8 characters long, but got 5."
        );
    }

    #[tokio::test]
    async fn similarity_to_identifiers() {
        let ids = vec!["someone@example.org".to_owned(), "someone".to_owned()];
        let policy = PasswordPolicy::new(PolicySettings::default(), None);
        assert_eq!(
            policy.check("someone@example.org!", &ids, None).await,
            Err(Violation::TooSimilar)
        );
        assert!(policy.check("unrelated secret", &ids, None).await.is_ok());
        let off = PasswordPolicy::new(
            PolicySettings {
                identifier_similarity_check: false,
                ..PolicySettings::default()
            },
            None,
        );
        assert!(off.check("someone@example.org!", &ids, None).await.is_ok());
        let message = Violation::TooSimilar.message();
        assert_eq!(message.id, 4000031);
        assert!(message.context.is_none());
    }

    #[tokio::test]
    async fn breaches_over_the_tolerance_refuse() {
        let strict = policy(PolicySettings::default(), Ok(RANGE));
        assert_eq!(
            strict.check("password", &[], None).await,
            Err(Violation::Breached { count: 5 })
        );
        assert!(strict.check("not in the range", &[], None).await.is_ok());
        let tolerant = policy(
            PolicySettings {
                max_breaches: 5,
                ..PolicySettings::default()
            },
            Ok(RANGE),
        );
        assert!(tolerant.check("password", &[], None).await.is_ok());
        let message = Violation::Breached { count: 5 }.message();
        assert_eq!(message.id, 4000034);
        assert_eq!(message.context, Some(json!({"breaches": 5})));
    }

    #[tokio::test]
    async fn lookup_failures_follow_ignore_network_errors() {
        let ignoring = policy(PolicySettings::default(), Err("down"));
        assert!(ignoring.check("password", &[], None).await.is_ok());
        let failing = policy(
            PolicySettings {
                ignore_network_errors: false,
                ..PolicySettings::default()
            },
            Err("down"),
        );
        assert_eq!(
            failing.check("password", &[], None).await,
            Err(Violation::LookupFailed)
        );
        assert_eq!(Violation::LookupFailed.message().id, 4000005);
    }
}
