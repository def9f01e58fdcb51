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
    /// OIDC issuer URL; required for `generic` and `auth0` (the tenant's
    /// domain); replaces the own issuer of the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// The authorization endpoint, when discovery should not decide it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    /// The token endpoint, when discovery should not decide it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The OAuth 2.0 kinds (`github`, `github-app`, `discord`, `slack`,
    /// `facebook`) only: a base URL that replaces the origin of their fixed
    /// endpoints (a staging or stand-in API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret, read from a Secret; optional for `apple` with
    /// `apple` signing keys (the server signs its own client secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeyRef>,
    /// Scopes to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Jsonnet that maps the provider's claims to identity traits.
    pub mapper: String,
    /// `microsoft` only: `common` (default), `organizations`, `consumers`,
    /// a tenant id or a domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft_tenant: Option<String>,
    /// `microsoft` only: where the subject comes from: `userinfo` (default)
    /// or `me` (Microsoft Graph's `/me` id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_source: Option<String>,
    /// `apple` only: the key that signs the client secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleSigning>,
    /// The server this provider belongs to; immutable.
    pub server_ref: ServerRef,
}

/// What Sign in with Apple signs its client secrets with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppleSigning {
    /// The Apple developer team id.
    pub team_id: String,
    /// The id of the private key, as Apple lists it.
    pub private_key_id: String,
    /// The P-256 private key (PKCS#8 PEM, Apple's `.p8` file), read from a
    /// Secret.
    pub private_key: SecretKeyRef,
}

impl OIDCProviderSpec {
    /// The Secret keys the provider reads, with the spec field of each.
    pub fn secret_refs(&self) -> Vec<(&'static str, &SecretKeyRef)> {
        let mut refs = Vec::new();
        if let Some(r) = &self.client_secret {
            refs.push(("spec.clientSecret", r));
        }
        if let Some(apple) = &self.apple {
            refs.push(("spec.apple.privateKey", &apple.private_key));
        }
        refs
    }
}

/// Provider implementations (Kratos `provider` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenID Connect provider with discovery.
    Generic,
    /// Google.
    Google,
    /// GitHub (an OAuth app).
    Github,
    /// GitHub (a GitHub app).
    #[serde(rename = "github-app")]
    GithubApp,
    /// LinkedIn.
    Linkedin,
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
            Self::GithubApp => "github-app",
            Self::Linkedin => "linkedin",
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
