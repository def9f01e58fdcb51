//! The SQL flow store: one table for every flow kind, and the error flows
//! shown to browsers.

use async_trait::async_trait;
use uuid::Uuid;

use super::decode::{self, FLOW_COLUMNS};
use super::{Database, changed_a_row, safe};
use crate::flow::ui::Ui;
use crate::flow::{ErrorFlow, Flow, FlowKind};
use crate::store::{FlowStore, StoreError};
use crate::time;

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

/// The flow's internal context as stored (none when empty).
fn internal_text(flow: &Flow) -> Option<String> {
    (!flow.internal.is_empty())
        .then(|| serde_json::Value::Object(flow.internal.clone()).to_string())
}

#[async_trait]
impl FlowStore for SqlFlowStore {
    async fn create(&self, flow: &Flow) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "INSERT INTO selfservice_flows (id, kind, flow_type, state, request_url, return_to, \
             refresh, csrf_token, identity_id, ui, issued_at, expires_at, created_at, updated_at, \
             internal_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            .bind(internal_text(flow))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Option<Flow>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {} FROM selfservice_flows WHERE id = ? AND kind = ?",
            FLOW_COLUMNS.join(", ")
        ));
        let row = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .bind(kind.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(decode::flow).transpose()
    }

    async fn update(&self, flow: &Flow) -> Result<(), StoreError> {
        let sql = self
            .db
            .sql("UPDATE selfservice_flows SET state = ?, ui = ?, updated_at = ?, internal_context = ? WHERE id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(flow.state.clone())
            .bind(ui_text(&flow.ui)?)
            .bind(time::format(flow.updated_at))
            .bind(internal_text(flow))
            .bind(flow.id.to_string())
            .execute(self.db.pool())
            .await?;
        changed_a_row(&result)
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
            .await?;
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
        row.as_ref().map(decode::error_flow).transpose()
    }
}
