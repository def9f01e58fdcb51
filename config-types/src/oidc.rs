//! The `selfservice.methods.oidc` section: sign-in with OpenID Connect
//! providers. Keys keep Kratos's names; keys of provider kinds this version
//! does not implement (Microsoft tenants, Apple keys, ...) are not read, so
//! the loader reports them as unsupported.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, key};
use crate::is_default;

/// The provider kinds this version implements.
pub const PROVIDER_KINDS: &[&str] = &["generic", "google"];

/// The provider kinds whose ID tokens a native app may submit directly
/// (`id_token` in a login or registration submission), as in Kratos.
pub const ID_TOKEN_KINDS: &[&str] = &["google", "apple"];

/// Whether a provider of `kind` accepts ID tokens submitted by native apps.
pub fn accepts_id_tokens(kind: &str) -> bool {
    ID_TOKEN_KINDS.contains(&kind)
}

/// The issuer a named provider kind signs in with, when `issuer_url` does
/// not name another one (`generic` has none: its `issuer_url` is required).
/// Unlike Kratos, which always uses the fixed issuer of a named kind, Bia
/// lets `issuer_url` replace it, so a staging or stand-in provider can be
/// used.
pub fn default_issuer(kind: &str) -> Option<&'static str> {
    match kind {
        "google" => Some("https://accounts.google.com"),
        _ => None,
    }
}

/// The `selfservice.methods.oidc` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OidcMethodConfig {
    /// Whether sign-in with providers is offered (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The providers and the redirect base.
    #[serde(skip_serializing_if = "is_default")]
    pub config: OidcConfig,
}

impl OidcMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }
}

/// `selfservice.methods.oidc.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OidcConfig {
    /// The base URL of redirect URIs (the public base URL by default):
    /// providers send browsers back to
    /// `<base>/self-service/methods/oidc/callback/<provider id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_redirect_uri: Option<String>,
    /// The providers offered, in the order their buttons are shown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<OidcProvider>,
}

/// One provider of `selfservice.methods.oidc.config.providers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OidcProvider {
    /// The provider's id: in its button, its callback path and the
    /// identifiers of its credentials (`<id>:<subject>`); never change it.
    pub id: String,
    /// The kind of provider; this version implements `generic` (any
    /// OpenID Connect provider, found through discovery) and `google`.
    pub provider: String,
    /// The name shown on its button (the id by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret registered at the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The issuer; its `/.well-known/openid-configuration` names the
    /// endpoints and keys. Required for `generic`; named kinds have their
    /// own (see [`default_issuer`]), which this replaces when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// The authorization endpoint, when discovery should not decide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    /// The token endpoint, when discovery should not decide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The Jsonnet program mapping claims to traits and metadata
    /// (`file://`, `base64://`, `http(s)://`).
    pub mapper_url: String,
    /// The scopes requested (`openid` is always added).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// The `claims` request parameter (OpenID Connect Core 5.5), sent as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_claims: Option<serde_json::Value>,
    /// Where claims come from: `id_token` (default) or `userinfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_source: Option<String>,
    /// Proof Key for Code Exchange: `auto` (default: when the provider
    /// announces S256), `force` or `never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkce: Option<String>,
    /// Extra parameters added to the authorization request (e.g. `prompt`,
    /// `login_hint`, `hd`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub upstream_parameters: BTreeMap<String, String>,
    /// Client ids besides `client_id` an ID token submitted by a native app
    /// may be issued for (the app's own client ids at the provider).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_id_token_audiences: Vec<String>,
}

/// The structural problems of the section: required keys, known values,
/// URLs, unique ids. Only checked when the method is enabled.
pub(crate) fn check(section: &OidcMethodConfig) -> Vec<ConfigError> {
    const KEY: &str = "selfservice.methods.oidc.config";
    let mut problems = Vec::new();
    if !section.is_enabled() {
        return problems;
    }
    let mut push = |key: String, reason: String| problems.push(ConfigError::invalid(key, reason));
    if let Some(base) = &section.config.base_redirect_uri
        && !is_web_url(base)
    {
        push(
            key::field(KEY, "base_redirect_uri"),
            "must be an http:// or https:// URL".into(),
        );
    }
    let list = key::field(KEY, "providers");
    for (n, provider) in section.config.providers.iter().enumerate() {
        let entry = key::index(&list, n);
        if section.config.providers[..n]
            .iter()
            .any(|p| p.id == provider.id)
        {
            push(
                key::field(&entry, "id"),
                format!("{:?} is listed twice", provider.id),
            );
        }
        for (field, reason) in provider_problems(provider) {
            push(key::field(&entry, &field), reason);
        }
    }
    problems
}

/// The problems of one provider entry on its own (not the uniqueness of its
/// id), each with the key of its field within the entry (e.g. `issuer_url`,
/// `upstream_parameters.state`).
pub fn provider_problems(provider: &OidcProvider) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut push = |key: &str, reason: String| problems.push((key.to_owned(), reason));
    if provider.id.is_empty() || !provider.id.bytes().all(is_id_byte) || provider.id.len() > 64 {
        push(
            "id",
            "must be 1 to 64 letters, digits, '-', '_' or '.'".into(),
        );
    }
    if !PROVIDER_KINDS.contains(&provider.provider.as_str()) {
        push(
            "provider",
            format!(
                "{:?} is not supported by this version; supported: {}",
                provider.provider,
                PROVIDER_KINDS.join(", ")
            ),
        );
    }
    if provider.client_id.is_empty() {
        push("client_id", "must not be empty".into());
    }
    if provider.mapper_url.is_empty() {
        push("mapper_url", "must not be empty".into());
    }
    match &provider.issuer_url {
        None if default_issuer(&provider.provider).is_some() => {}
        None => push(
            "issuer_url",
            "is required for generic providers (discovery)".into(),
        ),
        Some(url) if !is_web_url(url) => {
            push("issuer_url", "must be an http:// or https:// URL".into())
        }
        Some(_) => {}
    }
    for (name, value) in [
        ("auth_url", &provider.auth_url),
        ("token_url", &provider.token_url),
    ] {
        if value.as_deref().is_some_and(|url| !is_web_url(url)) {
            push(name, "must be an http:// or https:// URL".into());
        }
    }
    let choices = [
        ("pkce", &provider.pkce, &["auto", "force", "never"][..]),
        (
            "claims_source",
            &provider.claims_source,
            &["id_token", "userinfo"][..],
        ),
    ];
    for (name, value, allowed) in choices {
        if let Some(value) = value
            && !allowed.contains(&value.as_str())
        {
            push(
                name,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            );
        }
    }
    if provider
        .requested_claims
        .as_ref()
        .is_some_and(|claims| !claims.is_object())
    {
        push("requested_claims", "must be an object".into());
    }
    if provider
        .additional_id_token_audiences
        .iter()
        .any(|audience| audience.is_empty())
    {
        push(
            "additional_id_token_audiences",
            "must not hold an empty client id".into(),
        );
    }
    for name in provider.upstream_parameters.keys() {
        if RESERVED_PARAMETERS.contains(&name.as_str()) {
            push(
                &format!("upstream_parameters.{name}"),
                "is set by the server and cannot be overridden".into(),
            );
        }
    }
    problems
}

/// Authorization request parameters the server sets itself.
const RESERVED_PARAMETERS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "claims",
];

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn is_web_url(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}
