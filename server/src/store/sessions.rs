//! The session store's seam.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::session::Session;

/// Filters and paging for listing sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// At most this many sessions.
    pub page_size: u32,
    /// Keyset paging: only sessions whose id sorts after this one.
    pub after: Option<Uuid>,
    /// Only sessions of this identity.
    pub identity_id: Option<Uuid>,
    /// Only active (true) or inactive (false) sessions.
    pub active: Option<bool>,
    /// Leave this session out.
    pub except: Option<Uuid>,
}

/// One page of sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionPage {
    /// The sessions, ordered by id.
    pub sessions: Vec<Session>,
    /// Whether more sessions follow the last one.
    pub has_more: bool,
}

/// Persistence of sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a new session.
    async fn create(&self, session: &Session) -> Result<(), StoreError>;
    /// Reads the session with this token digest together with its identity
    /// (public parts: traits, state, public metadata and addresses), in one statement.
    async fn find_by_token(&self, token_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Reads one session (without its identity).
    async fn get(&self, id: Uuid) -> Result<Option<Session>, StoreError>;
    /// Lists sessions.
    async fn list(&self, query: &SessionQuery) -> Result<SessionPage, StoreError>;
    /// Marks a session inactive. False when it does not exist.
    async fn deactivate(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Marks every active session of an identity inactive, but one; returns how many.
    async fn deactivate_for_identity(
        &self,
        identity_id: Uuid,
        except: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Sets a session's expiry. False when it does not exist.
    async fn set_expiry(
        &self,
        id: Uuid,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Deletes every session of an identity; returns how many.
    async fn delete_for_identity(&self, identity_id: Uuid) -> Result<u64, StoreError>;
    /// Records a re-authentication: level, methods, authentication time and expiry.
    async fn reauthenticate(&self, session: &Session) -> Result<(), StoreError>;
    /// Disables (`delete` false) or deletes the sessions with these ids, or
    /// of these identities (`by_identity`); returns how many rows changed.
    async fn manage(&self, change: &BulkChange<'_>) -> Result<u64, StoreError>;
    /// Gives an active session a new token digest. False when there is no
    /// such active session.
    async fn replace_token(&self, id: Uuid, token_hash: &str) -> Result<bool, StoreError>;
    /// Up to `limit` session ids, active ones only when `active_only`.
    async fn some_ids(&self, active_only: bool, limit: u32) -> Result<Vec<Uuid>, StoreError>;
}

/// A change of many sessions at once ([`SessionStore::manage`]).
pub struct BulkChange<'a> {
    /// Session ids, or identity ids when `by_identity`.
    pub ids: &'a [Uuid],
    /// Whether `ids` name identities whose sessions all change.
    pub by_identity: bool,
    /// Delete the sessions (else disable them).
    pub delete: bool,
    /// The time of the change.
    pub now: DateTime<Utc>,
}
