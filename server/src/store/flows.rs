//! The self-service flow store: one table for every flow kind, and the error
//! flows shown to browsers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::identities::{get_opt_text, get_text, get_time, parse_uuid};
use super::sessions::get_i64;
use super::{Database, StoreError, safe};
use crate::flow::ui::Ui;
use crate::flow::{ErrorFlow, Flow, FlowKind, FlowType};
use crate::time;

/// Persistence of self-service flows.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Inserts a new flow.
    async fn create(&self, flow: &Flow) -> Result<(), StoreError>;
    /// Reads a flow of a kind.
    async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Option<Flow>, StoreError>;
    /// Saves a flow's state and form.
    async fn update(&self, flow: &Flow) -> Result<(), StoreError>;
    /// Stores an error flow.
    async fn create_error(&self, error: &ErrorFlow) -> Result<(), StoreError>;
    /// Reads an error flow.
    async fn get_error(&self, id: Uuid) -> Result<Option<ErrorFlow>, StoreError>;
}

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlFlowStore {
    db: Database,
}

impl SqlFlowStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn ui_text(ui: &Ui) -> Result<String, StoreError> {
    serde_json::to_string(ui).map_err(|e| StoreError::Corrupt(format!("ui: {e}")))
}

#[async_trait]
impl FlowStore for SqlFlowStore {
    async fn create(&self, flow: &Flow) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "INSERT INTO selfservice_flows (id, kind, flow_type, state, request_url, return_to, \
             refresh, csrf_token, identity_id, ui, issued_at, expires_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        sqlx::query(safe(&sql))
            .bind(flow.id.to_string())
            .bind(flow.kind.as_str())
            .bind(flow.flow_type.as_str())
            .bind(flow.state.clone())
            .bind(flow.request_url.clone())
            .bind(flow.return_to.clone())
            .bind(i64::from(flow.refresh))
            .bind(flow.csrf_token.clone())
            .bind(flow.identity_id.map(|id| id.to_string()))
            .bind(ui_text(&flow.ui)?)
            .bind(time::format(flow.issued_at))
            .bind(time::format(flow.expires_at))
            .bind(time::format(flow.issued_at))
            .bind(time::format(flow.updated_at))
            .execute(self.db.pool())
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Option<Flow>, StoreError> {
        let sql = self.db.sql(
            "SELECT id, kind, flow_type, state, request_url, return_to, refresh, csrf_token, \
             identity_id, ui, issued_at, expires_at, updated_at \
             FROM selfservice_flows WHERE id = ? AND kind = ?",
        );
        let row = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .bind(kind.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    async fn update(&self, flow: &Flow) -> Result<(), StoreError> {
        let sql = self
            .db
            .sql("UPDATE selfservice_flows SET state = ?, ui = ?, updated_at = ? WHERE id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(flow.state.clone())
            .bind(ui_text(&flow.ui)?)
            .bind(time::format(flow.updated_at))
            .bind(flow.id.to_string())
            .execute(self.db.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_error(&self, error: &ErrorFlow) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "INSERT INTO selfservice_errors (id, error, created_at, updated_at) \
             VALUES (?, ?, ?, ?)",
        );
        sqlx::query(safe(&sql))
            .bind(error.id.to_string())
            .bind(error.error.to_string())
            .bind(time::format(error.created_at))
            .bind(time::format(error.created_at))
            .execute(self.db.pool())
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn get_error(&self, id: Uuid) -> Result<Option<ErrorFlow>, StoreError> {
        let sql = self
            .db
            .sql("SELECT id, error, created_at FROM selfservice_errors WHERE id = ?");
        let row = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref()
            .map(|row| {
                let text = get_text(row, "error")?;
                let created_at: DateTime<Utc> = get_time(row, "created_at")?;
                Ok(ErrorFlow {
                    id: parse_uuid(row, "id")?,
                    error: serde_json::from_str::<Value>(&text)
                        .map_err(|e| StoreError::Corrupt(format!("error: {e}")))?,
                    created_at,
                })
            })
            .transpose()
    }
}

fn flow_from_row(row: &AnyRow) -> Result<Flow, StoreError> {
    let kind = get_text(row, "kind")?;
    let flow_type = get_text(row, "flow_type")?;
    let ui = get_text(row, "ui")?;
    let identity_id = get_opt_text(row, "identity_id")?
        .map(|text| {
            Uuid::parse_str(&text).map_err(|e| StoreError::Corrupt(format!("identity_id: {e}")))
        })
        .transpose()?;
    Ok(Flow {
        id: parse_uuid(row, "id")?,
        kind: FlowKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("kind: {kind}")))?,
        flow_type: FlowType::parse(&flow_type)
            .ok_or_else(|| StoreError::Corrupt(format!("flow_type: {flow_type}")))?,
        state: get_text(row, "state")?,
        request_url: get_text(row, "request_url")?,
        return_to: get_opt_text(row, "return_to")?,
        refresh: get_i64(row, "refresh")? != 0,
        csrf_token: get_text(row, "csrf_token")?,
        identity_id,
        identity: None,
        ui: serde_json::from_str(&ui).map_err(|e| StoreError::Corrupt(format!("ui: {e}")))?,
        issued_at: get_time(row, "issued_at")?,
        expires_at: get_time(row, "expires_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}
