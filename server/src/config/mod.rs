//! Configuration: Kratos-format YAML files (later files win), environment
//! overrides resolved against the config's own JSON Schema, then validation.

pub mod env;
mod types;

pub use types::{
    Config, Cors, FlowConfig, FlowsConfig, IdentityConfig, Listener, Log, MethodsConfig,
    PasswordConfig, PasswordMethodConfig, SchemaEntry, Secrets, SelfServiceConfig, Serve,
    SessionConfig, ThrottleConfig, ThrottleRule,
};

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::hook::FlowKind;
use crate::store::Dsn;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("config file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A key has a value of the wrong kind or an invalid value.
    #[error("config key {key}: {reason}")]
    Invalid {
        /// Dotted key, e.g. `serve.public.port`.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable could not be applied.
    #[error("{0}")]
    Environment(String),
}

/// A loaded configuration with the warnings met on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Keys that were ignored (features not built yet, typos).
    pub warnings: Vec<String>,
}

/// How the server is started, for the checks that depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// `--dev`: plain HTTP cookies, a generated cookie secret is acceptable.
    pub dev: bool,
}

/// The JSON Schema of the configuration, as generated from its types.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null)
}

/// Reads files and the environment into a validated configuration.
pub fn load<I>(files: &[PathBuf], vars: I, mode: Mode) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut tree = Value::Object(Default::default());
    for path in files {
        let layer = read_file(path)?;
        merge(&mut tree, layer);
    }
    env::apply(&mut tree, &json_schema(), vars).map_err(ConfigError::Environment)?;
    from_tree(tree, mode)
}

/// Parses a merged tree and validates it.
pub fn from_tree(tree: Value, mode: Mode) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let config: Config = {
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            warnings.push(format!(
                "config key {} is not supported by this version and is ignored",
                path.to_string()
                    .trim_start_matches('?')
                    .trim_start_matches('.')
            ));
        };
        let ignored = serde_ignored::Deserializer::new(&tree, &mut on_ignored);
        serde_path_to_error::deserialize(ignored).map_err(|e| ConfigError::Invalid {
            key: e.path().to_string(),
            reason: e.inner().to_string(),
        })?
    };
    validate(&config, mode)?;
    Ok(Loaded { config, warnings })
}

fn read_file(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    let value: Value = if is_json {
        serde_json::from_str(&text).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
    } else {
        yaml_serde::from_str(&text).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
    };
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        _ => Err(ConfigError::Read {
            path: path.to_owned(),
            reason: "the top level must be a mapping of keys".into(),
        }),
    }
}

/// Deep-merges `layer` into `base`: objects merge key by key, anything else is replaced.
pub fn merge(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Every configured browser URL must be an absolute http(s) URL.
fn validate_urls(config: &Config) -> Result<(), ConfigError> {
    let flows = &config.selfservice.flows;
    let mut urls: Vec<(String, String)> = Vec::new();
    let mut push = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            urls.push((key.to_owned(), value.clone()));
        }
    };
    push(
        "selfservice.default_browser_return_url",
        &config.selfservice.default_browser_return_url,
    );
    for (name, flow) in [
        ("login", &flows.login),
        ("registration", &flows.registration),
        ("settings", &flows.settings.flow),
    ] {
        push(&format!("selfservice.flows.{name}.ui_url"), &flow.ui_url);
        push(
            &format!("selfservice.flows.{name}.after.default_browser_return_url"),
            &flow.after.default_browser_return_url,
        );
    }
    push("selfservice.flows.error.ui_url", &flows.error.ui_url);
    push(
        "selfservice.flows.logout.after.default_browser_return_url",
        &flows.logout.after.default_browser_return_url,
    );
    // Return URLs may use an app's own scheme (`exp://`, `myapp://`).
    for (n, url) in config.selfservice.allowed_return_urls.iter().enumerate() {
        let key = format!("selfservice.allowed_return_urls.{n}");
        url::Url::parse(url).map_err(|e| invalid(&key, format!("{url:?}: {e}")))?;
    }
    for (key, url) in urls {
        let parsed = url::Url::parse(&url).map_err(|e| invalid(&key, format!("{url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(&key, "must be an http:// or https:// URL"));
        }
    }
    Ok(())
}

fn validate(config: &Config, mode: Mode) -> Result<(), ConfigError> {
    Dsn::parse(config.dsn()).map_err(|e| invalid("dsn", e.to_string()))?;
    for (key, listener) in [
        ("serve.public", &config.serve.public),
        ("serve.admin", &config.serve.admin),
    ] {
        if let Some(url) = &listener.base_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| invalid(&format!("{key}.base_url"), format!("{url:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(
                    &format!("{key}.base_url"),
                    "must be an http:// or https:// URL",
                ));
            }
        }
    }
    validate_urls(config)?;
    if let Err(entry) = crate::http::TrustedProxies::parse(&config.serve.public.trusted_proxies) {
        return Err(invalid(
            "serve.public.trusted_proxies",
            format!("{entry:?} is not an IP address or CIDR range"),
        ));
    }
    for (key, same_site) in [
        ("cookies.same_site", &config.cookies.same_site),
        ("session.cookie.same_site", &config.session.cookie.same_site),
    ] {
        if let Some(value) = same_site
            && !matches!(value.as_str(), "Lax" | "Strict" | "None")
        {
            return Err(invalid(
                key,
                format!("{value:?} is not Lax, Strict or None"),
            ));
        }
    }
    let cookie = config.secrets.cookie_secrets();
    if cookie.is_empty() && !mode.dev {
        return Err(invalid(
            "secrets.cookie",
            "no cookie secret is set (secrets.cookie or secrets.default); every replica must \
             share one, so the server refuses to invent one outside --dev",
        ));
    }
    for (n, secret) in cookie.iter().enumerate() {
        if secret.len() < 16 {
            return Err(invalid(
                &format!("secrets.cookie.{n}"),
                "must be at least 16 characters long",
            ));
        }
    }
    for (n, secret) in config.secrets.cipher.iter().enumerate() {
        if secret.len() != 32 {
            return Err(invalid(
                &format!("secrets.cipher.{n}"),
                "must be exactly 32 characters long",
            ));
        }
    }
    if config.identity.schemas.is_empty() {
        return Err(invalid(
            "identity.schemas",
            "at least one identity schema is required",
        ));
    }
    for (n, schema) in config.identity.schemas.iter().enumerate() {
        if schema.id.is_empty() {
            return Err(invalid(
                &format!("identity.schemas.{n}.id"),
                "must not be empty",
            ));
        }
        if schema.url.is_empty() {
            return Err(invalid(
                &format!("identity.schemas.{n}.url"),
                "must not be empty",
            ));
        }
    }
    let default_id = config.default_schema_id();
    if !config.identity.schemas.iter().any(|s| s.id == default_id) {
        return Err(invalid(
            "identity.default_schema_id",
            format!("no schema with id {default_id:?} is listed in identity.schemas"),
        ));
    }
    for (kind, flow) in [
        (FlowKind::Login, &config.selfservice.flows.login),
        (
            FlowKind::Registration,
            &config.selfservice.flows.registration,
        ),
        (FlowKind::Settings, &config.selfservice.flows.settings.flow),
    ] {
        let prefix = format!("selfservice.flows.{}", kind.as_str());
        crate::hook::config::validate_flow(&prefix, kind, &flow.before, &flow.after)?;
    }
    config
        .hashers
        .validate()
        .map_err(|e| invalid("hashers", e.to_string()))?;
    validate_password(&config.selfservice.methods.password.config)?;
    validate_throttle(&config.throttle)?;
    if let Some(level) = &config.log.level
        && !matches!(
            level.as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic"
        )
    {
        return Err(invalid("log.level", format!("unknown level {level:?}")));
    }
    Ok(())
}

fn validate_password(password: &PasswordConfig) -> Result<(), ConfigError> {
    const KEY: &str = "selfservice.methods.password.config";
    if password.min_password_length() < 6 {
        return Err(invalid(
            &format!("{KEY}.min_password_length"),
            "must be at least 6",
        ));
    }
    if password.max_breaches() > 100 {
        return Err(invalid(
            &format!("{KEY}.max_breaches"),
            "must be at most 100",
        ));
    }
    let base = password.haveibeenpwned_base_url();
    match url::Url::parse(&base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(invalid(
            &format!("{KEY}.haveibeenpwned_host"),
            format!("{base:?} is neither a host name nor an http(s):// base URL"),
        )),
    }
}

fn validate_throttle(throttle: &ThrottleConfig) -> Result<(), ConfigError> {
    for (key, (_, window)) in [
        ("throttle.per_identifier.window", throttle.per_identifier()),
        ("throttle.per_ip.window", throttle.per_ip()),
    ] {
        if window.is_zero() {
            return Err(invalid(key, "must be longer than zero"));
        }
    }
    if throttle.max_tracked_keys() == 0 {
        return Err(invalid("throttle.max_tracked_keys", "must be at least 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "dsn": "memory",
            "secrets": {"cookie": ["a-very-long-cookie-secret"]},
            "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": "file:///x.json"}]}
        })
    }

    fn err(tree: Value) -> String {
        from_tree(tree, Mode::default()).unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_warn_and_known_keys_load() {
        let mut tree = base();
        merge(
            &mut tree,
            json!({"selfservice": {"methods": {"totp": {"enabled": true}}}, "serve": {"public": {"port": 4455}}}),
        );
        let loaded = from_tree(tree, Mode::default()).unwrap();
        assert_eq!(loaded.config.public_port(), 4455);
        assert!(
            loaded.warnings.iter().any(|w| w.contains("selfservice")),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn errors_name_the_key() {
        let mut tree = base();
        merge(&mut tree, json!({"serve": {"admin": {"port": "x"}}}));
        assert!(err(tree).contains("serve.admin.port"));

        let mut tree = base();
        merge(&mut tree, json!({"secrets": {"cookie": ["short"]}}));
        assert!(err(tree).contains("secrets.cookie.0"));

        let mut tree = base();
        merge(
            &mut tree,
            json!({"identity": {"default_schema_id": "other"}}),
        );
        assert!(err(tree).contains("identity.default_schema_id"));

        let mut tree = base();
        merge(&mut tree, json!({"dsn": "oracle://x"}));
        assert!(err(tree).contains("dsn"));

        for (layer, key) in [
            (
                json!({"selfservice": {"methods": {"password": {"config": {"min_password_length": 5}}}}}),
                "selfservice.methods.password.config.min_password_length",
            ),
            (
                json!({"selfservice": {"methods": {"password": {"config": {"max_breaches": 101}}}}}),
                "selfservice.methods.password.config.max_breaches",
            ),
            (
                json!({"selfservice": {"methods": {"password": {"config": {"haveibeenpwned_host": "ftp://x"}}}}}),
                "selfservice.methods.password.config.haveibeenpwned_host",
            ),
            (
                json!({"throttle": {"per_ip": {"window": "0s"}}}),
                "throttle.per_ip.window",
            ),
            (
                json!({"throttle": {"max_tracked_keys": 0}}),
                "throttle.max_tracked_keys",
            ),
        ] {
            let mut tree = base();
            merge(&mut tree, layer);
            assert!(err(tree).contains(key), "{key}");
        }
    }

    #[test]
    fn a_cookie_secret_is_required_outside_dev() {
        let mut tree = base();
        tree["secrets"] = json!({});
        assert!(err(tree.clone()).contains("secrets.cookie"));
        assert!(from_tree(tree, Mode { dev: true }).is_ok());
    }

    #[test]
    fn password_policy_and_throttle_defaults() {
        let config = from_tree(base(), Mode::default()).unwrap().config;
        let password = &config.selfservice.methods.password.config;
        assert_eq!(password.min_password_length(), 8);
        assert!(password.identifier_similarity_check_enabled());
        assert!(password.haveibeenpwned_enabled());
        assert!(password.ignore_network_errors());
        assert_eq!(password.max_breaches(), 0);
        assert_eq!(
            password.haveibeenpwned_base_url(),
            "https://api.pwnedpasswords.com"
        );
        let custom = PasswordConfig {
            haveibeenpwned_host: Some("http://127.0.0.1:8080/".into()),
            ..PasswordConfig::default()
        };
        assert_eq!(custom.haveibeenpwned_base_url(), "http://127.0.0.1:8080");
        assert!(config.throttle.is_enabled());
        assert_eq!(
            config.throttle.per_identifier(),
            (10, std::time::Duration::from_secs(300))
        );
        assert_eq!(
            config.throttle.per_ip(),
            (100, std::time::Duration::from_secs(60))
        );
    }

    #[test]
    fn the_session_extension_window_defaults_to_the_lifespan() {
        let hour = std::time::Duration::from_secs(3600);
        let config = from_tree(base(), Mode::default()).unwrap().config;
        assert_eq!(config.session.earliest_possible_extend(), 24 * hour);
        let mut tree = base();
        merge(&mut tree, json!({"session": {"lifespan": "2h"}}));
        let config = from_tree(tree, Mode::default()).unwrap().config;
        assert_eq!(config.session.earliest_possible_extend(), 2 * hour);
        let mut tree = base();
        merge(
            &mut tree,
            json!({"session": {"lifespan": "2h", "earliest_possible_extend": "1h"}}),
        );
        let config = from_tree(tree, Mode::default()).unwrap().config;
        assert_eq!(config.session.earliest_possible_extend(), hour);
        let mut tree = base();
        merge(
            &mut tree,
            json!({"session": {"earliest_possible_extend": "soon"}}),
        );
        assert!(err(tree).contains("session.earliest_possible_extend"));
    }

    #[test]
    fn later_layers_win() {
        let mut tree = json!({"serve": {"public": {"port": 1, "host": "a"}}});
        merge(&mut tree, json!({"serve": {"public": {"port": 2}}}));
        assert_eq!(tree, json!({"serve": {"public": {"port": 2, "host": "a"}}}));
    }
}
