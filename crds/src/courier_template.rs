//! `CourierTemplate`: one message template attached to a server.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which is not a duplicate.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AttachedStatus, ServerRef};

/// A courier message template (`courier.templates.<type>.<variant>.<channel>`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bia.dev",
    version = "v1alpha1",
    kind = "CourierTemplate",
    namespaced,
    status = "AttachedStatus",
    shortname = "ctpl",
    category = "bia",
    doc = "A message template (courier.templates) of an IdentityServer.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Accepted\")].status"
    ),
    printcolumn(name = "Server", type_ = "string", json_path = ".spec.serverRef.name"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.templateType"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CourierTemplateSpec {
    /// Which message this template renders.
    pub template_type: TemplateType,
    /// `valid` for a known recipient, `invalid` for an unknown one.
    pub variant: TemplateVariant,
    /// Delivery channel.
    pub channel: TemplateChannel,
    /// Subject line (Go template); required for email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Message bodies (Go templates).
    pub body: TemplateBody,
    /// The server this template belongs to; immutable.
    pub server_ref: ServerRef,
}

/// Message bodies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateBody {
    /// Plain-text body.
    pub plaintext: String,
    /// HTML body; email only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// Message kinds the courier sends.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TemplateType {
    /// Recovery link.
    Recovery,
    /// Recovery code.
    RecoveryCode,
    /// Verification link.
    Verification,
    /// Verification code.
    VerificationCode,
    /// Login code.
    LoginCode,
    /// Registration code.
    RegistrationCode,
}

impl TemplateType {
    /// The Kratos config key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recovery => "recovery",
            Self::RecoveryCode => "recovery_code",
            Self::Verification => "verification",
            Self::VerificationCode => "verification_code",
            Self::LoginCode => "login_code",
            Self::RegistrationCode => "registration_code",
        }
    }
}

/// Template variant.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TemplateVariant {
    /// The recipient is known.
    Valid,
    /// The recipient is unknown.
    Invalid,
}

impl TemplateVariant {
    /// The Kratos config key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
        }
    }
}

/// Delivery channel.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TemplateChannel {
    /// Email over SMTP.
    Email,
    /// Text message.
    Sms,
}

impl TemplateChannel {
    /// The Kratos config key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}
