//! Hook settings with Kratos's key names: the `before` and `after` sections
//! of `selfservice.flows.<flow>`.
//!
//! ```yaml
//! selfservice:
//!   flows:
//!     registration:
//!       before:
//!         hooks:
//!           - hook: web_hook
//!             config: { url: https://example.org/check, method: POST }
//!       after:
//!         default_browser_return_url: https://example.org/welcome
//!         hooks: [ ... ]           # for every method without its own list
//!         password:
//!           hooks:
//!             - hook: session
//! ```
//!
//! These types only describe the settings; the server's hook module checks
//! where each hook may run and turns them into runnable hooks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::is_default;

/// `selfservice.flows.<flow>.before`: hooks run when a flow is created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct BeforeHooks {
    /// Hooks to run, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookConfig>,
}

/// `selfservice.flows.<flow>.after`: hooks run when a flow completes, and
/// where browsers go afterwards.
///
/// A method with its own non-empty `hooks` list runs that list instead of the
/// global one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AfterHooks {
    /// Where browsers are sent after the flow (unless a method sets its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_browser_return_url: Option<String>,
    /// Hooks for every method that has no list of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookConfig>,
    /// After a password login, registration or change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<MethodAfterHooks>,
    /// After a one-time-code login or registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<MethodAfterHooks>,
    /// After a social sign-in or registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<MethodAfterHooks>,
    /// After a WebAuthn login or registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<MethodAfterHooks>,
    /// After a passkey login or registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<MethodAfterHooks>,
    /// After a TOTP login or change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<MethodAfterHooks>,
    /// After a recovery-code login or change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_secret: Option<MethodAfterHooks>,
    /// After a profile change (settings flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<MethodAfterHooks>,
}

/// The method names `after` may carry a section for.
pub const AFTER_METHODS: [&str; 8] = [
    "password",
    "code",
    "oidc",
    "webauthn",
    "passkey",
    "totp",
    "lookup_secret",
    "profile",
];

impl AfterHooks {
    /// The section of one method (`password`, `profile`, ...), if configured.
    pub fn method(&self, method: &str) -> Option<&MethodAfterHooks> {
        match method {
            "password" => self.password.as_ref(),
            "code" => self.code.as_ref(),
            "oidc" => self.oidc.as_ref(),
            "webauthn" => self.webauthn.as_ref(),
            "passkey" => self.passkey.as_ref(),
            "totp" => self.totp.as_ref(),
            "lookup_secret" => self.lookup_secret.as_ref(),
            "profile" => self.profile.as_ref(),
            _ => None,
        }
    }

    /// Every configured method section with its name, in [`AFTER_METHODS`] order.
    pub fn methods(&self) -> impl Iterator<Item = (&'static str, &MethodAfterHooks)> {
        AFTER_METHODS
            .into_iter()
            .filter_map(|name| self.method(name).map(|section| (name, section)))
    }

    /// The return URL for browsers after `method`: the method's own, else the global one.
    pub fn browser_return_url(&self, method: &str) -> Option<&str> {
        self.method(method)
            .and_then(|m| m.default_browser_return_url.as_deref())
            .or(self.default_browser_return_url.as_deref())
    }
}

/// `selfservice.flows.<flow>.after.<method>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MethodAfterHooks {
    /// Where browsers are sent after this method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_browser_return_url: Option<String>,
    /// Hooks to run after this method, replacing the flow's global list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookConfig>,
}

/// One configured hook: `{hook: <name>, config: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "hook", content = "config", rename_all = "snake_case")]
pub enum HookConfig {
    /// Issue a session (registration): the new user is signed in.
    Session,
    /// Send the browser to the verification flow after registration.
    ShowVerificationUi,
    /// Revoke the identity's other sessions (login, settings).
    RevokeActiveSessions,
    /// Refuse a login until an address is verified.
    RequireVerifiedAddress,
    /// Call an HTTP endpoint.
    WebHook(WebHookConfig),
}

impl HookConfig {
    /// The name as written in the config (`session`, `web_hook`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            HookConfig::Session => "session",
            HookConfig::ShowVerificationUi => "show_verification_ui",
            HookConfig::RevokeActiveSessions => "revoke_active_sessions",
            HookConfig::RequireVerifiedAddress => "require_verified_address",
            HookConfig::WebHook(_) => "web_hook",
        }
    }
}

/// The `config` of a `web_hook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebHookConfig {
    /// A name for logs and errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The URL to call (`http://` or `https://`).
    pub url: String,
    /// The HTTP method (`POST` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Headers sent with every call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The Jsonnet program that renders the request body, a function of `ctx`:
    /// `file://`, `base64://` or `http(s)://` URL (a bare path is read as a
    /// file). Without it the request body is `ctx` itself as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How the call authenticates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebHookAuth>,
    /// What to do with the response.
    #[serde(default, skip_serializing_if = "is_default")]
    pub response: WebHookResponse,
    /// Deprecated name of `response.parse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_interrupt: Option<bool>,
    /// Accepted for compatibility; has no effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emit_analytics_event: Option<bool>,
}

impl WebHookConfig {
    /// Whether the response is parsed (`response.parse` or `can_interrupt`).
    pub fn parses_response(&self) -> bool {
        self.response.parse || self.can_interrupt == Some(true)
    }
}

/// `web_hook` `response`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct WebHookResponse {
    /// Call asynchronously and do not wait for the answer.
    pub ignore: bool,
    /// Read the answer: it may patch the identity or interrupt the flow.
    pub parse: bool,
}

/// `web_hook` `auth`.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "config", rename_all = "snake_case")]
pub enum WebHookAuth {
    /// A key sent in a header or a cookie.
    ApiKey(ApiKeyAuth),
    /// HTTP basic authentication.
    BasicAuth(BasicAuth),
}

impl std::fmt::Debug for WebHookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebHookAuth::ApiKey(key) => f
                .debug_struct("ApiKey")
                .field("name", &key.name)
                .field("in", &key.location)
                .finish_non_exhaustive(),
            WebHookAuth::BasicAuth(basic) => f
                .debug_struct("BasicAuth")
                .field("user", &basic.user)
                .finish_non_exhaustive(),
        }
    }
}

/// `auth.config` for `type: api_key`.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyAuth {
    /// Header or cookie name.
    pub name: String,
    /// The key.
    pub value: String,
    /// Where the key goes.
    #[serde(rename = "in")]
    pub location: ApiKeyLocation,
}

/// Where an API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// `auth.config` for `type: basic_auth`.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}
