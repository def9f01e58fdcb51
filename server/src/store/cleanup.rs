//! The seam for removing rows that nothing will read again: expired flows,
//! old error records, expired sessions and session token exchanges (`bia cleanup sql`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// What a cleanup removes, each by its own instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Self-service flows whose `expires_at` lies before the cut-off.
    Flows,
    /// Error records for the error page created before the cut-off.
    Errors,
    /// Sessions whose `expires_at` lies before the cut-off.
    Sessions,
    /// Session token exchanges whose `expires_at` lies before the cut-off.
    TokenExchanges,
}

impl Expired {
    /// Every kind, in the order a cleanup runs them.
    pub const ALL: [Expired; 4] = [
        Expired::Flows,
        Expired::Errors,
        Expired::Sessions,
        Expired::TokenExchanges,
    ];

    /// A name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Expired::Flows => "flows",
            Expired::Errors => "errors",
            Expired::Sessions => "sessions",
            Expired::TokenExchanges => "token_exchanges",
        }
    }
}

/// Deletion of expired rows in small batches, so a cleanup never holds long locks.
#[async_trait]
pub trait CleanupStore: Send + Sync {
    /// Deletes at most `batch` rows of this kind that expired before `before`;
    /// returns how many it deleted (fewer than `batch` means none are left).
    async fn delete_expired(
        &self,
        kind: Expired,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError>;
}
