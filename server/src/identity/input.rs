//! What callers hand the identity service: new identities, replacements and
//! imported credentials, already parsed from the wire.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::{CredentialType, State};

/// A password to import: clear text, or a hash in a supported format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PasswordImport {
    /// Clear text, hashed with the configured hasher before it is stored.
    pub password: Option<String>,
    /// An existing hash in one of the supported formats.
    pub hashed_password: Option<String>,
    /// Verify on first login through the password migration hook.
    pub use_password_migration_hook: bool,
}

/// A link to a social or SAML provider account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLink {
    /// Provider id from the configuration.
    pub provider: String,
    /// The account's subject at the provider.
    pub subject: String,
    /// Organization the provider belongs to.
    pub organization: Option<String>,
}

/// Credentials to import with an identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CredentialsImport {
    /// A password.
    pub password: Option<PasswordImport>,
    /// OpenID Connect provider links.
    pub oidc: Vec<ProviderLink>,
    /// SAML provider links.
    pub saml: Vec<ProviderLink>,
    /// Other credential types whose configuration is stored as given.
    pub raw: BTreeMap<CredentialType, Value>,
}

/// An address given with an identity, to carry its verification state.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressImport {
    /// The address.
    pub value: String,
    /// `email` or `sms`.
    pub via: String,
    /// Whether it is verified (verifiable addresses only).
    pub verified: bool,
    /// Its status (verifiable addresses only).
    pub status: Option<String>,
}

/// Everything that makes up an identity as an admin writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityDraft {
    /// Schema id; the default schema when absent.
    pub schema_id: Option<String>,
    /// Traits, validated against the schema.
    pub traits: Value,
    /// State; active when absent on create.
    pub state: Option<State>,
    /// Public metadata.
    pub metadata_public: Option<Value>,
    /// Admin metadata.
    pub metadata_admin: Option<Value>,
    /// External id.
    pub external_id: Option<String>,
    /// Organization.
    pub organization_id: Option<Uuid>,
    /// Credentials to import.
    pub credentials: CredentialsImport,
    /// Verifiable addresses with their state.
    pub verifiable_addresses: Vec<AddressImport>,
    /// Recovery addresses.
    pub recovery_addresses: Vec<AddressImport>,
}
