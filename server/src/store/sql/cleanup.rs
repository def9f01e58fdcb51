//! Batched deletion of expired rows, written once for every backend: the ids
//! of one batch are read first, then deleted by id (MySQL and MariaDB refuse
//! `LIMIT` inside an `IN` subquery).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{Database, safe};
use crate::store::StoreError;
use crate::store::cleanup::{CleanupStore, Expired};
use crate::time;

/// The SQL implementation of [`CleanupStore`].
#[derive(Debug, Clone)]
pub struct SqlCleanupStore {
    db: Database,
}

impl SqlCleanupStore {
    /// A cleanup on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The table and the column holding the instant each kind expires by.
fn table_of(kind: Expired) -> (&'static str, &'static str) {
    match kind {
        Expired::Flows => ("selfservice_flows", "expires_at"),
        Expired::Errors => ("selfservice_errors", "created_at"),
        Expired::Sessions => ("sessions", "expires_at"),
        Expired::TokenExchanges => ("session_token_exchanges", "expires_at"),
    }
}

#[async_trait]
impl CleanupStore for SqlCleanupStore {
    async fn delete_expired(
        &self,
        kind: Expired,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let (table, column) = table_of(kind);
        let select = self.db.sql(&format!(
            "SELECT id FROM {table} WHERE {column} < ? ORDER BY {column} LIMIT ?"
        ));
        let rows = sqlx::query(safe(&select))
            .bind(time::format(before))
            .bind(i64::from(batch.max(1)))
            .fetch_all(self.db.pool())
            .await?;
        let ids = rows
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let delete = self
            .db
            .sql(&format!("DELETE FROM {table} WHERE id IN ({marks})"));
        let mut query = sqlx::query(safe(&delete));
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.execute(self.db.pool()).await?.rows_affected())
    }
}
