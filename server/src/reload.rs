//! Hot reload: the config files are re-read when their content changes; new
//! identity schemas and courier templates are swapped in without a restart
//! and without failing a request. Every other change (listeners, DSN, secrets, hashers, sessions,
//! cookies, self-service flows, methods and hooks, throttle, log) applies at
//! the next start, and the log names the keys that wait for it; an invalid
//! change is refused and the last good configuration keeps serving. (Under
//! the operator, a changed configuration rolls the pods, so everything applies.)

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::app::load_schemas;
use crate::config::{self, Config, Mode};
use crate::courier::template::{TemplateHandle, Templates};
use crate::schema::SchemaHandle;

/// How often the files are checked.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Watches config files and applies what can change live.
pub struct ConfigWatcher {
    files: Vec<PathBuf>,
    mode: Mode,
    current: Config,
    schemas: SchemaHandle,
    templates: Option<TemplateHandle>,
    seen: Vec<Option<Vec<u8>>>,
}

/// The config keys a running server applies without a restart when its file
/// changes: `identity` (the schemas and the default schema id) and the courier's
/// templates (`courier.templates`, `courier.template_override_path`), swapped in by
/// [`ConfigWatcher::check`]. A dotted key is a part of its section: the rest of
/// `courier` (SMTP, channels, worker) waits for a restart, like every other key. The
/// operator leaves exactly these keys out of the hash that rolls its pods; a test of
/// the operator reads this list, so keep it a single-line list of string literals.
#[rustfmt::skip]
pub const HOT_RELOADED_KEYS: &[&str] = &["identity", "courier.templates", "courier.template_override_path"];

/// Keys that change nothing at run time (`version` is informational).
const INERT_KEYS: &[&str] = &["version"];

/// The top-level keys whose change needs a restart, comparing two configurations:
/// every changed key that is neither hot reloaded nor inert, in file order.
pub fn restart_required(old: &Config, new: &Config) -> Vec<String> {
    let (Ok(Value::Object(mut old)), Ok(Value::Object(mut new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return vec!["(unreadable configuration)".into()];
    };
    for tree in [&mut old, &mut new] {
        for key in HOT_RELOADED_KEYS {
            if let Some((name, field)) = key.split_once('.')
                && let Some(Value::Object(section)) = tree.get_mut(name)
            {
                section.remove(field);
                // A section left empty is one that is not written at all.
                if section.is_empty() {
                    tree.remove(name);
                }
            }
        }
    }
    let mut keys: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys.retain(|key| {
        !HOT_RELOADED_KEYS.contains(&key.as_str())
            && !INERT_KEYS.contains(&key.as_str())
            && old.get(key) != new.get(key)
    });
    keys
}

impl ConfigWatcher {
    /// A watcher starting from the configuration the server runs with.
    pub fn new(files: Vec<PathBuf>, mode: Mode, current: Config, schemas: SchemaHandle) -> Self {
        let seen = files.iter().map(|f| std::fs::read(f).ok()).collect();
        Self {
            files,
            mode,
            current,
            schemas,
            templates: None,
            seen,
        }
    }

    /// Also swaps in the courier templates of a changed configuration.
    pub fn with_templates(mut self, templates: TemplateHandle) -> Self {
        self.templates = Some(templates);
        self
    }

    /// Checks the files once; reloads when any changed. Returns true when a new
    /// configuration was applied.
    pub async fn check(&mut self) -> bool {
        let now: Vec<Option<Vec<u8>>> = self.files.iter().map(|f| std::fs::read(f).ok()).collect();
        if now == self.seen {
            return false;
        }
        self.seen = now;
        let loaded = match config::load(&self.files, bia_config::env::process_vars(), self.mode) {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(%error, "config change refused; the last good configuration keeps serving");
                return false;
            }
        };
        let registry = match load_schemas(&loaded.config).await {
            Ok(registry) => registry,
            Err(error) => {
                tracing::error!(%error, "config change refused; the last good configuration keeps serving");
                return false;
            }
        };
        let templates = match &self.templates {
            Some(_) => match Templates::load(&loaded.config.courier).await {
                Ok(templates) => Some(templates),
                Err(error) => {
                    tracing::error!(%error, "config change refused; the last good configuration keeps serving");
                    return false;
                }
            },
            None => None,
        };
        let pending = restart_required(&self.current, &loaded.config);
        if !pending.is_empty() {
            tracing::warn!(
                keys = pending.join(", "),
                "these keys changed and apply only after a restart"
            );
        }
        self.schemas.replace(registry);
        if let (Some(handle), Some(templates)) = (&self.templates, templates) {
            handle.replace(templates);
        }
        tracing::info!(
            schemas = loaded.config.identity.schemas.len(),
            default = loaded.config.default_schema_id(),
            "configuration reloaded"
        );
        self.current = loaded.config;
        true
    }

    /// Checks the files every `interval`, forever.
    pub async fn run(mut self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.check().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_other_than_schemas_are_named_as_waiting_for_a_restart() {
        let old = Config::default();
        let mut new = old.clone();
        assert!(restart_required(&old, &new).is_empty());
        new.identity.default_schema_id = Some("other".into());
        assert!(
            restart_required(&old, &new).is_empty(),
            "schemas apply live"
        );
        new.selfservice.methods.password.config.max_breaches = Some(3);
        new.selfservice.flows.login.ui_url = Some("https://app.example/login".into());
        new.session.lifespan = Some(crate::hash::GoDuration(std::time::Duration::from_secs(60)));
        new.throttle.enabled = Some(false);
        assert_eq!(
            restart_required(&old, &new),
            vec!["session", "selfservice", "throttle"]
        );
    }

    #[tokio::test]
    async fn a_changed_template_reaches_the_next_message_and_a_broken_one_is_refused() {
        use crate::courier::{Channel, Outgoing, Render, TemplateType};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kratos.yml");
        let write = |subject: &str| {
            let encoded = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                subject.as_bytes(),
            );
            let text = format!(
                "dsn: memory\nsecrets: {{cookie: [a-very-long-cookie-secret]}}\n\
                 identity: {{default_schema_id: d, schemas: [{{id: d, url: 'base64://e30='}}]}}\n\
                 courier: {{templates: {{login_code: {{valid: {{email: {{subject: 'base64://{encoded}'}}}}}}}}}}\n"
            );
            std::fs::write(&file, text).unwrap();
        };
        write("First {{ .LoginCode }}");
        let loaded =
            config::load(&[&file], Vec::<(String, String)>::new(), Mode::default()).unwrap();
        let schemas = SchemaHandle::new(load_schemas(&loaded.config).await.unwrap());
        let templates = TemplateHandle::new(Templates::load(&loaded.config.courier).await.unwrap());
        let mut watcher =
            ConfigWatcher::new(vec![file.clone()], Mode::default(), loaded.config, schemas)
                .with_templates(templates.clone());
        let message = Outgoing {
            template: TemplateType::LoginCodeValid,
            channel: Channel::Email,
            recipient: "a@example.com".into(),
            data: serde_json::json!({"LoginCode": "42"}),
        };
        assert_eq!(templates.render(&message).unwrap().subject, "First 42");
        write("Second {{ .LoginCode }}");
        assert!(watcher.check().await);
        assert_eq!(templates.render(&message).unwrap().subject, "Second 42");
        write("Broken {{ .LoginCode ");
        assert!(!watcher.check().await);
        assert_eq!(templates.render(&message).unwrap().subject, "Second 42");
    }

    #[test]
    fn courier_templates_apply_live_and_the_rest_of_the_courier_waits() {
        let old = Config::default();
        let mut new = old.clone();
        new.courier.template_override_path = Some("/etc/bia/templates".into());
        new.courier.templates.login_code.valid = Some(Default::default());
        new.courier.templates.recovery.invalid = Some(bia_config::TemplateChannels {
            sms: Some(Default::default()),
            ..Default::default()
        });
        assert!(restart_required(&old, &new).is_empty());
        new.courier.smtp.connection_uri = Some("smtp://mail:25/".into());
        assert_eq!(restart_required(&old, &new), vec!["courier"]);
    }

    #[test]
    fn every_top_level_key_is_either_reloaded_or_waits_for_a_restart() {
        let schema = crate::config::json_schema();
        let keys = schema["properties"].as_object().unwrap();
        for key in HOT_RELOADED_KEYS {
            let (section, field) = key.split_once('.').unwrap_or((key, ""));
            assert!(keys.contains_key(section), "{key} is not a config key");
            if !field.is_empty() {
                let section = crate::config::json_schema()["properties"][section].clone();
                let fields = section.get("properties").or_else(|| {
                    let name = section["$ref"].as_str()?.rsplit('/').next()?.to_owned();
                    schema.get("$defs")?.get(name)?.get("properties")
                });
                assert!(
                    fields.is_some_and(|f| f.get(field).is_some()),
                    "{key} is not a config key"
                );
            }
        }
        // A change to any other key is named: here, the log level and a listener.
        let old = Config::default();
        let mut new = old.clone();
        new.log.level = Some("debug".into());
        new.serve.public.port = Some(1);
        assert_eq!(restart_required(&old, &new), vec!["serve", "log"]);
    }
}
