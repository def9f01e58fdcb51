//! The configuration tree, with Kratos's key names.
//!
//! Only sections of features the server has are typed here; any other key is
//! reported as a warning when the file is loaded and otherwise ignored.
//!
//! Every section has a `Default` (nothing set) and public fields, so a program
//! can build a configuration and serialize it: sections and values left at
//! their default are not written.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::courier::CourierConfig;
use crate::hashers::HashersConfig;
use crate::hooks::{AfterHooks, BeforeHooks};
use crate::is_default;
use crate::units::GoDuration;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Config {
    /// Config file format version (informational).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Data source name: `memory`, `sqlite://...`, `postgres://...` or `mysql://...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
    /// Listeners.
    #[serde(skip_serializing_if = "is_default")]
    pub serve: Serve,
    /// Secrets for cookies and encryption.
    #[serde(skip_serializing_if = "is_default")]
    pub secrets: Secrets,
    /// Password hashers.
    #[serde(skip_serializing_if = "is_default")]
    pub hashers: HashersConfig,
    /// Identity schemas.
    #[serde(skip_serializing_if = "is_default")]
    pub identity: IdentityConfig,
    /// Logging.
    #[serde(skip_serializing_if = "is_default")]
    pub log: Log,
    /// Sessions.
    #[serde(skip_serializing_if = "is_default")]
    pub session: SessionConfig,
    /// Self-service flows and methods.
    #[serde(skip_serializing_if = "is_default")]
    pub selfservice: SelfServiceConfig,
    /// Settings of every cookie but the session cookie (CSRF).
    #[serde(skip_serializing_if = "is_default")]
    pub cookies: CookiesConfig,
    /// Brute-force throttling of credential checks (Bia's own section).
    #[serde(skip_serializing_if = "is_default")]
    pub throttle: ThrottleConfig,
    /// Message rendering and delivery.
    #[serde(skip_serializing_if = "is_default")]
    pub courier: CourierConfig,
    /// Request traces (OpenTelemetry).
    #[serde(skip_serializing_if = "is_default")]
    pub tracing: crate::tracing::TracingConfig,
    /// Encryption of secrets kept at rest (TOTP secrets).
    #[serde(skip_serializing_if = "is_default")]
    pub ciphers: CiphersConfig,
    /// Protections that change what answers reveal.
    #[serde(skip_serializing_if = "is_default")]
    pub security: SecurityConfig,
}

/// The `security` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SecurityConfig {
    /// Account enumeration.
    #[serde(skip_serializing_if = "is_default")]
    pub account_enumeration: AccountEnumerationConfig,
}

/// The `security.account_enumeration` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AccountEnumerationConfig {
    /// Whether an identifier-first login answers alike for accounts that
    /// exist and accounts that do not (false by default: an unknown
    /// identifier is told so, and only an account's own ways to sign in
    /// are offered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitigate: Option<bool>,
}

/// The `ciphers` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CiphersConfig {
    /// `xchacha20-poly1305` (the default) or `aes` (AES-256-GCM); `noop`,
    /// which Kratos offers to store secrets in clear text, is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
}

/// An authenticator assurance level a feature requires
/// (`session.whoami.required_aal`, `selfservice.flows.settings.required_aal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RequiredAal {
    /// Any session will do.
    #[serde(rename = "aal1")]
    Aal1,
    /// A session must have used a second factor when its identity has one
    /// (the default, as Kratos).
    #[default]
    #[serde(rename = "highest_available")]
    HighestAvailable,
}

/// The `session.whoami` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct WhoamiConfig {
    /// The assurance level `/sessions/whoami` requires (`highest_available`
    /// by default, as Kratos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_aal: Option<RequiredAal>,
}

/// The `cookies` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CookiesConfig {
    /// The cookie domain (the request host when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The cookie path (`/` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Lax` (default), `Strict` or `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
}

/// The `session.cookie` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SessionCookieConfig {
    /// The cookie name (`ory_kratos_session` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The cookie domain (the request host when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The cookie path (`/` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Lax` (default), `Strict` or `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
    /// Whether the cookie outlives the browser session (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
}

/// The `session` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SessionConfig {
    /// How long a session lasts (`24h` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<GoDuration>,
    /// How close to its expiry a session must be before the admin API may
    /// extend it: `1h` allows an extension only in its last hour. The
    /// lifespan by default, so that any session can be extended; setting it
    /// spares the database a write per call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_possible_extend: Option<GoDuration>,
    /// A Bia option: a session not used for this long ends (off by default).
    /// Each use moves its `expires_at` forward to now plus this, never past
    /// its authentication time plus the lifespan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_timeout: Option<GoDuration>,
    /// The session cookie.
    #[serde(skip_serializing_if = "is_default")]
    pub cookie: SessionCookieConfig,
    /// How `/sessions/whoami` answers.
    #[serde(skip_serializing_if = "is_default")]
    pub whoami: WhoamiConfig,
}

impl SessionConfig {
    /// The session lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.lifespan
            .map_or(Duration::from_secs(24 * 3600), |d| d.0)
    }

    /// The extension window in force: the lifespan unless set.
    pub fn earliest_possible_extend(&self) -> Duration {
        self.earliest_possible_extend
            .map_or_else(|| self.lifespan(), |d| d.0)
    }

    /// The inactivity timeout, when one is set (a zero duration is none).
    pub fn inactivity_timeout(&self) -> Option<Duration> {
        self.inactivity_timeout
            .map(|d| d.0)
            .filter(|d| !d.is_zero())
    }
}

/// The `selfservice` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SelfServiceConfig {
    /// Where browsers go after a flow when nothing more specific is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_browser_return_url: Option<String>,
    /// URLs `return_to` may point at (prefix match; `*.` in the host for subdomains).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_return_urls: Vec<String>,
    /// Flow settings.
    #[serde(skip_serializing_if = "is_default")]
    pub flows: FlowsConfig,
    /// Method settings.
    #[serde(skip_serializing_if = "is_default")]
    pub methods: MethodsConfig,
}

/// The `selfservice.flows` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowsConfig {
    /// Login flows.
    #[serde(skip_serializing_if = "is_default")]
    pub login: FlowConfig,
    /// Registration flows.
    #[serde(skip_serializing_if = "is_default")]
    pub registration: FlowConfig,
    /// Settings flows.
    #[serde(skip_serializing_if = "is_default")]
    pub settings: SettingsFlowConfig,
    /// Account recovery flows.
    #[serde(skip_serializing_if = "is_default")]
    pub recovery: AddressFlowConfig,
    /// Address verification flows.
    #[serde(skip_serializing_if = "is_default")]
    pub verification: AddressFlowConfig,
    /// Logout.
    #[serde(skip_serializing_if = "is_default")]
    pub logout: LogoutFlowConfig,
    /// Error pages.
    #[serde(skip_serializing_if = "is_default")]
    pub error: ErrorFlowConfig,
}

/// The `selfservice.flows.settings` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SettingsFlowConfig {
    /// Settings shared with the other flows.
    #[serde(flatten)]
    pub flow: FlowConfig,
    /// How long after signing in a password or profile may change without
    /// signing in again (`15m` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged_session_max_age: Option<GoDuration>,
    /// The assurance level a settings change requires (`highest_available`
    /// by default, as Kratos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_aal: Option<RequiredAal>,
}

impl SettingsFlowConfig {
    /// The assurance level a settings change requires.
    pub fn required_aal(&self) -> RequiredAal {
        self.required_aal.unwrap_or_default()
    }

    /// The privileged session age in force.
    pub fn privileged_session_max_age(&self) -> Duration {
        self.privileged_session_max_age
            .map_or(Duration::from_secs(15 * 60), |d| d.0)
    }
}

/// The `selfservice.flows.recovery` and `selfservice.flows.verification`
/// sections: flows that send a code or a link to an address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AddressFlowConfig {
    /// Settings shared with the other flows (`enabled` is false by default here).
    #[serde(flatten)]
    pub flow: FlowConfig,
    /// `code` (default) or `link`: what the message carries.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_method: Option<String>,
    /// Whether an address no identity has gets a message saying so (false
    /// by default: nothing is sent, and the answer is the same either way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_unknown_recipients: Option<bool>,
}

impl AddressFlowConfig {
    /// Whether the flow is offered (false by default).
    pub fn is_enabled(&self) -> bool {
        self.flow.enabled.unwrap_or(false)
    }

    /// The method in use: `code` unless `link` is chosen.
    pub fn method(&self) -> &str {
        self.use_method.as_deref().unwrap_or("code")
    }
}

/// The `selfservice.flows.logout` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LogoutFlowConfig {
    /// What happens after logout.
    #[serde(skip_serializing_if = "is_default")]
    pub after: AfterConfig,
}

/// The `selfservice.flows.error` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ErrorFlowConfig {
    /// The page that shows an error flow (`/ui/error` of this server when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_url: Option<String>,
}

/// What happens after a flow completes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AfterConfig {
    /// Where browsers go next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_browser_return_url: Option<String>,
}

/// Settings shared by every flow kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowConfig {
    /// How long a flow can be submitted (`1h` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<GoDuration>,
    /// The page that renders the flow (`/ui/<flow>` of this server when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_url: Option<String>,
    /// Whether the flow is offered (registration can be switched off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Login and registration: how the form asks (`unified`, the default:
    /// everything on one form; login also takes `identifier_first`: the
    /// identifier first, then the ways that account can sign in;
    /// registration also takes `profile_first`: the traits first, then the
    /// ways to prove it is you).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Hooks run when a flow is created.
    #[serde(skip_serializing_if = "is_default")]
    pub before: BeforeHooks,
    /// Hooks run when a flow completes, and where browsers go next.
    #[serde(skip_serializing_if = "is_default")]
    pub after: AfterHooks,
}

impl FlowConfig {
    /// The flow lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.lifespan.map_or(Duration::from_secs(3600), |d| d.0)
    }

    /// Whether the login form asks for the identifier first.
    pub fn identifier_first(&self) -> bool {
        self.style.as_deref() == Some("identifier_first")
    }

    /// Whether the registration form asks for the traits first.
    pub fn profile_first(&self) -> bool {
        self.style.as_deref() == Some("profile_first")
    }
}

/// The `selfservice.methods` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MethodsConfig {
    /// Identifier and password.
    #[serde(skip_serializing_if = "is_default")]
    pub password: PasswordMethodConfig,
    /// Editing one's own traits in settings.
    #[serde(skip_serializing_if = "is_default")]
    pub profile: ProfileMethodConfig,
    /// One-time codes sent to an address (recovery, verification).
    #[serde(skip_serializing_if = "is_default")]
    pub code: OneTimeMethodConfig,
    /// Links sent to an address (recovery, verification).
    #[serde(skip_serializing_if = "is_default")]
    pub link: OneTimeMethodConfig,
    /// Time-based one-time passwords from an authenticator app (a second factor).
    #[serde(skip_serializing_if = "is_default")]
    pub totp: TotpMethodConfig,
    /// Sign-in with OpenID Connect providers.
    #[serde(skip_serializing_if = "is_default")]
    pub oidc: crate::oidc::OidcMethodConfig,
    /// Recovery (lookup) codes shown once in settings (a second factor).
    #[serde(skip_serializing_if = "is_default")]
    pub lookup_secret: LookupSecretMethodConfig,
    /// Security keys (WebAuthn) as a second factor.
    #[serde(skip_serializing_if = "is_default")]
    pub webauthn: WebauthnMethodConfig,
    /// Passkeys: sign-up and sign-in with a discoverable WebAuthn credential alone.
    #[serde(skip_serializing_if = "is_default")]
    pub passkey: PasskeyMethodConfig,
}

/// The `selfservice.methods.webauthn` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct WebauthnMethodConfig {
    /// Whether the method is offered (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Method settings.
    #[serde(skip_serializing_if = "is_default")]
    pub config: WebauthnSettings,
}

impl WebauthnMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }
}

/// `selfservice.methods.webauthn.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct WebauthnSettings {
    /// Security keys as a first factor; only `false` is supported (sign-in
    /// without a password is what `selfservice.methods.passkey` offers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passwordless: Option<bool>,
    /// The relying party: this server as authenticators know it.
    #[serde(skip_serializing_if = "is_default")]
    pub rp: RelyingPartyConfig,
}

/// The `selfservice.methods.passkey` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasskeyMethodConfig {
    /// Whether the method is offered (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Method settings.
    #[serde(skip_serializing_if = "is_default")]
    pub config: PasskeySettings,
}

impl PasskeyMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }
}

/// `selfservice.methods.passkey.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasskeySettings {
    /// The relying party: this server as authenticators know it.
    #[serde(skip_serializing_if = "is_default")]
    pub rp: RelyingPartyConfig,
}

/// `rp`: the WebAuthn relying party of the security key and passkey methods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RelyingPartyConfig {
    /// The relying party id: the registrable domain (or a parent of it) that
    /// every origin shares, e.g. `example.org` (required when the method is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name authenticators show (required when the method is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// One origin the browser pages run on (deprecated: use `origins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The origins the browser pages run on, e.g. `https://auth.example.org`
    /// (by default `https://` and the id, or the public base URL when its
    /// host is the id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
}

impl RelyingPartyConfig {
    /// Every configured origin (`origin` and `origins`), in order.
    pub fn listed_origins(&self) -> Vec<String> {
        self.origin
            .iter()
            .chain(self.origins.iter().flatten())
            .cloned()
            .collect()
    }

    /// The origins in force: the listed ones, else the public base URL's
    /// origin when its host is the id, else `https://` and the id.
    pub fn effective_origins(&self, public_base_url: &str) -> Vec<String> {
        let listed = self.listed_origins();
        if !listed.is_empty() {
            return listed;
        }
        let Some(id) = self.id.as_deref() else {
            return Vec::new();
        };
        match url::Url::parse(public_base_url) {
            Ok(base) if base.host_str() == Some(id) => {
                vec![base.origin().ascii_serialization()]
            }
            _ => vec![format!("https://{id}")],
        }
    }
}

/// The `selfservice.methods.lookup_secret` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LookupSecretMethodConfig {
    /// Whether the method is offered (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl LookupSecretMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }
}

/// The `selfservice.methods.totp` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TotpMethodConfig {
    /// Whether the method is offered (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Method settings.
    #[serde(skip_serializing_if = "is_default")]
    pub config: TotpSettings,
}

impl TotpMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }
}

/// `selfservice.methods.totp.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TotpSettings {
    /// The name authenticator apps show next to the account (the public
    /// base URL's host by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// The `selfservice.methods.code` and `selfservice.methods.link` sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OneTimeMethodConfig {
    /// Whether the method is offered (true by default for `code`, false for `link`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Code only: whether codes sign in and sign up without a password
    /// (false by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passwordless_enabled: Option<bool>,
    /// Code only: whether a code to one of the account's code addresses is
    /// offered as a second factor, stepping a session up to `aal2` (false by
    /// default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    /// Method settings.
    #[serde(skip_serializing_if = "is_default")]
    pub config: OneTimeSettings,
}

/// `selfservice.methods.{code,link}.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OneTimeSettings {
    /// How long a code or link works (`1h` by default; never past its flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<GoDuration>,
    /// Code only: wrong codes a flow accepts before its codes are voided (5
    /// by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_submissions: Option<u32>,
    /// Link only: the base URL of links (the public base URL by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl OneTimeSettings {
    /// The lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.lifespan.map_or(Duration::from_secs(3600), |d| d.0)
    }

    /// The wrong-guess limit in force.
    pub fn max_submissions(&self) -> u32 {
        self.max_submissions.unwrap_or(5).max(1)
    }
}

/// The `selfservice.methods.profile` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ProfileMethodConfig {
    /// Whether the method is offered (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// The `selfservice.methods.password` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasswordMethodConfig {
    /// Whether the method is offered (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Password policy.
    #[serde(skip_serializing_if = "is_default")]
    pub config: PasswordConfig,
}

impl PasswordMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// The `selfservice.methods.password.config` section: the password policy
/// applied when a password is chosen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasswordConfig {
    /// Shortest password accepted, in characters (8 by default, at least 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_password_length: Option<usize>,
    /// Whether a password too similar to one of the identity's identifiers is
    /// refused (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_similarity_check_enabled: Option<bool>,
    /// Whether passwords are looked up in the Have I Been Pwned password
    /// database, by k-anonymity range query (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub haveibeenpwned_enabled: Option<bool>,
    /// The Have I Been Pwned host (`api.pwnedpasswords.com` by default,
    /// reached over https); a full `http(s)://host:port` base URL is accepted
    /// too, for a self-hosted mirror.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub haveibeenpwned_host: Option<String>,
    /// How many breaches a password may have appeared in before it is refused
    /// (0 by default, at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_breaches: Option<u64>,
    /// Whether a password is accepted when the breach lookup fails (true by
    /// default); when false the submission is refused until the lookup works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_network_errors: Option<bool>,
}

impl PasswordConfig {
    /// The minimum password length in force.
    pub fn min_password_length(&self) -> usize {
        self.min_password_length.unwrap_or(8)
    }

    /// Whether the identifier similarity check is on.
    pub fn identifier_similarity_check_enabled(&self) -> bool {
        self.identifier_similarity_check_enabled.unwrap_or(true)
    }

    /// Whether the breach lookup is on.
    pub fn haveibeenpwned_enabled(&self) -> bool {
        self.haveibeenpwned_enabled.unwrap_or(true)
    }

    /// The base URL of the breach lookup, without a trailing `/`: the host
    /// behind `https://`, or the configured URL when it names a scheme.
    pub fn haveibeenpwned_base_url(&self) -> String {
        let host = self
            .haveibeenpwned_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or("api.pwnedpasswords.com");
        let url = if host.contains("://") {
            host.to_owned()
        } else {
            format!("https://{host}")
        };
        url.trim_end_matches('/').to_owned()
    }

    /// Breaches tolerated before a password is refused.
    pub fn max_breaches(&self) -> u64 {
        self.max_breaches.unwrap_or(0)
    }

    /// Whether a failed breach lookup lets the password through.
    pub fn ignore_network_errors(&self) -> bool {
        self.ignore_network_errors.unwrap_or(true)
    }
}

/// The `throttle` section: Bia's own brute-force protection of credential
/// checks (not a Kratos key; Kratos leaves this to a gateway).
///
/// Counters live in the memory of each replica, so with several replicas an
/// attacker gets up to that many times the limits. A refused attempt is
/// answered with 429 and `Retry-After`.
///
/// ```yaml
/// throttle:
///   enabled: true
///   per_identifier: { max_failures: 10, window: 5m }
///   per_ip: { max_attempts: 100, window: 1m }
///   max_tracked_keys: 100000
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ThrottleConfig {
    /// Whether credential checks are throttled (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Failed sign-ins per identifier (the submitted one, known or not); a
    /// successful sign-in does not count, and does not clear earlier failures.
    #[serde(skip_serializing_if = "is_default")]
    pub per_identifier: ThrottleRule,
    /// Sign-in attempts per client address, failed or not.
    #[serde(skip_serializing_if = "is_default")]
    pub per_ip: ThrottleRule,
    /// Self-service flows created per client address (1000 per minute by
    /// default), so one client cannot fill the database with flows.
    #[serde(skip_serializing_if = "is_default")]
    pub flows_per_ip: ThrottleRule,
    /// Most identifiers and most addresses tracked at once, each (100000 by
    /// default); past it, the entries closest to expiry are dropped first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked_keys: Option<usize>,
}

/// One throttling rule: at most `max_attempts` within `window`, replenished
/// evenly (one attempt every `window / max_attempts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ThrottleRule {
    /// Attempts allowed within the window (10 failures per identifier, 100
    /// attempts per address by default; 0 turns the rule off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// The window (`5m` per identifier, `1m` per address by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<GoDuration>,
}

impl ThrottleConfig {
    /// Whether throttling is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// Failures allowed per identifier, and their window.
    pub fn per_identifier(&self) -> (u32, Duration) {
        self.per_identifier.resolve(10, Duration::from_secs(300))
    }

    /// Attempts allowed per client address, and their window.
    pub fn per_ip(&self) -> (u32, Duration) {
        self.per_ip.resolve(100, Duration::from_secs(60))
    }

    /// Flows allowed per client address, and their window.
    pub fn flows_per_ip(&self) -> (u32, Duration) {
        self.flows_per_ip.resolve(1000, Duration::from_secs(60))
    }

    /// Most keys tracked per rule.
    pub fn max_tracked_keys(&self) -> usize {
        self.max_tracked_keys.unwrap_or(100_000)
    }
}

impl ThrottleRule {
    fn resolve(&self, attempts: u32, window: Duration) -> (u32, Duration) {
        (
            self.max_attempts.unwrap_or(attempts),
            self.window.map_or(window, |w| w.0),
        )
    }
}

/// The `serve` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Serve {
    /// The public API listener.
    #[serde(skip_serializing_if = "is_default")]
    pub public: Listener,
    /// The admin API listener.
    #[serde(skip_serializing_if = "is_default")]
    pub admin: Listener,
}

/// One HTTP listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Listener {
    /// The URL clients reach this listener at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Interface to bind (all interfaces when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port to bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Cross-origin settings (public listener).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    /// Largest request body accepted, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body_limit: Option<usize>,
    /// Proxies (IP addresses or CIDR ranges) whose `True-Client-IP` and
    /// `X-Forwarded-For` headers are believed; from anyone else the peer
    /// address is the client address. Empty by default.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// Bia only: believe a trusted proxy's `True-Client-IP` header (as a CDN
    /// sends it) before its `X-Forwarded-For` chain. Off by default: a proxy
    /// that passes the header through from clients would let them choose
    /// their address.
    #[serde(skip_serializing_if = "is_default")]
    pub trust_true_client_ip: bool,
}

/// Cross-origin resource sharing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Cors {
    /// Whether CORS headers are sent.
    pub enabled: bool,
    /// Origins allowed to call the API.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// Methods allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_methods: Vec<String>,
    /// Request headers allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_headers: Vec<String>,
    /// Response headers exposed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposed_headers: Vec<String>,
    /// Whether credentials (cookies) may be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Seconds a preflight answer may be cached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Debug logging of CORS decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
}

/// The `secrets` section: the first secret of a list signs or encrypts, all verify.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Secrets {
    /// Secrets used when a specific list is empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
    /// Cookie signing secrets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookie: Vec<String>,
    /// Encryption secrets (exactly 32 characters each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher: Vec<String>,
}

impl Secrets {
    /// The cookie secrets in force: `cookie`, else `default`.
    pub fn cookie_secrets(&self) -> &[String] {
        if self.cookie.is_empty() {
            &self.default
        } else {
            &self.cookie
        }
    }
}

/// The `identity` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct IdentityConfig {
    /// The schema new identities use when none is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_schema_id: Option<String>,
    /// Every schema identities may use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<SchemaEntry>,
}

/// One identity schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SchemaEntry {
    /// Its id.
    pub id: String,
    /// Where to load it: `file://`, `base64://`, `http(s)://`.
    pub url: String,
    /// Whether login and registration flows may be started for it with
    /// their `identity_schema` query parameter (the default schema always
    /// may).
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub selfservice_selectable: bool,
}

/// The `log` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Log {
    /// `trace`, `debug`, `info`, `warn`, `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `text` or `json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Accepted for compatibility; secrets are never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak_sensitive_values: Option<bool>,
}

impl Config {
    /// Public listener port (default 4433).
    pub fn public_port(&self) -> u16 {
        self.serve.public.port.unwrap_or(4433)
    }

    /// Admin listener port (default 4434).
    pub fn admin_port(&self) -> u16 {
        self.serve.admin.port.unwrap_or(4434)
    }

    /// The public base URL, always ending in `/`.
    pub fn public_base_url(&self) -> String {
        base_url(&self.serve.public, self.public_port())
    }

    /// The admin base URL, always ending in `/`.
    pub fn admin_base_url(&self) -> String {
        base_url(&self.serve.admin, self.admin_port())
    }

    /// The DSN in force (`memory` when none is set).
    pub fn dsn(&self) -> &str {
        self.dsn.as_deref().unwrap_or("memory")
    }

    /// The default identity schema id.
    pub fn default_schema_id(&self) -> &str {
        self.identity
            .default_schema_id
            .as_deref()
            .unwrap_or("default")
    }
}

fn base_url(listener: &Listener, port: u16) -> String {
    let url = listener.base_url.clone().unwrap_or_else(|| {
        let host = listener
            .host
            .as_deref()
            .filter(|h| !h.is_empty() && *h != "0.0.0.0")
            .unwrap_or("127.0.0.1");
        format!("http://{host}:{port}/")
    });
    if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    }
}
