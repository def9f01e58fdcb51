//! The SQL courier store. Claiming is one conditional `UPDATE` per
//! candidate, the same statement on every backend: it changes the row only
//! while the message is still due (queued and past its retry time, or its
//! lease ended), so when several workers race for a message the database
//! lets exactly one of them change it (PostgreSQL and InnoDB re-check the
//! condition on the row they waited for; SQLite writes one at a time), and
//! the count of changed rows tells each worker whether it won.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::decode::{self, COURIER_DISPATCH_COLUMNS, COURIER_MESSAGE_COLUMNS};
use super::page::{Filter, PageSpec};
use super::rows::Row;
use super::{Database, insert_statement, placeholders, safe};
use crate::courier::message::{Attempt, Dispatch, DispatchStatus, Lease, Message, NewMessage};
use crate::store::{AttemptRecord, CourierStore, MessagePage, MessageQuery, StoreError};
use crate::time;

/// Most messages one claim takes.
const MAX_CLAIM: u32 = 1000;

/// Candidates read per claimed message: other workers may win some first.
const CANDIDATES_PER_CLAIM: u32 = 4;

/// A message that may be claimed: queued and due, or with an ended lease.
const DUE: &str = "status IN ('queued', 'processing') AND lease_until <= ?";

/// The SQL implementation of [`CourierStore`], shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlCourierStore {
    db: Database,
}

impl SqlCourierStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Ids of due messages, oldest due first, started at a place that
    /// depends on the lease owner so racing workers try different rows first.
    async fn candidates(
        &self,
        limit: u32,
        lease: &Lease,
        now: &str,
    ) -> Result<Vec<String>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT id FROM courier_messages WHERE {DUE} ORDER BY lease_until, id LIMIT ?"
        ));
        let rows = sqlx::query(safe(&sql))
            .bind(now.to_owned())
            .bind(i64::from(limit.saturating_mul(CANDIDATES_PER_CLAIM)))
            .fetch_all(self.db.pool())
            .await?;
        let mut ids = rows
            .iter()
            .map(|row| row.text("id"))
            .collect::<Result<Vec<_>, _>>()?;
        if !ids.is_empty() {
            let start = usize::from(lease.owner.as_bytes()[0]) % ids.len();
            ids.rotate_left(start);
        }
        Ok(ids)
    }

    /// Takes one message under `lease` if it is still due; true when taken.
    async fn take(&self, id: &str, lease: &Lease, now: &str) -> Result<bool, StoreError> {
        let sql = self.db.sql(&format!(
            "UPDATE courier_messages SET status = 'processing', lease_owner = ?, \
             lease_until = ?, updated_at = ? WHERE id = ? AND {DUE}"
        ));
        let result = sqlx::query(safe(&sql))
            .bind(lease.owner.to_string())
            .bind(time::format(lease.until))
            .bind(now.to_owned())
            .bind(id.to_owned())
            .bind(now.to_owned())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The messages with these ids still held by `lease`, oldest first.
    async fn held(&self, ids: &[String], lease: &Lease) -> Result<Vec<Message>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self.db.sql(&format!(
            "SELECT {} FROM courier_messages WHERE lease_owner = ? AND id IN ({}) \
             ORDER BY created_at, id",
            COURIER_MESSAGE_COLUMNS.join(", "),
            placeholders(ids.len())
        ));
        let mut query = sqlx::query(safe(&sql)).bind(lease.owner.to_string());
        for id in ids {
            query = query.bind(id.clone());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        rows.iter().map(decode::courier_message).collect()
    }
}

/// The status, error and next due time an attempt leaves.
fn outcome(
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> (&'static str, DispatchStatus, Option<String>, DateTime<Utc>) {
    match attempt {
        Attempt::Sent => ("sent", DispatchStatus::Success, None, now),
        Attempt::Retry { error, at } => (
            "queued",
            DispatchStatus::Failed,
            Some(error.to_string()),
            *at,
        ),
        Attempt::Abandon { error } => (
            "abandoned",
            DispatchStatus::Failed,
            Some(error.to_string()),
            now,
        ),
    }
}

#[async_trait]
impl CourierStore for SqlCourierStore {
    async fn queue(&self, message: &NewMessage) -> Result<(), StoreError> {
        let columns = [&COURIER_MESSAGE_COLUMNS[..], &["lease_until"]].concat();
        let sql = self.db.sql(&insert_statement("courier_messages", &columns));
        let created = time::format(message.created_at);
        sqlx::query(safe(&sql))
            .bind(message.id.to_string())
            .bind(message.channel.message_type())
            .bind(message.channel.id())
            .bind("queued")
            .bind(message.recipient.clone())
            .bind(message.subject.clone())
            .bind(message.body.clone())
            .bind(message.html.clone())
            .bind(message.template_type.clone())
            .bind(message.template_data.to_string())
            .bind(0_i64)
            .bind(created.clone())
            .bind(created.clone())
            .bind(created)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn claim(
        &self,
        limit: u32,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let limit = limit.clamp(1, MAX_CLAIM);
        let now = time::format(now);
        let mut taken = Vec::new();
        for id in self.candidates(limit, lease, &now).await? {
            if taken.len() >= limit as usize {
                break;
            }
            if self.take(&id, lease, &now).await? {
                taken.push(id);
            }
        }
        self.held(&taken, lease).await
    }

    async fn record(&self, record: &AttemptRecord<'_>) -> Result<bool, StoreError> {
        let AttemptRecord {
            id,
            lease,
            attempt,
            now,
        } = *record;
        let (status, dispatch, error, due) = outcome(attempt, now);
        let now = time::format(now);
        let mut tx = self.db.pool().begin().await?;
        let update = self.db.sql(
            "UPDATE courier_messages SET status = ?, send_count = send_count + 1, \
             lease_owner = NULL, lease_until = ?, updated_at = ? \
             WHERE id = ? AND lease_owner = ? AND status = 'processing'",
        );
        let changed = sqlx::query(safe(&update))
            .bind(status)
            .bind(time::format(due))
            .bind(now.clone())
            .bind(id.to_string())
            .bind(lease.owner.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let columns = [&COURIER_DISPATCH_COLUMNS[..], &["updated_at"]].concat();
        let insert = self
            .db
            .sql(&insert_statement("courier_message_dispatches", &columns));
        sqlx::query(safe(&insert))
            .bind(Uuid::new_v4().to_string())
            .bind(id.to_string())
            .bind(dispatch.as_str())
            .bind(error)
            .bind(now.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn list(&self, query: &MessageQuery) -> Result<MessagePage, StoreError> {
        let mut filter = Filter::default();
        if let Some(after) = query.after {
            filter.and("id > ?", [after.to_string()]);
        }
        if let Some(status) = query.status {
            filter.and("status = ?", [status.as_str().to_owned()]);
        }
        if let Some(recipient) = &query.recipient {
            filter.and("recipient = ?", [recipient.clone()]);
        }
        let spec = PageSpec {
            size: query.page_size,
            offset: None,
        };
        let (rows, has_more) = self
            .db
            .page("courier_messages", &COURIER_MESSAGE_COLUMNS, filter, spec)
            .await?;
        let messages = rows
            .iter()
            .map(decode::courier_message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MessagePage { messages, has_more })
    }

    async fn get(&self, id: Uuid) -> Result<Option<(Message, Vec<Dispatch>)>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {} FROM courier_messages WHERE id = ?",
            COURIER_MESSAGE_COLUMNS.join(", ")
        ));
        let Some(row) = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?
        else {
            return Ok(None);
        };
        let message = decode::courier_message(&row)?;
        let sql = self.db.sql(&format!(
            "SELECT {} FROM courier_message_dispatches WHERE message_id = ? ORDER BY created_at, id",
            COURIER_DISPATCH_COLUMNS.join(", ")
        ));
        let rows = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .fetch_all(self.db.pool())
            .await?;
        let dispatches = rows
            .iter()
            .map(decode::courier_dispatch)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((message, dispatches)))
    }
}
