//! Authenticator assurance levels: what a session proved (`aal1`: one
//! factor; `aal2`: a first and a second factor), what an identity could prove
//! (its available level: `aal2` once it holds a second-factor credential),
//! and whether a session satisfies what a feature requires
//! (`session.whoami.required_aal`, `selfservice.flows.settings.required_aal`).

use bia_config::RequiredAal;

use crate::identity::{CredentialType, Identity};
use crate::session::AuthMethod;

/// An authenticator assurance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Aal {
    /// One factor.
    #[default]
    Aal1,
    /// A first and a second factor.
    Aal2,
}

impl Aal {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }

    /// The level a stored or submitted name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "aal1" => Some(Aal::Aal1),
            "aal2" => Some(Aal::Aal2),
            _ => None,
        }
    }
}

/// The credential types that are second factors whatever the config (a
/// `webauthn` credential holds security keys, never passkeys).
pub const SECOND_FACTORS: [CredentialType; 3] = [
    CredentialType::Totp,
    CredentialType::LookupSecret,
    CredentialType::Webauthn,
];

/// The level a session's completed steps reach: `aal2` only with a first
/// factor and a second factor among them (each step records the level it
/// granted: a code is a first factor when it signs in and a second one
/// when it steps a session up).
pub fn of_session(methods: &[AuthMethod]) -> Aal {
    let level = |m: &AuthMethod| Aal::parse(&m.aal).unwrap_or_default();
    let first = methods.iter().any(|m| level(m) == Aal::Aal1);
    let second = methods.iter().any(|m| level(m) == Aal::Aal2);
    if first && second {
        Aal::Aal2
    } else {
        Aal::Aal1
    }
}

/// The highest level an identity can reach with the credentials it holds:
/// `aal2` with a TOTP app, lookup codes or a security key, or, when codes are a second
/// factor (`code_mfa`), with an address to send a code to. Computed on
/// every write and stored on the identity's row for the whoami lookup.
pub fn available(identity: &Identity, code_mfa: bool) -> Aal {
    let hard = SECOND_FACTORS.iter().any(|t| {
        identity
            .credentials
            .get(t)
            .is_some_and(|c| *t != CredentialType::Webauthn || holds_keys(&c.config))
    });
    let by_code = code_mfa
        && identity
            .credentials
            .get(&CredentialType::Code)
            .is_some_and(|c| !c.identifiers.is_empty());
    if hard || by_code {
        Aal::Aal2
    } else {
        Aal::Aal1
    }
}

/// Whether a `webauthn` credential's config holds a security key (the
/// schema's `webauthn.identifier` marks create the credential with
/// identifiers only, which proves nothing).
fn holds_keys(config: &serde_json::Value) -> bool {
    config
        .get("credentials")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|keys| !keys.is_empty())
}

/// Whether a session at `session` satisfies `required` for an identity
/// whose available level is `available`.
pub fn satisfies(required: RequiredAal, session: Aal, available: Aal) -> bool {
    match required {
        RequiredAal::Aal1 => true,
        RequiredAal::HighestAvailable => session >= available,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn step(method: &str, aal: Aal) -> AuthMethod {
        AuthMethod {
            method: method.into(),
            aal: aal.as_str().into(),
            completed_at: Utc::now(),
        }
    }

    #[test]
    fn a_session_needs_both_factors_for_aal2() {
        let password = step("password", Aal::Aal1);
        let totp = step("totp", Aal::Aal2);
        assert_eq!(of_session(std::slice::from_ref(&password)), Aal::Aal1);
        assert_eq!(of_session(std::slice::from_ref(&totp)), Aal::Aal1);
        assert_eq!(of_session(&[password.clone(), totp]), Aal::Aal2);
        // A code signs in (aal1) and steps up (aal2).
        let first_code = step("code", Aal::Aal1);
        let second_code = step("code", Aal::Aal2);
        assert_eq!(of_session(&[first_code.clone(), second_code]), Aal::Aal2);
        assert_eq!(of_session(&[first_code, password]), Aal::Aal1);
        assert_eq!(of_session(&[]), Aal::Aal1);
    }

    #[test]
    fn a_code_address_is_a_second_factor_only_when_codes_are_one() {
        use crate::identity::Credential;
        let now = Utc::now();
        let mut identity = Identity::new("default".into(), serde_json::json!({}), now);
        let credential = |kind, identifiers: Vec<String>| Credential {
            id: uuid::Uuid::new_v4(),
            kind,
            identifiers,
            config: serde_json::json!({}),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(available(&identity, true), Aal::Aal1);
        identity.credentials.insert(
            CredentialType::Code,
            credential(CredentialType::Code, vec![]),
        );
        assert_eq!(available(&identity, true), Aal::Aal1, "no address");
        let address = vec!["ada@example.org".to_owned()];
        identity.credentials.insert(
            CredentialType::Code,
            credential(CredentialType::Code, address),
        );
        assert_eq!(available(&identity, false), Aal::Aal1);
        assert_eq!(available(&identity, true), Aal::Aal2);
        identity.credentials.clear();
        let totp = credential(CredentialType::Totp, vec![]);
        identity.credentials.insert(CredentialType::Totp, totp);
        assert_eq!(available(&identity, false), Aal::Aal2);
    }

    #[test]
    fn a_webauthn_credential_counts_only_with_a_key() {
        use crate::identity::Credential;
        let now = Utc::now();
        let mut identity = Identity::new("default".into(), serde_json::json!({}), now);
        let mut credential = Credential {
            id: uuid::Uuid::new_v4(),
            kind: CredentialType::Webauthn,
            identifiers: vec!["ada@example.org".into()],
            config: serde_json::json!({}),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        identity
            .credentials
            .insert(CredentialType::Webauthn, credential.clone());
        assert_eq!(available(&identity, false), Aal::Aal1);
        credential.config = serde_json::json!({"credentials": [{"id": "AA=="}]});
        identity
            .credentials
            .insert(CredentialType::Webauthn, credential);
        assert_eq!(available(&identity, false), Aal::Aal2);
    }

    #[test]
    fn highest_available_asks_for_what_the_identity_has() {
        use RequiredAal::*;
        assert!(satisfies(Aal1, Aal::Aal1, Aal::Aal2));
        assert!(satisfies(HighestAvailable, Aal::Aal1, Aal::Aal1));
        assert!(!satisfies(HighestAvailable, Aal::Aal1, Aal::Aal2));
        assert!(satisfies(HighestAvailable, Aal::Aal2, Aal::Aal2));
        assert_eq!(Aal::parse("aal3"), None);
    }
}
