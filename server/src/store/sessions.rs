//! The session store. Devices and authentication methods are kept as JSON text
//! on the session row, so the token lookup (`whoami`, see [`super::whoami`])
//! is one statement returning one row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::identities::{get_json, get_text, get_time, parse_uuid};
use super::whoami::{self, parse_devices, parse_methods};
use super::{Database, StoreError, placeholders, safe};
use crate::session::{AuthMethod, Device, Session};
use crate::time;

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
    /// Records a re-authentication: methods, authentication time and expiry.
    async fn reauthenticate(&self, session: &Session) -> Result<(), StoreError>;
    /// Disables (`delete` false) or deletes the sessions with these ids, or
    /// of these identities (`by_identity`); returns how many rows changed.
    async fn manage(
        &self,
        ids: &[Uuid],
        by_identity: bool,
        delete: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Up to `limit` session ids, active ones only when `active_only`.
    async fn some_ids(&self, active_only: bool, limit: u32) -> Result<Vec<Uuid>, StoreError>;
}

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlSessionStore {
    db: Database,
    whoami_sql: String,
}

impl SqlSessionStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        let whoami_sql = db.sql(whoami::WHOAMI_SQL);
        Self { db, whoami_sql }
    }
}

const SESSION_COLUMNS: &str = "id, identity_id, token_hash, active, aal, authentication_methods, \
     devices, issued_at, authenticated_at, expires_at";

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let sql = self.db.sql(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ));
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
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn find_by_token(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        if let Some(direct) = self.db.direct() {
            match direct.whoami(&self.whoami_sql, token_hash) {
                Ok(row) => {
                    return row
                        .map(|row| whoami::session_from_row(row, token_hash))
                        .transpose();
                }
                Err(error) => {
                    tracing::debug!(%error, "direct session lookup failed; asking the pool")
                }
            }
        }
        let row = sqlx::query(safe(&self.whoami_sql))
            .bind(token_hash.to_owned())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| whoami::session_from_row(whoami_row(&row)?, token_hash))
            .transpose()
    }

    async fn get(&self, id: Uuid) -> Result<Option<Session>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?"
        ));
        let row = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn list(&self, query: &SessionQuery) -> Result<SessionPage, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(identity) = query.identity_id {
            conditions.push("identity_id = ?");
            binds.push(identity.to_string());
        }
        if let Some(after) = query.after {
            conditions.push("id > ?");
            binds.push(after.to_string());
        }
        if let Some(except) = query.except {
            conditions.push("id <> ?");
            binds.push(except.to_string());
        }
        match query.active {
            Some(true) => conditions.push("active = 1"),
            Some(false) => conditions.push("active = 0"),
            None => {}
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = u64::from(query.page_size.max(1)) + 1;
        let sql = self.db.sql(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions {filter} ORDER BY id LIMIT {limit}"
        ));
        let mut statement = sqlx::query(safe(&sql));
        for value in binds {
            statement = statement.bind(value);
        }
        let rows = statement.fetch_all(self.db.pool()).await?;
        let has_more = rows.len() as u64 == limit;
        let sessions = rows
            .iter()
            .take(query.page_size.max(1) as usize)
            .map(session_from_row)
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
            "UPDATE sessions SET authentication_methods = ?, authenticated_at = ?, \
             expires_at = ?, updated_at = ? WHERE id = ? AND active = 1",
        );
        let result = sqlx::query(safe(&sql))
            .bind(methods_text(&session.methods))
            .bind(time::format(session.authenticated_at))
            .bind(time::format(session.expires_at))
            .bind(time::format(session.authenticated_at))
            .bind(session.id.to_string())
            .execute(self.db.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn manage(
        &self,
        ids: &[Uuid],
        by_identity: bool,
        delete: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
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
        rows.iter().map(|row| parse_uuid(row, "id")).collect()
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

pub(super) fn get_i64(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// The lookup's row as the driver returns it.
fn whoami_row(row: &AnyRow) -> Result<whoami::WhoamiRow, StoreError> {
    let text = (0..whoami::TEXT_COLUMNS)
        .map(|i| {
            row.try_get::<Option<String>, _>(i)
                .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let active = row
        .try_get::<i64, _>(whoami::TEXT_COLUMNS)
        .map_err(|e| StoreError::Corrupt(format!("active: {e}")))?;
    Ok(whoami::WhoamiRow { text, active })
}

fn session_from_row(row: &AnyRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: parse_uuid(row, "id")?,
        identity_id: parse_uuid(row, "identity_id")?,
        token_hash: get_text(row, "token_hash")?,
        active: get_i64(row, "active")? != 0,
        aal: get_text(row, "aal")?,
        methods: parse_methods(get_json(row, "authentication_methods")?)?,
        devices: parse_devices(get_json(row, "devices")?)?,
        issued_at: get_time(row, "issued_at")?,
        authenticated_at: get_time(row, "authenticated_at")?,
        expires_at: get_time(row, "expires_at")?,
        identity: None,
    })
}
