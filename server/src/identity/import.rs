//! The seam through which imported second-factor credentials (TOTP, lookup
//! codes, security keys, passkeys) become what their methods store.
//!
//! The identity service does not know how a method keeps its secrets (TOTP
//! URLs and codes are sealed, keys are held in `webauthn-rs`'s form); the
//! methods do (`crate::method::import`). Without a converter, these
//! credentials are refused.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::CredentialType;

/// What an imported credential becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCredential {
    /// The config to store.
    pub config: Value,
    /// The credential's identifiers; `None` keeps what the service derives.
    pub identifiers: Option<Vec<String>>,
}

/// Turns a credential's config as an admin hands it in (Kratos's import
/// shape) into the config its method stores.
pub trait CredentialConverter: Send + Sync {
    /// The stored form of `config` for a credential of `kind`, or why it
    /// is refused (a message naming the field, for a 400 answer).
    /// `now` is when the import happens (the time a key was added, when
    /// the import does not say).
    fn convert(
        &self,
        kind: CredentialType,
        config: &Value,
        now: DateTime<Utc>,
    ) -> Result<ImportedCredential, String>;
}
