//! The identity store's seam: one aggregate (identity, credentials,
//! identifiers, addresses) written and read as a whole.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{CredentialType, Identity};

/// Which of an identity's addresses a lookup searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Addresses that can be verified.
    Verifiable,
    /// Addresses recovery messages go to.
    Recovery,
}

/// Filters and paging for listing identities.
#[derive(Debug, Clone, Default)]
pub struct IdentityQuery {
    /// At most this many identities.
    pub page_size: u32,
    /// Keyset paging: only identities whose id sorts after this one.
    pub after: Option<Uuid>,
    /// Legacy paging: skip this many identities.
    pub offset: Option<u64>,
    /// Only these ids (no paging).
    pub ids: Vec<Uuid>,
    /// Only identities with a credential identifier equal to one of these
    /// (none: no such filter).
    pub credentials_identifiers: Vec<String>,
    /// Only identities with a credential identifier containing this.
    pub identifier_similar: Option<String>,
    /// Only identities of this organization.
    pub organization_id: Option<Uuid>,
    /// Only identities on this schema.
    pub schema_id: Option<String>,
}

/// One page of identities.
#[derive(Debug, Clone, Default)]
pub struct IdentityPage {
    /// The identities, ordered by id.
    pub identities: Vec<Identity>,
    /// Whether more identities follow the last one.
    pub has_more: bool,
}

/// Persistence of identities.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Inserts a new identity with all it holds. Fails with `Conflict` when an
    /// identifier, address or external id is taken.
    async fn create(&self, identity: &Identity) -> Result<(), StoreError>;
    /// Replaces a stored identity with this one.
    async fn update(&self, identity: &Identity) -> Result<(), StoreError>;
    /// Reads one identity.
    async fn get(&self, id: Uuid) -> Result<Option<Identity>, StoreError>;
    /// Reads one identity by its external id.
    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Identity>, StoreError>;
    /// Finds the identity owning a credential identifier of a type.
    async fn find_by_identifier(
        &self,
        kind: CredentialType,
        identifier: &str,
    ) -> Result<Option<Identity>, StoreError>;
    /// Finds the identity owning an address (`via` `email` or `sms`, the
    /// value normalised).
    async fn find_by_address(
        &self,
        kind: AddressKind,
        via: &str,
        value: &str,
    ) -> Result<Option<Identity>, StoreError>;
    /// Lists identities.
    async fn list(&self, query: &IdentityQuery) -> Result<IdentityPage, StoreError>;
    /// Deletes an identity and everything it holds. False when it did not exist.
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Counts all identities.
    async fn count(&self) -> Result<u64, StoreError>;
    /// Counts the identities on a schema, only those sorting after `after`
    /// when given.
    async fn count_on_schema(
        &self,
        schema_id: &str,
        after: Option<Uuid>,
    ) -> Result<u64, StoreError>;
    /// Replaces `expected` with `identity` (same id) in one transaction, but
    /// only while the stored identity still is `expected`: the same schema
    /// id, `updated_at`, addresses and credential configs. False, with
    /// nothing written, when it changed in between; of concurrent callers
    /// expecting the same identity, one wins.
    async fn update_if_unchanged(
        &self,
        expected: &Identity,
        identity: &Identity,
    ) -> Result<bool, StoreError>;
    /// Replaces the config of one credential of an identity, but only while
    /// it still is `expected`: of concurrent callers expecting the same
    /// config, one wins (a used one-time secret is never accepted twice).
    /// False when the config was no longer `expected`.
    async fn swap_credential_config(&self, swap: &ConfigSwap<'_>) -> Result<bool, StoreError>;
}

/// A change of one credential's config that holds only while the config
/// still is `expected` ([`IdentityStore::swap_credential_config`]).
pub struct ConfigSwap<'a> {
    /// The identity holding the credential.
    pub identity_id: Uuid,
    /// The credential's type.
    pub kind: CredentialType,
    /// The config as read.
    pub expected: &'a Value,
    /// The config to store.
    pub new: &'a Value,
    /// The time of the change.
    pub now: DateTime<Utc>,
}
