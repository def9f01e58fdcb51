//! Hot reload: the config files are re-read when their content changes; new
//! identity schemas are swapped in without a restart and without failing a
//! request. Every other change (listeners, DSN, secrets, hashers, sessions,
//! cookies, self-service flows, methods and hooks, throttle, log) applies at
//! the next start, and the log names the keys that wait for it; an invalid
//! change is refused and the last good configuration keeps serving. (Under
//! the operator, a changed configuration rolls the pods, so everything applies.)

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::app::load_schemas;
use crate::config::{self, Config, Mode};
use crate::schema::SchemaHandle;

/// How often the files are checked.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Watches config files and applies what can change live.
pub struct ConfigWatcher {
    files: Vec<PathBuf>,
    mode: Mode,
    current: Config,
    schemas: SchemaHandle,
    seen: Vec<Option<Vec<u8>>>,
}

/// The top-level config keys a running server applies without a restart when its
/// file changes: `identity` (the schemas and the default schema id, swapped in by
/// [`ConfigWatcher::check`]). Every other key waits for a restart. The operator leaves
/// exactly these keys out of the hash that rolls its pods; a test of the operator reads
/// this list, so keep it a single-line list of string literals.
pub const HOT_RELOADED_KEYS: &[&str] = &["identity"];

/// Keys that change nothing at run time (`version` is informational).
const INERT_KEYS: &[&str] = &["version"];

/// The top-level keys whose change needs a restart, comparing two configurations:
/// every changed key that is neither hot reloaded nor inert, in file order.
pub fn restart_required(old: &Config, new: &Config) -> Vec<String> {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return vec!["(unreadable configuration)".into()];
    };
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
            seen,
        }
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
        let pending = restart_required(&self.current, &loaded.config);
        if !pending.is_empty() {
            tracing::warn!(
                keys = pending.join(", "),
                "these keys changed and apply only after a restart"
            );
        }
        self.schemas.replace(registry);
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

    #[test]
    fn every_top_level_key_is_either_reloaded_or_waits_for_a_restart() {
        let schema = crate::config::json_schema();
        let keys = schema["properties"].as_object().unwrap();
        for key in HOT_RELOADED_KEYS {
            assert!(keys.contains_key(*key), "{key} is not a config key");
        }
        // A change to any other key is named: here, the log level and a listener.
        let old = Config::default();
        let mut new = old.clone();
        new.log.level = Some("debug".into());
        new.serve.public.port = Some(1);
        assert_eq!(restart_required(&old, &new), vec!["serve", "log"]);
    }
}
