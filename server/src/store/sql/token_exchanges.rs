//! The SQL session token exchange store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use uuid::Uuid;

use super::{Database, insert_statement, safe};
use crate::store::{StoreError, TokenExchange, TokenExchangeStore};
use crate::time;

/// The columns of `session_token_exchanges`, in insertion order.
const COLUMNS: [&str; 7] = [
    "id",
    "flow_id",
    "init_code_digest",
    "return_to_code_digest",
    "session_id",
    "expires_at",
    "created_at",
];

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlTokenExchangeStore {
    db: Database,
}

impl SqlTokenExchangeStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl TokenExchangeStore for SqlTokenExchangeStore {
    async fn create(&self, exchange: &TokenExchange) -> Result<(), StoreError> {
        let sql = self
            .db
            .sql(&insert_statement("session_token_exchanges", &COLUMNS));
        sqlx::query(safe(&sql))
            .bind(exchange.id.to_string())
            .bind(exchange.flow_id.to_string())
            .bind(exchange.init_code_digest.clone())
            .bind(exchange.return_to_code_digest.clone())
            .bind(exchange.session_id.map(|id| id.to_string()))
            .bind(time::format(exchange.expires_at))
            .bind(time::format(exchange.created_at))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn bind(
        &self,
        flow_id: Uuid,
        session_id: Uuid,
        return_to_code_digest: &str,
    ) -> Result<bool, StoreError> {
        let sql = self.db.sql(
            "UPDATE session_token_exchanges SET session_id = ?, return_to_code_digest = ? \
             WHERE flow_id = ? AND session_id IS NULL",
        );
        let result = sqlx::query(safe(&sql))
            .bind(session_id.to_string())
            .bind(return_to_code_digest.to_owned())
            .bind(flow_id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn redeem(
        &self,
        init_code_digest: &str,
        return_to_code_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError> {
        let select = self.db.sql(
            "SELECT id, session_id FROM session_token_exchanges \
             WHERE init_code_digest = ? AND return_to_code_digest = ? \
             AND session_id IS NOT NULL AND expires_at > ?",
        );
        let row = sqlx::query(safe(&select))
            .bind(init_code_digest.to_owned())
            .bind(return_to_code_digest.to_owned())
            .bind(time::format(now))
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let session: String = row.try_get("session_id")?;
        let delete = self
            .db
            .sql("DELETE FROM session_token_exchanges WHERE id = ?");
        let deleted = sqlx::query(safe(&delete))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        if deleted.rows_affected() != 1 {
            return Ok(None);
        }
        Uuid::parse_str(&session)
            .map(Some)
            .map_err(|error| StoreError::Corrupt(error.to_string()))
    }

    async fn pending_for_flow(&self, flow_id: Uuid) -> Result<bool, StoreError> {
        let sql = self
            .db
            .sql("SELECT id FROM session_token_exchanges WHERE flow_id = ? AND session_id IS NULL");
        let row = sqlx::query(safe(&sql))
            .bind(flow_id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }
}
