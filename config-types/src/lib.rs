//! Bia's configuration, shared by the server (which loads it) and the operator
//! (which writes it).
//!
//! - [`Config`] and its sections: every key the server understands, with
//!   Kratos's names. Each section has a `Default` and public fields; values
//!   left at their default are not serialized, so a configuration built in
//!   code serializes to the YAML a person would write.
//! - [`read`]: YAML (or JSON) files merged in order, later files winning, then
//!   environment overrides (`SERVE_PUBLIC_PORT=4455`, see [`env`]), then the
//!   typed tree, with a [`Warning`] for every key this version does not read.
//! - [`check`]: structural checks that name the failing key.
//!
//! This crate is data: it knows no server feature. The DSN, trusted proxies,
//! hooks and hasher costs are plain values here; the server's feature modules
//! interpret their own sections, and its loader reports their errors under
//! the section's key. [`json_schema`] is the schema of [`Config`], committed
//! as `config/config.schema.json`.

mod check;
pub mod courier;
pub mod env;
mod error;
pub mod hashers;
pub mod hooks;
mod load;
pub mod oidc;
pub mod tracing;
mod types;
pub mod units;

use std::path::Path;

use serde_json::Value;

pub use check::check;
pub use courier::{
    CourierChannel, CourierConfig, CourierHttp, CourierTemplates, CourierWorker, DeliveryStrategy,
    EmailBody, EmailTemplate, HttpRequestConfig, SmsBody, SmsTemplate, SmtpConfig,
    TemplateChannels, TemplateVariants,
};
pub use error::{ConfigError, Warning, key};
pub use hashers::{Algorithm, Argon2Config, BcryptConfig, HashersConfig};
pub use hooks::{
    AFTER_METHODS, AfterHooks, ApiKeyAuth, ApiKeyLocation, BasicAuth, BeforeHooks, HookConfig,
    MethodAfterHooks, WebHookAuth, WebHookConfig, WebHookResponse,
};
pub use load::{MAX_FILE_BYTES, merge, parse_text, parse_yaml, read_file, read_files};
pub use oidc::{OidcConfig, OidcMethodConfig, OidcProvider};
pub use tracing::{OtlpConfig, OtlpSampling, TracingConfig, TracingProviders};
pub use types::{
    AddressFlowConfig, AfterConfig, CiphersConfig, Config, CookiesConfig, Cors, ErrorFlowConfig,
    FlowConfig, FlowsConfig, IdentityConfig, Listener, Log, LogoutFlowConfig,
    LookupSecretMethodConfig, MethodsConfig, OneTimeMethodConfig, OneTimeSettings,
    PasskeyMethodConfig, PasskeySettings, PasswordConfig, PasswordMethodConfig,
    ProfileMethodConfig, RelyingPartyConfig, RequiredAal, SchemaEntry, Secrets, SelfServiceConfig,
    Serve, SessionConfig, SessionCookieConfig, SettingsFlowConfig, ThrottleConfig, ThrottleRule,
    TotpMethodConfig, TotpSettings, WebauthnMethodConfig, WebauthnSettings, WhoamiConfig,
};
pub use units::{ByteSize, GoDuration};

/// How the server is started, for the checks that depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// `--dev`: plain HTTP cookies, a generated cookie secret is acceptable.
    pub dev: bool,
}

/// A configuration as read, with the warnings met on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Keys that were ignored (features not built yet, typos).
    pub warnings: Vec<Warning>,
}

/// The JSON Schema of the configuration, as generated from its types.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null)
}

/// Reads files and the environment into the typed configuration, without
/// checking values ([`check`] does): a file that cannot be read, a variable
/// that cannot be applied or a value of the wrong kind is an error.
pub fn read<I>(files: &[impl AsRef<Path>], vars: I) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    read_tree(read_files(files)?, vars)
}

/// [`read`] for files already read and merged: applies the environment to
/// `tree`, then turns it into the typed configuration.
pub fn read_tree<I>(mut tree: Value, vars: I) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    // Generated once per process: the reloader reads the files again on every change.
    static SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(json_schema);
    env::apply(&mut tree, &SCHEMA, vars)?;
    parse(&tree)
}

/// Turns a merged tree into the typed configuration (see [`read`]).
pub fn parse(tree: &Value) -> Result<Loaded, ConfigError> {
    let (config, mut warnings) = load::parse(tree)?;
    warnings.extend(check::inert(&config));
    Ok(Loaded { config, warnings })
}

/// [`read`], then [`check`]: a configuration fit to start on, as far as the
/// structure goes.
pub fn load<I>(files: &[impl AsRef<Path>], vars: I, mode: Mode) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let loaded = read(files, vars)?;
    ConfigError::from_list(check(&loaded.config, mode))?;
    Ok(loaded)
}

impl Config {
    /// The configuration as YAML, in the shape Kratos reads.
    pub fn to_yaml(&self) -> Result<String, String> {
        yaml_serde::to_string(self).map_err(|e| e.to_string())
    }
}

/// Whether a value is its type's default (for `skip_serializing_if`).
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
