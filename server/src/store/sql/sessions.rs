//! The SQL session store. Devices and authentication methods are kept as JSON
//! text on the session row, so the token lookup (`whoami`, see
//! [`super::whoami`]) is one statement returning one row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::decode::{self, SESSION_COLUMNS};
use super::page::{Filter, PageSpec};
use super::rows::Row;
use super::{Database, changed_a_row, insert_statement, placeholders, safe, whoami};
use crate::session::{AuthMethod, Device, Session};
use crate::store::{BulkChange, SessionPage, SessionQuery, SessionStore, StoreError};
use crate::time;

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlSessionStore {
    db: Database,
    whoami_sql: String,
}

impl SqlSessionStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        let whoami_sql = db.sql(&whoami::statement());
        Self { db, whoami_sql }
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let columns = [&SESSION_COLUMNS[..], &["created_at", "updated_at"]].concat();
        let sql = self.db.sql(&insert_statement("sessions", &columns));
        sqlx::query(safe(&sql))
            .bind(session.id.to_string())
            .bind(session.identity_id.to_string())
            .bind(session.token_hash.clone())
            .bind(i64::from(session.active))
            .bind(session.aal.clone())
            .bind(methods_text(&session.methods))
            .bind(devices_text(&session.devices))
            .bind(time::format(session.issued_at))
            .bind(time::format(session.authenticated_at))
            .bind(time::format(session.expires_at))
            .bind(time::format(session.issued_at))
            .bind(time::format(session.issued_at))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn find_by_token(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        if let Some(direct) = self.db.direct() {
            match direct.query_row(&self.whoami_sql, token_hash, &whoami::COLUMNS) {
                Ok(row) => return row.as_ref().map(whoami::session_from_row).transpose(),
                Err(error) => {
                    tracing::debug!(%error, "direct session lookup failed; asking the pool")
                }
            }
        }
        let row = sqlx::query(safe(&self.whoami_sql))
            .bind(token_hash.to_owned())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(whoami::session_from_row).transpose()
    }

    async fn get(&self, id: Uuid) -> Result<Option<Session>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {} FROM sessions WHERE id = ?",
            SESSION_COLUMNS.join(", ")
        ));
        let row = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(decode::session).transpose()
    }

    async fn list(&self, query: &SessionQuery) -> Result<SessionPage, StoreError> {
        let mut filter = Filter::default();
        if let Some(identity) = query.identity_id {
            filter.and("identity_id = ?", [identity.to_string()]);
        }
        if let Some(after) = query.after {
            filter.and("id > ?", [after.to_string()]);
        }
        if let Some(except) = query.except {
            filter.and("id <> ?", [except.to_string()]);
        }
        if let Some(active) = query.active {
            filter.and(format!("active = {}", i64::from(active)), []);
        }
        let spec = PageSpec {
            size: query.page_size,
            offset: None,
        };
        let (rows, has_more) = self
            .db
            .page("sessions", &SESSION_COLUMNS, filter, spec)
            .await?;
        let sessions = rows
            .iter()
            .map(decode::session)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionPage { sessions, has_more })
    }

    async fn deactivate(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = self
            .db
            .sql("UPDATE sessions SET active = 0, updated_at = ? WHERE id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(time::format(now))
            .bind(id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() > 0 || self.get(id).await?.is_some())
    }

    async fn deactivate_for_identity(
        &self,
        identity_id: Uuid,
        except: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = self.db.sql(
            "UPDATE sessions SET active = 0, updated_at = ? \
             WHERE identity_id = ? AND active = 1 AND id <> ?",
        );
        let result = sqlx::query(safe(&sql))
            .bind(time::format(now))
            .bind(identity_id.to_string())
            .bind(except.map(|e| e.to_string()).unwrap_or_default())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected())
    }

    async fn set_expiry(
        &self,
        id: Uuid,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = self
            .db
            .sql("UPDATE sessions SET expires_at = ?, updated_at = ? WHERE id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(time::format(expires_at))
            .bind(time::format(now))
            .bind(id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() > 0 || self.get(id).await?.is_some())
    }

    async fn reauthenticate(&self, session: &Session) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "UPDATE sessions SET aal = ?, authentication_methods = ?, authenticated_at = ?, \
             expires_at = ?, updated_at = ? WHERE id = ? AND active = 1",
        );
        let result = sqlx::query(safe(&sql))
            .bind(session.aal.clone())
            .bind(methods_text(&session.methods))
            .bind(time::format(session.authenticated_at))
            .bind(time::format(session.expires_at))
            .bind(time::format(session.authenticated_at))
            .bind(session.id.to_string())
            .execute(self.db.pool())
            .await?;
        changed_a_row(&result)
    }

    async fn replace_token(&self, id: Uuid, token_hash: &str) -> Result<bool, StoreError> {
        let sql = self
            .db
            .sql("UPDATE sessions SET token_hash = ? WHERE id = ? AND active = 1");
        let result = sqlx::query(safe(&sql))
            .bind(token_hash.to_owned())
            .bind(id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn manage(&self, change: &BulkChange<'_>) -> Result<u64, StoreError> {
        let BulkChange {
            ids,
            by_identity,
            delete,
            now,
        } = *change;
        if ids.is_empty() {
            return Ok(0);
        }
        let column = if by_identity { "identity_id" } else { "id" };
        let list = placeholders(ids.len());
        let sql = if delete {
            self.db
                .sql(&format!("DELETE FROM sessions WHERE {column} IN ({list})"))
        } else {
            self.db.sql(&format!(
                "UPDATE sessions SET active = 0, updated_at = ? WHERE active = 1 AND {column} IN ({list})"
            ))
        };
        let mut query = sqlx::query(safe(&sql));
        if !delete {
            query = query.bind(time::format(now));
        }
        for id in ids {
            query = query.bind(id.to_string());
        }
        Ok(query.execute(self.db.pool()).await?.rows_affected())
    }

    async fn some_ids(&self, active_only: bool, limit: u32) -> Result<Vec<Uuid>, StoreError> {
        let filter = if active_only { "WHERE active = 1 " } else { "" };
        let sql = self.db.sql(&format!(
            "SELECT id FROM sessions {filter}ORDER BY id LIMIT ?"
        ));
        let rows = sqlx::query(safe(&sql))
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|row| row.uuid("id")).collect()
    }

    async fn delete_for_identity(&self, identity_id: Uuid) -> Result<u64, StoreError> {
        let sql = self.db.sql("DELETE FROM sessions WHERE identity_id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(identity_id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected())
    }
}

fn methods_text(methods: &[AuthMethod]) -> String {
    Value::Array(
        methods
            .iter()
            .map(|m| {
                json!({
                    "method": m.method,
                    "aal": m.aal,
                    "completed_at": time::format(m.completed_at),
                })
            })
            .collect(),
    )
    .to_string()
}

fn devices_text(devices: &[Device]) -> String {
    Value::Array(
        devices
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "ip_address": d.ip_address,
                    "user_agent": d.user_agent,
                    "location": d.location,
                })
            })
            .collect(),
    )
    .to_string()
}
