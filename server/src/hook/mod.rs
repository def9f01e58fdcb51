//! Self-service hooks: what runs before a flow starts and after it completes.
//!
//! Configured with Kratos's keys (`selfservice.flows.<flow>.before.hooks`,
//! `.after.hooks`, `.after.<method>.hooks`; see [`config`]). [`Hooks`] holds the
//! runnable hooks of every flow and answers, for one event, which hooks run
//! and in which order. The built-in hooks (`session`, `show_verification_ui`,
//! `revoke_active_sessions`, `require_verified_address`) are carried out by
//! the flow machine; `web_hook` runs here ([`WebHook::run`]).
//!
//! Invariant: this module knows neither axum nor storage; the flow machine
//! hands it a [`HookContext`] of plain JSON values and reads back a
//! [`HookOutcome`] or a [`HookError`].

pub(crate) mod body;
pub mod config;
pub mod jsonnet;
mod web_hook;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

pub use config::{
    AfterHooks, ApiKeyAuth, ApiKeyLocation, BasicAuth, BeforeHooks, FlowKind, HookConfig,
    HookConfigError, MethodAfterHooks, WebHookAuth, WebHookConfig, WebHookResponse,
};
pub use web_hook::{HookLimits, WebHook, field_name};
pub(crate) use web_hook::{describe, redacted_url};

/// What a hook sees of the flow: the `ctx` of a web hook's Jsonnet body (and
/// the request body when a web hook has none). Field names are Kratos's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookContext {
    /// The flow as the API shows it.
    pub flow: Value,
    /// The identity, once there is one (after hooks); omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    /// The session, once there is one; omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Value>,
    /// Headers of the request that triggered the hook: an object of header
    /// name to a list of values.
    pub request_headers: Value,
    /// Its method, e.g. `POST`.
    pub request_method: String,
    /// Its full URL.
    pub request_url: String,
    /// Its cookies: an object of name to value.
    pub request_cookies: Value,
    /// The `transient_payload` the client sent with the flow; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient_payload: Option<Value>,
}

impl HookContext {
    /// A context for `flow` with no identity, session, headers or cookies.
    pub fn new(flow: Value, request_method: &str, request_url: &str) -> Self {
        HookContext {
            flow,
            identity: None,
            session: None,
            request_headers: Value::Object(Map::new()),
            request_method: request_method.to_owned(),
            request_url: request_url.to_owned(),
            request_cookies: Value::Object(Map::new()),
            transient_payload: None,
        }
    }
}

/// How the flow goes on after a hook.
// One value per hook run: its size does not matter, plain fields read better.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum HookOutcome {
    /// Nothing to change.
    Continue,
    /// A parsing web hook answered with changes to the identity (before it is
    /// stored); each part present replaces the identity's.
    PatchIdentity {
        /// New traits (validated against the schema by the caller).
        traits: Option<Value>,
        /// New public metadata.
        metadata_public: Option<Value>,
        /// New admin metadata.
        metadata_admin: Option<Value>,
    },
}

/// A message for the user, as the flow's UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookMessage {
    /// Numeric text id (the hook's own).
    pub id: u64,
    /// The text.
    pub text: String,
    /// `error`, `info` or `success` (`error` when the hook gave none).
    #[serde(rename = "type")]
    pub kind: String,
    /// Values the text refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// A message for one form field, or for the whole form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldMessage {
    /// The field (UI node name), e.g. `traits.email`; `None` for the form.
    pub field: Option<String>,
    /// The message.
    pub message: HookMessage,
}

/// Why a hook stopped the flow.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HookError {
    /// A parsing web hook refused the flow with messages for the user: show
    /// the flow again with them.
    #[error("a web hook refused the flow with {} message(s)", .0.len())]
    Interrupted(Vec<FieldMessage>),
    /// The hook could not be carried out (network, timeout, non-2xx answer,
    /// body program error). The reason carries no secret.
    #[error("web hook {hook} failed: {reason}")]
    Failed {
        /// The hook's name (its `id`, else method and URL).
        hook: String,
        /// What went wrong.
        reason: String,
    },
}

/// One hook to run.
#[derive(Debug, Clone)]
pub enum Hook {
    /// Issue a session (after registration); always the last hook of its list.
    Session,
    /// Send the browser to the verification flow.
    ShowVerificationUi,
    /// Revoke the identity's other sessions.
    RevokeActiveSessions,
    /// Refuse a login until an address is verified.
    RequireVerifiedAddress,
    /// Call an HTTP endpoint.
    WebHook(Arc<WebHook>),
}

impl Hook {
    /// The config name, e.g. `web_hook`.
    pub fn name(&self) -> &'static str {
        match self {
            Hook::Session => "session",
            Hook::ShowVerificationUi => "show_verification_ui",
            Hook::RevokeActiveSessions => "revoke_active_sessions",
            Hook::RequireVerifiedAddress => "require_verified_address",
            Hook::WebHook(_) => "web_hook",
        }
    }

    /// Whether the hook runs before an identity is stored (after a
    /// registration or a settings change): a web hook that parses its answer,
    /// which may patch the identity or refuse it. Every other after hook runs
    /// once it is stored.
    pub fn runs_before_persist(&self) -> bool {
        matches!(self, Hook::WebHook(hook) if hook.parses_response())
    }
}

/// The moment hooks run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent<'a> {
    /// A flow is being created (`before.hooks`).
    Before(FlowKind),
    /// A flow was completed with a method (`password`, `profile`, ...).
    After {
        /// The flow.
        flow: FlowKind,
        /// The method that completed it.
        method: &'a str,
    },
}

/// Options for building [`Hooks`].
#[derive(Debug, Clone, Default)]
pub struct HookOptions {
    /// Time limits of web hooks.
    pub limits: HookLimits,
    /// The HTTP client web hooks use (one with defaults when `None`).
    pub client: Option<reqwest::Client>,
}

#[derive(Debug, Clone, Default)]
struct FlowHooks {
    before: Vec<Hook>,
    after: Vec<Hook>,
    after_by_method: BTreeMap<&'static str, Vec<Hook>>,
}

/// The runnable hooks of every flow, built from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    flows: BTreeMap<FlowKind, FlowHooks>,
}

impl Hooks {
    /// Builds the hooks of every self-service flow of `config`.
    /// Bodies are loaded (remote ones fetched) and parsed now; errors name
    /// the config key.
    pub async fn load(
        config: &bia_config::Config,
        options: &HookOptions,
    ) -> Result<Hooks, HookConfigError> {
        let flows = &config.selfservice.flows;
        let mut hooks = Hooks::default();
        for (prefix, kind, flow) in [
            ("selfservice.flows.login", FlowKind::Login, &flows.login),
            (
                "selfservice.flows.registration",
                FlowKind::Registration,
                &flows.registration,
            ),
            (
                "selfservice.flows.settings",
                FlowKind::Settings,
                &flows.settings.flow,
            ),
            (
                "selfservice.flows.recovery",
                FlowKind::Recovery,
                &flows.recovery.flow,
            ),
            (
                "selfservice.flows.verification",
                FlowKind::Verification,
                &flows.verification.flow,
            ),
        ] {
            hooks
                .add_flow(prefix, kind, &flow.before, &flow.after, options)
                .await?;
        }
        Ok(hooks)
    }

    /// Adds (or replaces) the hooks of one flow; `prefix` is its config key,
    /// e.g. `selfservice.flows.settings`.
    pub async fn add_flow(
        &mut self,
        prefix: &str,
        kind: FlowKind,
        before: &BeforeHooks,
        after: &AfterHooks,
        options: &HookOptions,
    ) -> Result<(), HookConfigError> {
        config::validate_flow(prefix, kind, before, after)?;
        let client = match &options.client {
            Some(client) => client.clone(),
            None => crate::outbound::client(options.limits.request_timeout).map_err(|e| {
                config::config_error(prefix, format!("cannot create an HTTP client: {e}"))
            })?,
        };
        let build = Builder {
            client,
            limits: options.limits,
        };
        let mut flow = FlowHooks {
            before: build
                .list(&format!("{prefix}.before.hooks"), &before.hooks)
                .await?,
            after: build
                .list(&format!("{prefix}.after.hooks"), &after.hooks)
                .await?,
            after_by_method: BTreeMap::new(),
        };
        for (method, section) in after.methods() {
            let list = build
                .list(&format!("{prefix}.after.{method}.hooks"), &section.hooks)
                .await?;
            flow.after_by_method.insert(method, list);
        }
        self.flows.insert(kind, flow);
        Ok(())
    }

    /// The hooks to run for `event`, in order. After a method, its own list
    /// replaces the flow's global one when it is not empty; `session` is
    /// always last.
    pub fn for_event(&self, event: HookEvent<'_>) -> &[Hook] {
        match event {
            HookEvent::Before(kind) => self.flows.get(&kind).map_or(&[], |f| &f.before),
            HookEvent::After { flow, method } => {
                let Some(flow) = self.flows.get(&flow) else {
                    return &[];
                };
                match flow.after_by_method.get(method) {
                    Some(list) if !list.is_empty() => list,
                    _ => &flow.after,
                }
            }
        }
    }
}

struct Builder {
    client: reqwest::Client,
    limits: HookLimits,
}

impl Builder {
    async fn list(&self, key: &str, configs: &[HookConfig]) -> Result<Vec<Hook>, HookConfigError> {
        let mut hooks = Vec::with_capacity(configs.len());
        let mut session = false;
        for (n, config) in configs.iter().enumerate() {
            let hook = match config {
                HookConfig::Session => {
                    session = true;
                    continue;
                }
                HookConfig::ShowVerificationUi => Hook::ShowVerificationUi,
                HookConfig::RevokeActiveSessions => Hook::RevokeActiveSessions,
                HookConfig::RequireVerifiedAddress => Hook::RequireVerifiedAddress,
                HookConfig::WebHook(web) => Hook::WebHook(Arc::new(
                    WebHook::load(
                        &format!("{key}[{n}].config"),
                        web,
                        self.client.clone(),
                        self.limits,
                    )
                    .await?,
                )),
            };
            hooks.push(hook);
        }
        if session {
            hooks.push(Hook::Session);
        }
        Ok(hooks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Adds the hooks of `flow`, written as in the config, with the default options.
    async fn add(
        hooks: &mut Hooks,
        prefix: &str,
        kind: FlowKind,
        flow: Value,
    ) -> Result<(), HookConfigError> {
        let before = serde_json::from_value(flow["before"].clone()).unwrap_or_default();
        let after = serde_json::from_value(flow["after"].clone()).unwrap_or_default();
        hooks
            .add_flow(prefix, kind, &before, &after, &HookOptions::default())
            .await
    }

    fn names(list: &[Hook]) -> Vec<&'static str> {
        list.iter().map(Hook::name).collect()
    }

    #[tokio::test]
    async fn method_lists_replace_the_global_one_and_session_runs_last() {
        let flow = json!({
            "before": {"hooks": [{"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/b", "method": "POST"}}]},
            "after": {
                "hooks": [{"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/a"}}],
                "password": {"hooks": [{"hook": "session"}, {"hook": "show_verification_ui"}]},
                "oidc": {"hooks": []}
            }
        });
        let mut hooks = Hooks::default();
        add(
            &mut hooks,
            "selfservice.flows.registration",
            FlowKind::Registration,
            flow,
        )
        .await
        .unwrap();
        let reg = FlowKind::Registration;
        assert_eq!(names(hooks.for_event(HookEvent::Before(reg))), ["web_hook"]);
        for (method, expected) in [
            ("password", &["show_verification_ui", "session"][..]),
            ("oidc", &["web_hook"][..]),
            ("code", &["web_hook"][..]),
        ] {
            let after = HookEvent::After { flow: reg, method };
            assert_eq!(names(hooks.for_event(after)), expected, "{method}");
        }
        assert!(
            hooks
                .for_event(HookEvent::Before(FlowKind::Login))
                .is_empty()
        );
        let Hook::WebHook(web) = &hooks.for_event(HookEvent::Before(reg))[0] else {
            panic!("not a web hook");
        };
        assert_eq!(web.name(), "POST http://127.0.0.1:1/b");
    }

    #[tokio::test]
    async fn misplaced_hooks_are_refused_naming_the_key() {
        let flow = json!({"after": {"password": {"hooks": [{"hook": "session"}]}}});
        let err = add(
            &mut Hooks::default(),
            "selfservice.flows.login",
            FlowKind::Login,
            flow,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.key,
            "selfservice.flows.login.after.password.hooks[0].hook"
        );
        let flow = json!({"before": {"hooks": [{"hook": "revoke_active_sessions"}]}});
        let err = add(&mut Hooks::default(), "x", FlowKind::Settings, flow)
            .await
            .unwrap_err();
        assert_eq!(err.key, "x.before.hooks[0].hook");
    }

    #[test]
    fn the_context_serializes_with_kratos_names() {
        let mut ctx = HookContext::new(json!({"id": "f"}), "POST", "http://x/self-service");
        ctx.identity = Some(json!({"id": "i"}));
        assert_eq!(
            serde_json::to_value(&ctx).unwrap(),
            json!({
                "flow": {"id": "f"},
                "identity": {"id": "i"},
                "request_headers": {},
                "request_method": "POST",
                "request_url": "http://x/self-service",
                "request_cookies": {}
            })
        );
    }
}
