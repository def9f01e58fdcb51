//! The `selfservice.methods.oidc` section: sign-in with OpenID Connect
//! providers. Keys keep Kratos's names; a key the provider's kind does not
//! read (an Apple key on a Microsoft provider, ...) is refused by name.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, key};
use crate::is_default;

mod kind;

pub use kind::apple_signing_key;

/// The provider kinds this version implements.
pub const PROVIDER_KINDS: &[&str] = &[
    "generic",
    "google",
    "gitlab",
    "auth0",
    "microsoft",
    "apple",
    "linkedin",
    "github",
    "github-app",
    "discord",
    "slack",
    "facebook",
];

/// The kinds that are plain OAuth 2.0 with a user API, without ID tokens:
/// their claims come from the provider's API, their endpoints are fixed (or
/// under `api_base_url`), and they have no issuer or discovery.
pub const OAUTH2_KINDS: &[&str] = &["github", "github-app", "discord", "slack", "facebook"];

/// Whether `kind` is a plain OAuth 2.0 kind (see [`OAUTH2_KINDS`]).
pub fn is_oauth2_kind(kind: &str) -> bool {
    OAUTH2_KINDS.contains(&kind)
}

/// The Microsoft tenant signed in with when `microsoft_tenant` is not set:
/// any work, school or personal account.
pub const MICROSOFT_DEFAULT_TENANT: &str = "common";

/// The Microsoft tenants whose tokens are issued by the account's own
/// tenant (`https://login.microsoftonline.com/{tid}/v2.0`), not by the
/// configured one.
pub const MICROSOFT_MULTI_TENANTS: &[&str] = &["common", "organizations", "consumers"];

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
        "linkedin" => Some("https://www.linkedin.com/oauth"),
        "gitlab" => Some("https://gitlab.com"),
        "apple" => Some("https://appleid.apple.com"),
        _ => None,
    }
}

/// The issuer a provider entry signs in with: its `issuer_url`, else its
/// kind's own (for `microsoft`, the one of its tenant).
pub fn issuer(provider: &OidcProvider) -> Option<String> {
    if let Some(url) = &provider.issuer_url {
        return Some(url.clone());
    }
    if provider.provider == "microsoft" {
        let tenant = provider
            .microsoft_tenant
            .as_deref()
            .unwrap_or(MICROSOFT_DEFAULT_TENANT);
        return Some(format!("https://login.microsoftonline.com/{tenant}/v2.0"));
    }
    default_issuer(&provider.provider).map(str::to_owned)
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
    /// The kind of provider: `generic` (any OpenID Connect provider, found
    /// through discovery), `google`, `gitlab`, `auth0`, `microsoft`,
    /// `apple`, `linkedin`, or one of the plain OAuth 2.0 kinds `github`,
    /// `github-app`, `discord`, `slack`, `facebook`.
    pub provider: String,
    /// The name shown on its button (the id by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret registered at the provider. An `apple` provider
    /// without one signs its own from the `apple_*` keys.
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
    /// Bia's own key (Kratos has none): for the plain OAuth 2.0 kinds, the
    /// base URL that replaces the provider's fixed origins. Every endpoint
    /// (authorization, token, user API) is taken under it with the path it
    /// has at the provider; `auth_url` and `token_url` still replace theirs.
    /// Meant for staging or stand-in providers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
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
    /// `microsoft` only: the tenant (`common` by default, `organizations`,
    /// `consumers`, or a tenant id or domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_tenant: Option<String>,
    /// `microsoft` only: where the subject comes from: `userinfo` (default:
    /// the ID token's `sub`) or `me` (the `id` of Microsoft Graph's `/me`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_source: Option<String>,
    /// `apple` only: the team id the client secret is signed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_team_id: Option<String>,
    /// `apple` only: the id of the private key below, as Apple lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_private_key_id: Option<String>,
    /// `apple` only: the P-256 private key (PKCS#8 PEM, Apple's `.p8` file)
    /// that signs the client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_private_key: Option<String>,
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
    for key in kind::unread_keys(provider) {
        push(
            key,
            format!("is not read by {:?} providers", provider.provider),
        );
    }
    match &provider.issuer_url {
        _ if is_oauth2_kind(&provider.provider) => {}
        None if issuer(provider).is_some() => {}
        None => push(
            "issuer_url",
            format!(
                "is required for {} providers (discovery)",
                provider.provider
            ),
        ),
        Some(url) if !is_web_url(url) => {
            push("issuer_url", "must be an http:// or https:// URL".into())
        }
        Some(_) => {}
    }
    for (name, value) in [
        ("auth_url", &provider.auth_url),
        ("token_url", &provider.token_url),
        ("api_base_url", &provider.api_base_url),
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
    for (key, reason) in kind::problems(provider) {
        push(key, reason);
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
