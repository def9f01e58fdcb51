//! How a message leaves: the [`Deliver`] seam, its error, and the
//! [`Dispatcher`] that picks the way for each channel from the `courier`
//! section (email over SMTP or HTTP, SMS over HTTP).

use std::sync::Arc;

use async_trait::async_trait;
use bia_config::{CourierConfig, DeliveryStrategy};
use serde_json::{Value, json};

use super::Channel;
use super::http_delivery::HttpDelivery;
use super::message::Message;
use super::smtp::{SmtpDelivery, SmtpSettings};

/// Delivers one message (one attempt).
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Sends the message; the error says why it was not accepted.
    async fn deliver(&self, message: &Message) -> Result<(), DeliveryError>;
}

/// Why an attempt failed, kept in the message's dispatch log. Never holds
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// What happened.
    pub message: String,
    /// The server's status code, when it answered one (SMTP or HTTP).
    pub code: Option<String>,
    /// Whether trying again cannot help (the message itself is unusable).
    pub permanent: bool,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            permanent: false,
        }
    }

    /// A failure of the message itself: retrying cannot help.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::new(message)
        }
    }

    /// Adds the server's status code.
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code;
        self
    }

    /// The error as the dispatch log keeps it.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "message": self.message });
        if let Some(code) = &self.code {
            error["code"] = json!(code);
        }
        error
    }
}

/// A problem with the `courier` section; `key` is the full key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct CourierConfigError {
    /// The key, e.g. `courier.smtp.connection_uri`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// Picks the delivery for each message by its channel.
#[derive(Clone, Default)]
pub struct Dispatcher {
    email: Option<Arc<dyn Deliver>>,
    sms: Option<Arc<dyn Deliver>>,
}

impl Dispatcher {
    /// A dispatcher with these deliveries (tests, or callers building their own).
    pub fn new(email: Option<Arc<dyn Deliver>>, sms: Option<Arc<dyn Deliver>>) -> Self {
        Self { email, sms }
    }

    /// The deliveries the `courier` section configures: email over SMTP
    /// (`courier.smtp`) or HTTP (`delivery_strategy: http`), SMS over the
    /// `sms` channel. Loads Jsonnet bodies (fetching remote ones).
    pub async fn from_config(config: &CourierConfig) -> Result<Self, CourierConfigError> {
        check(config)?;
        let email: Option<Arc<dyn Deliver>> = match config.delivery_strategy.unwrap_or_default() {
            DeliveryStrategy::Smtp => match SmtpSettings::from_config(&config.smtp)
                .map_err(smtp_key)?
            {
                Some(settings) => Some(Arc::new(SmtpDelivery::new(settings).map_err(smtp_key)?)),
                None => None,
            },
            DeliveryStrategy::Http => match &config.http.request_config {
                Some(request) => Some(Arc::new(
                    HttpDelivery::load("courier.http.request_config", request).await?,
                )),
                None => None,
            },
        };
        let mut sms: Option<Arc<dyn Deliver>> = None;
        for (n, channel) in config.channels.iter().enumerate() {
            let key = format!("courier.channels[{n}].request_config");
            sms = Some(Arc::new(
                HttpDelivery::load(&key, &channel.request_config).await?,
            ));
        }
        Ok(Self { email, sms })
    }
}

/// Checks the `courier` section without loading anything remote: the SMTP
/// settings, the HTTP request settings and the channel ids. The config
/// loader reports these under their keys.
pub fn check(config: &CourierConfig) -> Result<(), CourierConfigError> {
    let strategy = config.delivery_strategy.unwrap_or_default();
    if strategy == DeliveryStrategy::Smtp {
        SmtpSettings::from_config(&config.smtp).map_err(smtp_key)?;
    }
    match (&config.http.request_config, strategy) {
        (Some(request), _) => HttpDelivery::check("courier.http.request_config", request)?,
        (None, DeliveryStrategy::Http) => {
            return Err(CourierConfigError {
                key: "courier.http.request_config".into(),
                reason: "delivery_strategy is http: the request must be configured".into(),
            });
        }
        (None, DeliveryStrategy::Smtp) => {}
    }
    for (n, channel) in config.channels.iter().enumerate() {
        if channel.id != "sms" {
            return Err(CourierConfigError {
                key: format!("courier.channels[{n}].id"),
                reason: format!("{:?}: the only channel besides email is sms", channel.id),
            });
        }
        if channel.channel_type.as_deref().is_some_and(|t| t != "http") {
            return Err(CourierConfigError {
                key: format!("courier.channels[{n}].type"),
                reason: "channels are delivered over http".into(),
            });
        }
        HttpDelivery::check(
            &format!("courier.channels[{n}].request_config"),
            &channel.request_config,
        )?;
    }
    Ok(())
}

fn smtp_key(error: super::smtp::SmtpConfigError) -> CourierConfigError {
    CourierConfigError {
        key: format!("courier.smtp.{}", error.key),
        reason: error.reason,
    }
}

#[async_trait]
impl Deliver for Dispatcher {
    async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let (delivery, what) = match message.channel {
            Channel::Email => (
                &self.email,
                "no email delivery is configured (courier.smtp.connection_uri)",
            ),
            Channel::Sms => (&self.sms, "no sms channel is configured (courier.channels)"),
        };
        match delivery {
            Some(delivery) => delivery.deliver(message).await,
            None => Err(DeliveryError::new(what)),
        }
    }
}
