//! Configuration: Kratos-format YAML files (later files win), environment
//! overrides resolved against the config's own JSON Schema, then validation.

pub mod env;
mod types;

pub use types::{
    Config, Cors, FlowConfig, FlowsConfig, IdentityConfig, Listener, Log, MethodsConfig,
    PasswordConfig, PasswordMethodConfig, SchemaEntry, Secrets, SelfServiceConfig, Serve,
    SessionConfig,
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
    ] {
        let prefix = format!("selfservice.flows.{}", kind.key());
        crate::hook::config::validate_flow(&prefix, kind, &flow.before, &flow.after)?;
    }
    config
        .hashers
        .validate()
        .map_err(|e| invalid("hashers", e.to_string()))?;
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
    }

    #[test]
    fn a_cookie_secret_is_required_outside_dev() {
        let mut tree = base();
        tree["secrets"] = json!({});
        assert!(err(tree.clone()).contains("secrets.cookie"));
        assert!(from_tree(tree, Mode { dev: true }).is_ok());
    }

    #[test]
    fn later_layers_win() {
        let mut tree = json!({"serve": {"public": {"port": 1, "host": "a"}}});
        merge(&mut tree, json!({"serve": {"public": {"port": 2}}}));
        assert_eq!(tree, json!({"serve": {"public": {"port": 2, "host": "a"}}}));
    }
}
