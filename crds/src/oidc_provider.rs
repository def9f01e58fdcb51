//! `OIDCProvider`: one social sign-in provider attached to a server.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which is not a duplicate.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AttachedStatus, SecretKeyRef, ServerRef};

/// An OpenID Connect / OAuth2 provider for social sign-in.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bia.dev",
    version = "v1alpha1",
    kind = "OIDCProvider",
    plural = "oidcproviders",
    namespaced,
    status = "AttachedStatus",
    shortname = "oidcp",
    category = "bia",
    doc = "A social sign-in provider (selfservice.methods.oidc) of an IdentityServer.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Accepted\")].status"
    ),
    printcolumn(name = "Server", type_ = "string", json_path = ".spec.serverRef.name"),
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct OIDCProviderSpec {
    /// Provider id, unique per server and part of the callback URL; immutable.
    pub provider_id: String,
    /// Which provider implementation to use.
    pub provider: ProviderKind,
    /// OIDC issuer URL; required for `generic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret, read from a Secret.
    pub client_secret: SecretKeyRef,
    /// Scopes to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Jsonnet that maps the provider's claims to identity traits.
    pub mapper: String,
    /// Azure tenant; required for `microsoft`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft_tenant: Option<String>,
    /// The server this provider belongs to; immutable.
    pub server_ref: ServerRef,
}

/// Provider implementations (Kratos `provider` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenID Connect provider with discovery.
    Generic,
    /// Google.
    Google,
    /// GitHub.
    Github,
    /// Microsoft Entra ID.
    Microsoft,
    /// GitLab.
    Gitlab,
    /// Sign in with Apple.
    Apple,
    /// Discord.
    Discord,
    /// Slack.
    Slack,
    /// Facebook.
    Facebook,
    /// Auth0.
    Auth0,
}

impl ProviderKind {
    /// The Kratos config value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::Google => "google",
            Self::Github => "github",
            Self::Microsoft => "microsoft",
            Self::Gitlab => "gitlab",
            Self::Apple => "apple",
            Self::Discord => "discord",
            Self::Slack => "slack",
            Self::Facebook => "facebook",
            Self::Auth0 => "auth0",
        }
    }
}
