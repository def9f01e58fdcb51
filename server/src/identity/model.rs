//! The identity aggregate: traits, credentials, addresses and metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// Whether an identity may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// The identity can use the system.
    #[default]
    Active,
    /// The identity is disabled.
    Inactive,
}

impl State {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Inactive => "inactive",
        }
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(State::Active),
            "inactive" => Ok(State::Inactive),
            other => Err(format!(
                "state must be \"active\" or \"inactive\", got {other:?}"
            )),
        }
    }
}

/// The kinds of credentials an identity can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialType {
    /// Identifier and password.
    Password,
    /// Social sign-in over OpenID Connect.
    Oidc,
    /// Time-based one-time passwords.
    Totp,
    /// Recovery lookup codes.
    LookupSecret,
    /// Security keys.
    Webauthn,
    /// One-time codes sent by email or SMS.
    Code,
    /// Passkeys.
    Passkey,
    /// SAML single sign-on.
    Saml,
}

impl CredentialType {
    /// Every type, in wire order.
    pub const ALL: [CredentialType; 8] = [
        CredentialType::Password,
        CredentialType::Oidc,
        CredentialType::Totp,
        CredentialType::LookupSecret,
        CredentialType::Webauthn,
        CredentialType::Code,
        CredentialType::Passkey,
        CredentialType::Saml,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::Password => "password",
            CredentialType::Oidc => "oidc",
            CredentialType::Totp => "totp",
            CredentialType::LookupSecret => "lookup_secret",
            CredentialType::Webauthn => "webauthn",
            CredentialType::Code => "code",
            CredentialType::Passkey => "passkey",
            CredentialType::Saml => "saml",
        }
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown credential type {s:?}"))
    }
}

/// One credential of an identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// Row id.
    pub id: Uuid,
    /// Its type.
    pub kind: CredentialType,
    /// The unique identifiers this credential answers to (email, username, provider:subject).
    pub identifiers: Vec<String>,
    /// Type-specific configuration (a password hash, provider links, keys).
    pub config: Value,
    /// Version of the config layout.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An address that can be verified (email or phone).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiableAddress {
    /// Row id.
    pub id: Uuid,
    /// The normalised address.
    pub value: String,
    /// Whether it has been verified.
    pub verified: bool,
    /// `email` or `sms`.
    pub via: String,
    /// `pending`, `sent`, `completed`.
    pub status: String,
    /// When it was verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An address recovery messages can be sent to.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryAddress {
    /// Row id.
    pub id: Uuid,
    /// The normalised address.
    pub value: String,
    /// `email` or `sms`.
    pub via: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A person or machine known to the system.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Its id, chosen by the server.
    pub id: Uuid,
    /// The identity schema its traits follow.
    pub schema_id: String,
    /// Schema-validated attributes (email, name, ...).
    pub traits: Value,
    /// Active or inactive.
    pub state: State,
    /// When the state last changed.
    pub state_changed_at: Option<DateTime<Utc>>,
    /// Metadata the identity itself may read.
    pub metadata_public: Option<Value>,
    /// Metadata only the admin API sees.
    pub metadata_admin: Option<Value>,
    /// A unique id in an external system.
    pub external_id: Option<String>,
    /// The organization it belongs to.
    pub organization_id: Option<Uuid>,
    /// The highest assurance level its credentials reach, as last stored
    /// (the identity service derives it from the credentials and the
    /// config on every write).
    pub available_aal: crate::aal::Aal,
    /// Its credentials by type.
    pub credentials: BTreeMap<CredentialType, Credential>,
    /// Addresses that can be verified.
    pub verifiable_addresses: Vec<VerifiableAddress>,
    /// Addresses usable for recovery.
    pub recovery_addresses: Vec<RecoveryAddress>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Identity {
    /// A new active identity of this schema with these traits and nothing
    /// else (no credentials, addresses or metadata), created at `now`.
    pub fn new(schema_id: String, traits: Value, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::new_v4(),
            schema_id,
            traits,
            state: State::Active,
            state_changed_at: Some(now),
            metadata_public: None,
            metadata_admin: None,
            external_id: None,
            organization_id: None,
            available_aal: crate::aal::Aal::Aal1,
            credentials: BTreeMap::new(),
            verifiable_addresses: Vec::new(),
            recovery_addresses: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }
}
