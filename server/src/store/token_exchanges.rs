//! The seam for session token exchanges: what a native app's browser sign-in
//! leaves for the app to redeem, kept as digests of its two codes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;

/// One exchange, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenExchange {
    /// Its id.
    pub id: Uuid,
    /// The API flow it was started with.
    pub flow_id: Uuid,
    /// The digest of the code the app got with the flow.
    pub init_code_digest: String,
    /// The digest of the code the browser is sent back with, once the flow completed.
    pub return_to_code_digest: Option<String>,
    /// The session the flow created, once it completed.
    pub session_id: Option<Uuid>,
    /// When it can no longer be redeemed.
    pub expires_at: DateTime<Utc>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
}

/// Persistence of session token exchanges.
#[async_trait]
pub trait TokenExchangeStore: Send + Sync {
    /// Stores a new exchange.
    async fn create(&self, exchange: &TokenExchange) -> Result<(), StoreError>;
    /// Binds the unbound exchange of a flow to its session and return-to
    /// code digest; false when the flow has no exchange left to bind.
    async fn bind(
        &self,
        flow_id: Uuid,
        session_id: Uuid,
        return_to_code_digest: &str,
    ) -> Result<bool, StoreError>;
    /// Removes the bound, unexpired exchange with both digests and returns
    /// its session id; none when there is no such exchange (or a concurrent
    /// redemption took it first).
    async fn redeem(
        &self,
        init_code_digest: &str,
        return_to_code_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError>;
    /// Whether the flow has an exchange waiting for its session.
    async fn pending_for_flow(&self, flow_id: Uuid) -> Result<bool, StoreError>;
}
