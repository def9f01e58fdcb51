//! TEMPORARY (replaced by the SQL outbox): logs messages.

use async_trait::async_trait;
use uuid::Uuid;

use super::{CourierError, Outbox, Outgoing};

/// Logs each message's data.
#[derive(Debug, Default)]
pub struct LogOutbox;

#[async_trait]
impl Outbox for LogOutbox {
    async fn queue(&self, message: Outgoing) -> Result<Uuid, CourierError> {
        tracing::info!(template = message.template.as_str(), recipient = %message.recipient, data = %message.data, "TEMPORARY message");
        Ok(Uuid::new_v4())
    }
}
