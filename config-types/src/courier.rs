//! The `courier` section: how messages (email, SMS) are rendered and delivered.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::hooks::WebHookAuth;
use crate::is_default;
use crate::units::GoDuration;

/// The `courier` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierConfig {
    /// A directory whose templates replace the built-in ones, laid out as
    /// `<template type>/<valid|invalid>/email.subject.gotmpl` and so on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_override_path: Option<String>,
    /// Template overrides by URI, per template type.
    #[serde(skip_serializing_if = "is_default")]
    pub templates: CourierTemplates,
    /// How often a failed delivery is retried before the message is
    /// abandoned (5 by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_retries: Option<u32>,
    /// The dispatch worker.
    #[serde(skip_serializing_if = "is_default")]
    pub worker: CourierWorker,
    /// `smtp` (default) or `http`: how email leaves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_strategy: Option<DeliveryStrategy>,
    /// Email over HTTP (`delivery_strategy: http`).
    #[serde(skip_serializing_if = "is_default")]
    pub http: CourierHttp,
    /// Email over SMTP.
    #[serde(skip_serializing_if = "is_default")]
    pub smtp: SmtpConfig,
    /// Other channels (SMS), each delivered over HTTP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<CourierChannel>,
}

impl CourierConfig {
    /// The retry limit in force.
    pub fn message_retries(&self) -> u32 {
        self.message_retries.unwrap_or(5)
    }
}

/// How email is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStrategy {
    /// Through an SMTP server (`courier.smtp`).
    #[default]
    Smtp,
    /// Through an HTTP endpoint (`courier.http.request_config`).
    Http,
}

/// `courier.worker`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierWorker {
    /// How many messages one pull claims (10 by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_count: Option<u32>,
    /// How long the worker waits between pulls (`1s` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_wait: Option<GoDuration>,
}

/// `courier.smtp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SmtpConfig {
    /// `smtp://user:pass@host:port/` (STARTTLS unless
    /// `?disable_starttls=true`) or `smtps://...` (implicit TLS);
    /// `?skip_ssl_verify=true` accepts any certificate, `?server_name=`
    /// names the certificate's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_uri: Option<String>,
    /// A client certificate (PEM) for servers that authenticate by certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_path: Option<String>,
    /// The client certificate's private key (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_path: Option<String>,
    /// The sender address (`no-reply@ory.kratos.sh` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    /// The sender's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// Extra headers on every email.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The name sent with HELO/EHLO (`localhost` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_name: Option<String>,
}

/// `courier.http`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierHttp {
    /// The request that carries each email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_config: Option<HttpRequestConfig>,
}

/// A request the courier makes per message (email over HTTP, SMS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpRequestConfig {
    /// The endpoint (`http://` or `https://`).
    pub url: String,
    /// The HTTP method (`POST` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Headers sent with every request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The Jsonnet program that renders the body from the message
    /// (`file://`, `base64://` or `http(s)://`); a built-in one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How the request authenticates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebHookAuth>,
}

/// One `courier.channels[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CourierChannel {
    /// The channel id: `sms`.
    pub id: String,
    /// The channel type: `http`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<String>,
    /// The request that carries each message.
    pub request_config: HttpRequestConfig,
}

/// `courier.templates`: template URIs per template type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierTemplates {
    /// Recovery by link.
    #[serde(skip_serializing_if = "is_default")]
    pub recovery: TemplateVariants,
    /// Recovery by code.
    #[serde(skip_serializing_if = "is_default")]
    pub recovery_code: TemplateVariants,
    /// Verification by link.
    #[serde(skip_serializing_if = "is_default")]
    pub verification: TemplateVariants,
    /// Verification by code.
    #[serde(skip_serializing_if = "is_default")]
    pub verification_code: TemplateVariants,
    /// Sign-up by code.
    #[serde(skip_serializing_if = "is_default")]
    pub registration_code: TemplateVariants,
    /// Sign-in by code.
    #[serde(skip_serializing_if = "is_default")]
    pub login_code: TemplateVariants,
}

/// The `valid` and `invalid` variants of one template type: `valid` goes to
/// a known address, `invalid` to an address no identity has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TemplateVariants {
    /// For a known address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<TemplateChannels>,
    /// For an unknown address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<TemplateChannels>,
}

/// One variant's templates per channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TemplateChannels {
    /// Email: subject and bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTemplate>,
    /// SMS: body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsTemplate>,
}

/// An email template's URIs (`file://`, `base64://`, `http(s)://`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct EmailTemplate {
    /// The subject line template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The body templates.
    #[serde(skip_serializing_if = "is_default")]
    pub body: EmailBody,
}

/// An email body's URIs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct EmailBody {
    /// The HTML body template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The plain-text body template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
}

/// An SMS template's URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SmsTemplate {
    /// The body template.
    #[serde(skip_serializing_if = "is_default")]
    pub body: SmsBody,
}

/// An SMS body's URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SmsBody {
    /// The text template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
}
