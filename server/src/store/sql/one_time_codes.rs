//! The SQL one-time secret store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::decode::{self, ONE_TIME_CODE_COLUMNS};
use super::{Database, insert_statement, safe};
use crate::onetime::{OneTimeCode, Purpose};
use crate::store::{OneTimeCodeStore, StoreError};
use crate::time;

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlOneTimeCodeStore {
    db: Database,
}

impl SqlOneTimeCodeStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl OneTimeCodeStore for SqlOneTimeCodeStore {
    async fn create(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        let sql = self.db.sql(&insert_statement(
            "selfservice_one_time_codes",
            &ONE_TIME_CODE_COLUMNS,
        ));
        sqlx::query(safe(&sql))
            .bind(code.id.to_string())
            .bind(code.flow_id.to_string())
            .bind(code.purpose.as_str())
            .bind(code.delivery.as_str())
            .bind(code.digest.clone())
            .bind(code.address_via.clone())
            .bind(code.address.clone())
            .bind(code.identity_id.map(|id| id.to_string()))
            .bind(i64::from(code.attempts))
            .bind(code.used_at.map(time::format))
            .bind(time::format(code.expires_at))
            .bind(time::format(code.created_at))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn live_for_flow(
        &self,
        flow_id: Uuid,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Vec<OneTimeCode>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {} FROM selfservice_one_time_codes \
             WHERE flow_id = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? \
             ORDER BY created_at DESC LIMIT 16",
            ONE_TIME_CODE_COLUMNS.join(", ")
        ));
        let rows = sqlx::query(safe(&sql))
            .bind(flow_id.to_string())
            .bind(purpose.as_str())
            .bind(time::format(now))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(decode::one_time_code).collect()
    }

    async fn mark_used(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = self.db.sql(
            "UPDATE selfservice_one_time_codes SET used_at = ? WHERE id = ? AND used_at IS NULL",
        );
        let result = sqlx::query(safe(&sql))
            .bind(time::format(now))
            .bind(id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn count_failure(&self, flow_id: Uuid) -> Result<u32, StoreError> {
        let update = self.db.sql(
            "UPDATE selfservice_one_time_codes SET attempts = attempts + 1 \
             WHERE flow_id = ? AND used_at IS NULL",
        );
        sqlx::query(safe(&update))
            .bind(flow_id.to_string())
            .execute(self.db.pool())
            .await?;
        let select = self.db.sql(
            "SELECT COALESCE(MAX(attempts), 0) AS attempts FROM selfservice_one_time_codes \
             WHERE flow_id = ?",
        );
        let row = sqlx::query(safe(&select))
            .bind(flow_id.to_string())
            .fetch_one(self.db.pool())
            .await?;
        decode::count(&row, "attempts")
    }

    async fn void_flow(&self, flow_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "UPDATE selfservice_one_time_codes SET used_at = ? \
             WHERE flow_id = ? AND used_at IS NULL",
        );
        sqlx::query(safe(&sql))
            .bind(time::format(now))
            .bind(flow_id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
