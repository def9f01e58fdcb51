//! The one-time secret store's seam: digests of recovery and verification
//! codes and link tokens, per flow.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::onetime::{OneTimeCode, Purpose};

/// Persistence of one-time secrets.
#[async_trait]
pub trait OneTimeCodeStore: Send + Sync {
    /// Stores a new secret's digest.
    async fn create(&self, code: &OneTimeCode) -> Result<(), StoreError>;
    /// The flow's secrets for `purpose` that are unused and unexpired at `now`.
    async fn live_for_flow(
        &self,
        flow_id: Uuid,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Vec<OneTimeCode>, StoreError>;
    /// Marks a secret used; false when it was used already (by a concurrent
    /// submission), so a secret is redeemed at most once.
    async fn mark_used(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Counts a wrong guess against the flow's unused secrets and returns
    /// the flow's count.
    async fn count_failure(&self, flow_id: Uuid) -> Result<u32, StoreError>;
    /// Marks every unused secret of the flow used.
    async fn void_flow(&self, flow_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
}
