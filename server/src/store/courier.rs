//! The courier's message store: the queue workers pull from and the log the
//! admin API reads.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::courier::message::{Attempt, Dispatch, Lease, Message, MessageStatus, NewMessage};

/// Filters and paging for listing messages.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    /// At most this many messages.
    pub page_size: u32,
    /// Keyset paging: only messages whose id sorts after this one.
    pub after: Option<Uuid>,
    /// Only messages in this status.
    pub status: Option<MessageStatus>,
    /// Only messages to this recipient (exactly).
    pub recipient: Option<String>,
}

/// One page of messages.
#[derive(Debug, Clone, Default)]
pub struct MessagePage {
    /// The messages, ordered by id.
    pub messages: Vec<Message>,
    /// Whether more messages follow the last one.
    pub has_more: bool,
}

/// Persistence of courier messages.
///
/// Claiming is safe with several workers on one database: a message is
/// claimed by one lease at a time, and a message whose lease ended
/// unfinished (its worker died) may be claimed again.
#[async_trait]
pub trait CourierStore: Send + Sync {
    /// Stores a new message, `queued` and claimable at once.
    async fn queue(&self, message: &NewMessage) -> Result<(), StoreError>;
    /// Claims up to `limit` messages that are queued (and past their retry
    /// time) or whose lease ended, oldest due first, under `lease`; they
    /// become `processing`. `now` decides what is due.
    async fn claim(
        &self,
        limit: u32,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError>;
    /// Records one delivery attempt of a message claimed under `lease`: a
    /// dispatch in its log and its new status. A lease that ended and was
    /// taken over still records the dispatch, but no longer changes the
    /// message; the answer says whether the message changed.
    async fn record(&self, record: &AttemptRecord<'_>) -> Result<bool, StoreError>;
    /// Lists messages.
    async fn list(&self, query: &MessageQuery) -> Result<MessagePage, StoreError>;
    /// Reads one message with its delivery attempts, oldest first.
    async fn get(&self, id: Uuid) -> Result<Option<(Message, Vec<Dispatch>)>, StoreError>;
}

/// One delivery attempt to record ([`CourierStore::record`]).
pub struct AttemptRecord<'a> {
    /// The message.
    pub id: Uuid,
    /// The lease it was claimed under.
    pub lease: &'a Lease,
    /// How the attempt went.
    pub attempt: &'a Attempt,
    /// When it ended.
    pub now: DateTime<Utc>,
}
