//! Stored messages and their delivery attempts, as the store keeps them and
//! the admin API shows them.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::Channel;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// Waiting for a worker (new, or failed and waiting for its retry).
    Queued,
    /// Claimed by a worker that is sending it.
    Processing,
    /// Delivered.
    Sent,
    /// Given up after too many failed attempts.
    Abandoned,
}

impl MessageStatus {
    /// Every status.
    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Queued,
        MessageStatus::Processing,
        MessageStatus::Sent,
        MessageStatus::Abandoned,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Processing => "processing",
            MessageStatus::Sent => "sent",
            MessageStatus::Abandoned => "abandoned",
        }
    }

    /// Parses a wire or storage name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A message as it is queued: rendered, not yet tried.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Its id.
    pub id: Uuid,
    /// Email or SMS.
    pub channel: Channel,
    /// The address or phone number (checked by the outbox).
    pub recipient: String,
    /// The subject (empty for SMS).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// The HTML body of an email, when there is one.
    pub html: Option<String>,
    /// The template type's name, e.g. `recovery_code_valid`.
    pub template_type: String,
    /// The data the templates were rendered with (Kratos's field names).
    pub template_data: Value,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What was queued.
    pub queued: NewMessage,
    /// Where it is in its life.
    pub status: MessageStatus,
    /// How many delivery attempts failed or succeeded so far.
    pub send_count: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl std::ops::Deref for Message {
    type Target = NewMessage;

    fn deref(&self) -> &NewMessage {
        &self.queued
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchStatus {
    /// The message was delivered.
    Success,
    /// The attempt failed.
    Failed,
}

impl DispatchStatus {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            DispatchStatus::Success => "success",
            DispatchStatus::Failed => "failed",
        }
    }

    /// Parses a wire or storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "success" => Some(DispatchStatus::Success),
            "failed" => Some(DispatchStatus::Failed),
            _ => None,
        }
    }
}

/// One delivery attempt of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// Its id.
    pub id: Uuid,
    /// The message tried.
    pub message_id: Uuid,
    /// How it ended.
    pub status: DispatchStatus,
    /// Why it failed (a JSON object with a `message`), for failures.
    pub error: Option<Value>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The right to send claimed messages until an instant: a worker holds one
/// per pull, and only the holder records the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (a fresh id per pull).
    pub owner: Uuid,
    /// When it ends: afterwards another worker may claim the messages again.
    pub until: DateTime<Utc>,
}

/// What a delivery attempt leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered: the message is `sent`.
    Sent,
    /// Failed; the message is queued again, not to be tried before `at`.
    Retry {
        /// Why it failed.
        error: Value,
        /// The earliest next attempt.
        at: DateTime<Utc>,
    },
    /// Failed for the last time: the message is `abandoned`.
    Abandon {
        /// Why it failed.
        error: Value,
    },
}
