//! The courier: messages rendered from templates, kept in SQL and delivered
//! by a worker (email over SMTP or HTTP, SMS over HTTP).
//!
//! Flows hand the courier an [`Outgoing`] message: a template type, a
//! recipient and the template's data, with Kratos's field names. The
//! [`Outbox`] renders it and queues it; a worker delivers what is queued.

pub mod delivery;
pub mod http_delivery;
pub mod message;
pub mod outbox;
pub mod smtp;
pub mod template;
pub mod worker;

pub use delivery::{CourierConfigError, Deliver, DeliveryError, Dispatcher};
pub use outbox::SqlOutbox;
pub use worker::{Worker, WorkerSettings};

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

/// What a message is about: Kratos's template types, which name the
/// templates and the `template_type` of stored messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateType {
    /// A recovery link was asked for an address no identity has.
    RecoveryInvalid,
    /// A recovery link.
    RecoveryValid,
    /// A recovery code was asked for an address no identity has.
    RecoveryCodeInvalid,
    /// A recovery code.
    RecoveryCodeValid,
    /// A verification link was asked for an address no identity has.
    VerificationInvalid,
    /// A verification link.
    VerificationValid,
    /// A verification code was asked for an address no identity has.
    VerificationCodeInvalid,
    /// A verification code.
    VerificationCodeValid,
    /// A sign-in code.
    LoginCodeValid,
    /// A sign-up code.
    RegistrationCodeValid,
}

impl TemplateType {
    /// Every template type, in a fixed order.
    pub const ALL: [TemplateType; 10] = [
        TemplateType::RecoveryInvalid,
        TemplateType::RecoveryValid,
        TemplateType::RecoveryCodeInvalid,
        TemplateType::RecoveryCodeValid,
        TemplateType::VerificationInvalid,
        TemplateType::VerificationValid,
        TemplateType::VerificationCodeInvalid,
        TemplateType::VerificationCodeValid,
        TemplateType::LoginCodeValid,
        TemplateType::RegistrationCodeValid,
    ];

    /// The wire and storage name, e.g. `recovery_code_valid`.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateType::RecoveryInvalid => "recovery_invalid",
            TemplateType::RecoveryValid => "recovery_valid",
            TemplateType::RecoveryCodeInvalid => "recovery_code_invalid",
            TemplateType::RecoveryCodeValid => "recovery_code_valid",
            TemplateType::VerificationInvalid => "verification_invalid",
            TemplateType::VerificationValid => "verification_valid",
            TemplateType::VerificationCodeInvalid => "verification_code_invalid",
            TemplateType::VerificationCodeValid => "verification_code_valid",
            TemplateType::LoginCodeValid => "login_code_valid",
            TemplateType::RegistrationCodeValid => "registration_code_valid",
        }
    }

    /// Parses a wire or storage name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The template directory and config key (`recovery_code`) and the
    /// variant (`valid` or `invalid`).
    pub fn key_and_variant(self) -> (&'static str, &'static str) {
        let name = self.as_str();
        match name.rsplit_once('_') {
            Some((key, variant)) => (key, variant),
            None => (name, "valid"),
        }
    }
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Email (stored type `email`).
    Email,
    /// SMS (stored type `phone`, channel `sms`).
    Sms,
}

impl Channel {
    /// The channel an address travels on: an email address has an `@`,
    /// anything else is taken for a phone number.
    pub fn of_address(address: &str) -> Self {
        if address.contains('@') {
            Channel::Email
        } else {
            Channel::Sms
        }
    }

    /// The message type on the wire: `email` or `phone`.
    pub fn message_type(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "phone",
        }
    }

    /// The channel id on the wire: `email` or `sms`.
    pub fn id(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A message a flow wants sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// What it is about.
    pub template: TemplateType,
    /// Email or SMS.
    pub channel: Channel,
    /// The address or phone number.
    pub recipient: String,
    /// The template's data, an object with Kratos's field names (`To`,
    /// `RecoveryCode`, `VerificationURL`, `Identity`, `RequestURL`,
    /// `TransientPayload`, `ExpiresInMinutes`, ...).
    pub data: Value,
}

/// Why a message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum CourierError {
    /// The recipient is not an address this channel can carry (e.g. it holds
    /// a line break, an attempt to add headers).
    #[error("invalid recipient: {0}")]
    InvalidRecipient(String),
    /// The template could not be rendered.
    #[error("template {template}: {reason}")]
    Template {
        /// The template that failed, e.g. `recovery_code_valid`.
        template: &'static str,
        /// Why.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A message as rendered from its templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The email subject (empty for SMS).
    pub subject: String,
    /// The plain-text body (the whole SMS text).
    pub body: String,
    /// The HTML body of an email, when its template has one.
    pub html: Option<String>,
}

/// Turns a message's template type, channel and data into its text.
pub trait Render: Send + Sync {
    /// The rendered message, or why its template failed.
    fn render(&self, message: &Outgoing) -> Result<Rendered, CourierError>;
}

/// Where flows put messages: renders and queues them for delivery.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Renders and queues a message; returns its id.
    async fn queue(&self, message: Outgoing) -> Result<Uuid, CourierError>;
}

/// The worker the `courier` section describes, on this database: what
/// `bia courier watch` and `bia serve --watch-courier` run. Loads the HTTP
/// body programs (fetching remote ones).
pub async fn worker_from_config(
    config: &bia_config::CourierConfig,
    db: crate::store::Database,
    clock: Arc<dyn crate::time::Clock>,
) -> Result<Worker, CourierConfigError> {
    let delivery = Dispatcher::from_config(config).await?;
    let store = Arc::new(crate::store::SqlCourierStore::new(db));
    let settings = WorkerSettings::from_config(config);
    Ok(Worker::new(store, Arc::new(delivery), settings).with_clock(clock))
}

/// The outbox flows queue messages through, rendering with `render`.
pub fn outbox(
    db: crate::store::Database,
    render: Arc<dyn Render>,
    clock: Arc<dyn crate::time::Clock>,
) -> Arc<dyn Outbox> {
    let store = Arc::new(crate::store::SqlCourierStore::new(db));
    Arc::new(SqlOutbox::new(store, render).with_clock(clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_types_round_trip_and_split_into_key_and_variant() {
        for t in TemplateType::ALL {
            assert_eq!(TemplateType::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            TemplateType::RecoveryCodeInvalid.key_and_variant(),
            ("recovery_code", "invalid")
        );
        assert_eq!(
            TemplateType::LoginCodeValid.key_and_variant(),
            ("login_code", "valid")
        );
        assert_eq!(TemplateType::parse("stub"), None);
    }
}
