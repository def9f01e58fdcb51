//! Loading the configuration for this server. The `bia-config` crate holds
//! the types, reads the files and the environment, and checks the structure;
//! here each feature module interprets its own section (the store parses the
//! DSN, `http` the trusted proxies, `hook` the hooks, `hash` the hasher
//! costs, `courier` its SMTP and HTTP delivery), and its error is reported under the section's key.
//!
//! Feature modules take their settings from `bia_config` directly, never from
//! here: this module sits above them.

use std::path::Path;

use serde_json::Value;

pub use bia_config::{
    Config, ConfigError, Cors, FlowConfig, FlowsConfig, IdentityConfig, Listener, Loaded, Log,
    MethodsConfig, Mode, PasswordConfig, PasswordMethodConfig, SchemaEntry, Secrets,
    SelfServiceConfig, Serve, SessionConfig, ThrottleConfig, ThrottleRule, Warning, env,
    json_schema, key, merge,
};

use crate::courier::template::Templates;
use crate::hook::{FlowKind, HookOptions, Hooks};
use crate::schema::{SchemaError, SchemaRegistry, SchemaSource};

/// Reads files and the environment into a configuration this server can
/// start on: the structure is checked and every section interpreted. All
/// problems are reported at once.
pub fn load<I>(files: &[impl AsRef<Path>], vars: I, mode: Mode) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    accept(bia_config::read(files, vars)?, mode)
}

/// [`load`] for a tree already merged, without environment variables.
pub fn from_tree(tree: Value, mode: Mode) -> Result<Loaded, ConfigError> {
    accept(bia_config::parse(&tree)?, mode)
}

/// [`load`] for files already read and merged into `tree`: the environment
/// is applied, then the structure checked and every section interpreted.
pub fn from_tree_and_env<I>(tree: Value, vars: I, mode: Mode) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    accept(bia_config::read_tree(tree, vars)?, mode)
}

fn accept(loaded: Loaded, mode: Mode) -> Result<Loaded, ConfigError> {
    ConfigError::from_list(problems(&loaded.config, mode))?;
    Ok(loaded)
}

/// Every problem of a configuration: the structural ones, then each
/// feature's.
pub fn problems(config: &Config, mode: Mode) -> Vec<ConfigError> {
    let mut problems = bia_config::check(config, mode);
    problems.extend(interpret(config));
    problems
}

/// The problems the feature modules find in their sections.
pub fn interpret(config: &Config) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    if let Err(e) = crate::store::Dsn::parse(config.dsn()) {
        let reason = e.to_string();
        let reason = reason.strip_prefix("dsn: ").unwrap_or(&reason).to_owned();
        problems.push(ConfigError::invalid("dsn", reason));
    }
    let proxies = &config.serve.public.trusted_proxies;
    if let Err(entry) = crate::http::TrustedProxies::parse(proxies) {
        let n = proxies.iter().position(|p| *p == entry).unwrap_or_default();
        problems.push(ConfigError::invalid(
            key::index("serve.public.trusted_proxies", n),
            format!("{entry:?} is not an IP address or CIDR range"),
        ));
    }
    let flows = &config.selfservice.flows;
    for (kind, flow) in [
        (FlowKind::Login, &flows.login),
        (FlowKind::Registration, &flows.registration),
        (FlowKind::Settings, &flows.settings.flow),
    ] {
        let prefix = format!("selfservice.flows.{}", kind.as_str());
        if let Err(e) = crate::hook::config::validate_flow(&prefix, kind, &flow.before, &flow.after)
        {
            problems.push(ConfigError::invalid(e.key, e.reason));
        }
    }
    if let Err(e) = crate::hash::validate_config(&config.hashers) {
        problems.push(ConfigError::invalid(e.key, e.message));
    }
    if let Err(e) = crate::courier::delivery::check(&config.courier) {
        problems.push(ConfigError::invalid(e.key, e.reason));
    }
    problems
}

/// The problems found by loading what the configuration points at, as `serve`
/// does before it listens: every identity schema (read, fetched, compiled),
/// every web hook body (remote ones fetched) and every courier template (read,
/// fetched, parsed; reported under its `courier.templates...` key or
/// `courier.template_override_path`). Needs a configuration without
/// [`problems`].
pub async fn check_sources(config: &Config) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    for (n, schema) in config.identity.schemas.iter().enumerate() {
        let source = SchemaSource {
            id: schema.id.clone(),
            url: schema.url.clone(),
            selectable: schema.selfservice_selectable,
        };
        if let Err(e) = SchemaRegistry::load(&[source], &schema.id).await {
            let reason = match e {
                SchemaError::Load { url, reason, .. } => format!("cannot load {url}: {reason}"),
                SchemaError::Invalid { reason, .. } => {
                    format!("not a valid JSON Schema: {reason}")
                }
                other => other.to_string(),
            };
            let key = key::field(&key::index("identity.schemas", n), "url");
            problems.push(ConfigError::invalid(key, reason));
        }
    }
    if let Err(e) = Hooks::load(config, &HookOptions::default()).await {
        problems.push(ConfigError::invalid(e.key, e.reason));
    }
    for e in Templates::problems(&config.courier).await {
        problems.push(ConfigError::invalid(e.key(), e.reason()));
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "dsn": "memory",
            "secrets": {"cookie": ["a-very-long-cookie-secret"]},
            "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": "base64://e30="}]}
        })
    }

    fn keys(layer: Value) -> Vec<String> {
        let mut tree = base();
        merge(&mut tree, layer);
        match from_tree(tree, Mode::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .into_list()
                .iter()
                .map(|e| e.key().unwrap_or_default().to_owned())
                .collect(),
        }
    }

    #[test]
    fn each_feature_reports_under_its_key() {
        assert!(keys(json!({})).is_empty());
        assert_eq!(keys(json!({"dsn": "oracle://x"})), ["dsn"]);
        assert_eq!(
            keys(json!({"serve": {"public": {"trusted_proxies": ["10.0.0.0/8", "::1", "nope"]}}})),
            ["serve.public.trusted_proxies[2]"]
        );
        assert_eq!(
            keys(json!({"hashers": {"bcrypt": {"cost": 99}}})),
            ["hashers.bcrypt.cost"]
        );
        assert_eq!(
            keys(json!({"courier": {"smtp": {"connection_uri": "imap://mail.example"}}})),
            ["courier.smtp.connection_uri"]
        );
        assert!(
            keys(json!({"courier": {"smtp": {"connection_uri": "smtps://u:p@mail.example:465/"}}}))
                .is_empty()
        );
        assert_eq!(
            keys(
                json!({"selfservice": {"flows": {"login": {"after": {"hooks": [{"hook": "session"}]}}}}})
            ),
            ["selfservice.flows.login.after.hooks[0].hook"]
        );
        // Structural and feature problems come together.
        assert_eq!(
            keys(json!({"dsn": "oracle://x", "log": {"level": "loud"}})),
            ["log.level", "dsn"]
        );
    }

    #[test]
    fn the_dsn_reason_is_not_prefixed_twice() {
        let mut tree = base();
        merge(&mut tree, json!({"dsn": "oracle://x"}));
        let text = from_tree(tree, Mode::default()).unwrap_err().to_string();
        assert!(
            text.starts_with("config key dsn: unsupported scheme"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn sources_are_loaded_and_named_by_their_key() {
        let config = from_tree(base(), Mode::default()).unwrap().config;
        assert!(check_sources(&config).await.is_empty());
        let mut tree = base();
        tree["identity"]["schemas"] = json!([
            {"id": "default", "url": "base64://e30="},
            {"id": "broken", "url": "base64://eyJ0eXBlIjogNX0="},
            {"id": "gone", "url": "file:///nonexistent/schema.json"}
        ]);
        let config = from_tree(tree, Mode::default()).unwrap().config;
        let problems = check_sources(&config).await;
        let keys: Vec<_> = problems.iter().filter_map(ConfigError::key).collect();
        assert_eq!(keys, ["identity.schemas[1].url", "identity.schemas[2].url"]);
    }

    #[tokio::test]
    async fn broken_courier_templates_are_named_by_their_key() {
        let mut tree = base();
        // `{{ if .To }}` never ends: line 2 of the subject.
        tree["courier"] = json!({
            "templates": {"recovery_code": {"valid": {"email": {"subject": "base64://b2sKe3sgaWYgLlRvIH19"}}}},
            "template_override_path": "/nonexistent/bia-templates"
        });
        let config = from_tree(tree, Mode::default()).unwrap().config;
        let problems = check_sources(&config).await;
        let keys: Vec<_> = problems.iter().filter_map(ConfigError::key).collect();
        assert_eq!(
            keys,
            [
                "courier.template_override_path",
                "courier.templates.recovery_code.valid.email.subject"
            ]
        );
        let text = problems[1].to_string();
        assert!(
            text.contains("recovery_code_valid email subject") && text.contains("line 2"),
            "{text}"
        );
    }

    #[test]
    fn a_config_built_in_code_starts_the_server_loader() {
        let mut config = Config::default();
        config.secrets.cookie = vec!["a-very-long-cookie-secret".into()];
        config.identity.schemas = vec![SchemaEntry {
            id: "default".into(),
            url: "base64://e30=".into(),
            ..SchemaEntry::default()
        }];
        config.serve.public.trusted_proxies = vec!["10.0.0.0/8".into()];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kratos.yml");
        std::fs::write(&path, config.to_yaml().unwrap()).unwrap();
        let loaded = load(&[&path], Vec::<(String, String)>::new(), Mode::default()).unwrap();
        assert_eq!(loaded.config, config);
        assert!(loaded.warnings.is_empty());
    }
}
