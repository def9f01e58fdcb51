//! The session store. Devices and authentication methods are kept as JSON text
//! on the session row, so the token lookup (`whoami`) is one statement: the
//! session joined with its identity, and the identity's addresses appended as
//! further rows of the same `UNION ALL`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::identities::{get_json, get_opt_text, get_opt_time, get_text, get_time, parse_uuid};
use super::{Database, StoreError, placeholders, safe};
use crate::identity::{Identity, RecoveryAddress, State, VerifiableAddress};
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
}

impl SqlSessionStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

const SESSION_COLUMNS: &str = "id, identity_id, token_hash, active, aal, authentication_methods, \
     devices, issued_at, authenticated_at, expires_at";

/// The token lookup: one row `s` (session and identity), then one row per
/// verifiable (`v`) and recovery (`r`) address of that identity.
const WHOAMI_SQL: &str = "\
SELECT 's' AS kind, s.id AS c1, s.identity_id AS c2, s.aal AS c3, s.authentication_methods AS c4, \
  s.devices AS c5, s.issued_at AS c6, s.authenticated_at AS c7, s.expires_at AS c8, \
  i.schema_id AS c9, i.traits AS c10, i.state AS c11, i.state_changed_at AS c12, \
  i.metadata_public AS c13, i.external_id AS c14, i.organization_id AS c15, \
  i.created_at AS c16, i.updated_at AS c17, s.active AS n1 \
FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = ? \
UNION ALL \
SELECT 'v', a.id, a.identity_id, a.via, a.value, a.status, a.verified_at, a.created_at, a.updated_at, \
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, a.verified \
FROM identity_verifiable_addresses a JOIN sessions s ON s.identity_id = a.identity_id WHERE s.token_hash = ? \
UNION ALL \
SELECT 'r', a.id, a.identity_id, a.via, a.value, NULL, NULL, a.created_at, a.updated_at, \
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 \
FROM identity_recovery_addresses a JOIN sessions s ON s.identity_id = a.identity_id WHERE s.token_hash = ?";

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
        let sql = self.db.sql(WHOAMI_SQL);
        let rows = sqlx::query(safe(&sql))
            .bind(token_hash.to_owned())
            .bind(token_hash.to_owned())
            .bind(token_hash.to_owned())
            .fetch_all(self.db.pool())
            .await?;
        whoami_from_rows(&rows, token_hash)
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

fn parse_methods(value: Option<Value>) -> Result<Vec<AuthMethod>, StoreError> {
    let corrupt = || StoreError::Corrupt("authentication_methods".into());
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|m| {
            let text = |k: &str| m.get(k).and_then(Value::as_str).ok_or_else(corrupt);
            Ok(AuthMethod {
                method: text("method")?.to_owned(),
                aal: text("aal")?.to_owned(),
                completed_at: time::parse(text("completed_at")?).ok_or_else(corrupt)?,
            })
        })
        .collect()
}

fn parse_devices(value: Option<Value>) -> Result<Vec<Device>, StoreError> {
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|d| {
            let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(Device {
                id: text("id")
                    .and_then(|i| Uuid::parse_str(&i).ok())
                    .ok_or_else(|| StoreError::Corrupt("devices".into()))?,
                ip_address: text("ip_address"),
                user_agent: text("user_agent"),
                location: text("location"),
            })
        })
        .collect()
}

pub(super) fn get_i64(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
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

fn whoami_from_rows(rows: &[AnyRow], token_hash: &str) -> Result<Option<Session>, StoreError> {
    let Some(head) = rows
        .iter()
        .find(|r| get_text(r, "kind").is_ok_and(|k| k == "s"))
    else {
        return Ok(None);
    };
    let identity_id = parse_uuid(head, "c2")?;
    let state = get_text(head, "c11")?;
    let mut identity = Identity {
        id: identity_id,
        schema_id: get_text(head, "c9")?,
        traits: get_json(head, "c10")?.unwrap_or(Value::Null),
        state: state.parse::<State>().map_err(StoreError::Corrupt)?,
        state_changed_at: get_opt_time(head, "c12")?,
        metadata_public: get_json(head, "c13")?,
        metadata_admin: None,
        external_id: get_opt_text(head, "c14")?,
        organization_id: get_opt_text(head, "c15")?
            .map(|o| Uuid::parse_str(&o))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("organization_id: {e}")))?,
        credentials: BTreeMap::new(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        created_at: get_time(head, "c16")?,
        updated_at: get_time(head, "c17")?,
    };
    for row in rows {
        match get_text(row, "kind")?.as_str() {
            "v" => identity.verifiable_addresses.push(VerifiableAddress {
                id: parse_uuid(row, "c1")?,
                via: get_text(row, "c3")?,
                value: get_text(row, "c4")?,
                status: get_text(row, "c5")?,
                verified_at: get_opt_time(row, "c6")?,
                created_at: get_time(row, "c7")?,
                updated_at: get_time(row, "c8")?,
                verified: get_i64(row, "n1")? != 0,
            }),
            "r" => identity.recovery_addresses.push(RecoveryAddress {
                id: parse_uuid(row, "c1")?,
                via: get_text(row, "c3")?,
                value: get_text(row, "c4")?,
                created_at: get_time(row, "c7")?,
                updated_at: get_time(row, "c8")?,
            }),
            _ => {}
        }
    }
    identity
        .verifiable_addresses
        .sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    identity
        .recovery_addresses
        .sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    Ok(Some(Session {
        id: parse_uuid(head, "c1")?,
        identity_id,
        token_hash: token_hash.to_owned(),
        active: get_i64(head, "n1")? != 0,
        aal: get_text(head, "c3")?,
        methods: parse_methods(get_json(head, "c4")?)?,
        devices: parse_devices(get_json(head, "c5")?)?,
        issued_at: get_time(head, "c6")?,
        authenticated_at: get_time(head, "c7")?,
        expires_at: get_time(head, "c8")?,
        identity: Some(identity),
    }))
}
