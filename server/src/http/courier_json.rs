//! Kratos's JSON shapes for courier messages and their delivery attempts.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::courier::message::{Dispatch, Message};
use crate::time;

/// A courier message as the API sends it (its HTML body is not part of it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = message)]
pub struct MessageJson {
    /// Id.
    pub id: Uuid,
    /// `queued`, `processing`, `sent` or `abandoned`.
    #[schema(value_type = String, inline, example = "queued")]
    pub status: &'static str,
    /// `email` or `phone`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "email")]
    pub kind: &'static str,
    /// `email` or `sms`.
    #[schema(value_type = String, example = "email")]
    pub channel: &'static str,
    /// The address or phone number.
    pub recipient: String,
    /// The plain-text body.
    pub body: String,
    /// The subject (empty for SMS).
    pub subject: String,
    /// The template type, e.g. `recovery_code_valid`.
    pub template_type: String,
    /// Delivery attempts so far.
    pub send_count: i64,
    /// When it was queued.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Every delivery attempt, oldest first (single messages only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatches: Option<Vec<DispatchJson>>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = messageDispatch)]
pub struct DispatchJson {
    /// Id.
    pub id: Uuid,
    /// The message tried.
    pub message_id: Uuid,
    /// `failed` or `success`.
    #[schema(value_type = String, example = "failed")]
    pub status: &'static str,
    /// Why it failed: `{"message": ..., "code": ...}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub error: Option<Value>,
    /// When it was made.
    pub created_at: String,
    /// Same as `created_at`: attempts do not change.
    pub updated_at: String,
}

/// A message as the API sends it, with its attempts when they were read.
pub fn message_json(message: &Message, dispatches: Option<&[Dispatch]>) -> MessageJson {
    MessageJson {
        id: message.id,
        status: message.status.as_str(),
        kind: message.channel.message_type(),
        channel: message.channel.id(),
        recipient: message.recipient.clone(),
        body: message.body.clone(),
        subject: message.subject.clone(),
        template_type: message.template_type.clone(),
        send_count: i64::from(message.send_count),
        created_at: time::format(message.created_at),
        updated_at: time::format(message.updated_at),
        dispatches: dispatches.map(|list| list.iter().map(dispatch_json).collect()),
    }
}

fn dispatch_json(dispatch: &Dispatch) -> DispatchJson {
    DispatchJson {
        id: dispatch.id,
        message_id: dispatch.message_id,
        status: dispatch.status.as_str(),
        error: dispatch.error.clone(),
        created_at: time::format(dispatch.created_at),
        updated_at: time::format(dispatch.created_at),
    }
}
