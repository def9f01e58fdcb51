//! The outbox flows hand messages to: checks the recipient, renders the
//! message and stores it queued for the worker.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::message::NewMessage;
use super::{Channel, CourierError, Outbox, Outgoing, Render};
use crate::store::CourierStore;
use crate::time::Clock;

/// The longest recipient accepted, in bytes (the longest email address SMTP
/// carries; phone numbers are far shorter).
pub const MAX_RECIPIENT_BYTES: usize = 254;

/// Checks that a recipient is an address its channel can carry: short, free
/// of control characters (a line break in a recipient is an attempt to add
/// mail headers), an email address for email and a phone number for SMS.
pub fn check_recipient(channel: Channel, recipient: &str) -> Result<(), CourierError> {
    let refuse = |why: &str| Err(CourierError::InvalidRecipient(why.to_owned()));
    if recipient.is_empty() {
        return refuse("empty");
    }
    if recipient.len() > MAX_RECIPIENT_BYTES {
        return refuse("longer than 254 bytes");
    }
    if recipient.chars().any(|c| c.is_control()) {
        return refuse("contains control characters");
    }
    match channel {
        Channel::Email => {
            if recipient.chars().any(char::is_whitespace)
                || recipient.parse::<lettre::Address>().is_err()
            {
                return refuse("not an email address");
            }
        }
        Channel::Sms => {
            let phone = recipient.strip_prefix('+').unwrap_or(recipient);
            if !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " -().".contains(c))
                || !phone.chars().any(|c| c.is_ascii_digit())
            {
                return refuse("not a phone number");
            }
        }
    }
    Ok(())
}

/// Replaces control characters in a subject line by spaces, so a rendered
/// subject is always one line.
fn one_line(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The outbox on a [`CourierStore`].
pub struct SqlOutbox {
    store: Arc<dyn CourierStore>,
    render: Arc<dyn Render>,
    clock: Arc<dyn Clock>,
}

impl SqlOutbox {
    /// An outbox that renders with `render` and queues into `store`, on the
    /// system clock.
    pub fn new(store: Arc<dyn CourierStore>, render: Arc<dyn Render>) -> Self {
        let clock = Arc::new(crate::time::SystemClock);
        Self {
            store,
            render,
            clock,
        }
    }

    /// The same outbox reading time from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }
}

#[async_trait]
impl Outbox for SqlOutbox {
    async fn queue(&self, message: Outgoing) -> Result<Uuid, CourierError> {
        check_recipient(message.channel, &message.recipient)?;
        let rendered = self.render.render(&message)?;
        let queued = NewMessage {
            id: Uuid::new_v4(),
            channel: message.channel,
            recipient: message.recipient,
            subject: one_line(&rendered.subject),
            body: rendered.body,
            html: rendered.html,
            template_type: message.template.as_str().to_owned(),
            template_data: message.data,
            created_at: self.clock.now(),
        };
        self.store.queue(&queued).await?;
        metrics::counter!(crate::metrics::COURIER_MESSAGES, "channel" => message.channel.id(), "event" => "queued")
            .increment(1);
        Ok(queued.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_that_could_add_headers_are_refused() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            check_recipient(Channel::Email, ok).unwrap();
        }
        for bad in [
            "",
            "a@example.com\r\nBcc: b@example.com",
            "a@example.com\nX: y",
            "a@example.com\0",
            "not an address",
            "Name <a@example.com>",
            "a@example.com, b@example.com",
            "a\u{85}@example.com",
        ] {
            assert!(check_recipient(Channel::Email, bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(check_recipient(Channel::Email, &long).is_err());
        check_recipient(Channel::Sms, "+49 (30) 123-456").unwrap();
        for bad in ["+", "call me", "+4912\r\n3"] {
            assert!(check_recipient(Channel::Sms, bad).is_err(), "{bad:?}");
        }
        assert_eq!(one_line("Your code\r\nBcc: x"), "Your code  Bcc: x");
    }
}
