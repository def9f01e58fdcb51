//! The configuration tree, with Kratos's key names.
//!
//! Only sections of features the server has are typed here; any other key is
//! reported as a warning when the file is loaded and otherwise ignored.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::hash::{GoDuration, HashersConfig};
use crate::hook::{AfterHooks, BeforeHooks};

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
    pub serve: Serve,
    /// Secrets for cookies and encryption.
    pub secrets: Secrets,
    /// Password hashers.
    pub hashers: HashersConfig,
    /// Identity schemas.
    pub identity: IdentityConfig,
    /// Logging.
    pub log: Log,
    /// Sessions.
    pub session: SessionConfig,
    /// Self-service flows and methods.
    pub selfservice: SelfServiceConfig,
}

/// The `session` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SessionConfig {
    /// How long a session lasts (`24h` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<GoDuration>,
}

impl SessionConfig {
    /// The session lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.lifespan
            .map_or(Duration::from_secs(24 * 3600), |d| d.0)
    }
}

/// The `selfservice` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SelfServiceConfig {
    /// Flow settings.
    pub flows: FlowsConfig,
    /// Method settings.
    pub methods: MethodsConfig,
}

/// The `selfservice.flows` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowsConfig {
    /// Login flows.
    pub login: FlowConfig,
    /// Registration flows.
    pub registration: FlowConfig,
}

/// Settings shared by every flow kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowConfig {
    /// How long a flow can be submitted (`1h` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<GoDuration>,
    /// Hooks run when a flow is created.
    pub before: BeforeHooks,
    /// Hooks run when a flow completes, and where browsers go next.
    pub after: AfterHooks,
}

impl FlowConfig {
    /// The flow lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.lifespan.map_or(Duration::from_secs(3600), |d| d.0)
    }
}

/// The `selfservice.methods` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MethodsConfig {
    /// Identifier and password.
    pub password: PasswordMethodConfig,
}

/// The `selfservice.methods.password` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasswordMethodConfig {
    /// Whether the method is offered (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Password policy.
    pub config: PasswordConfig,
}

impl PasswordMethodConfig {
    /// Whether the method is offered.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// The `selfservice.methods.password.config` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PasswordConfig {
    /// Shortest password accepted (8 by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_password_length: Option<usize>,
}

/// The `serve` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Serve {
    /// The public API listener.
    pub public: Listener,
    /// The admin API listener.
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
