//! Carrying out the configured hooks at the flow machine's moments: web hooks
//! before a flow starts and after it completes, and the built-in hooks
//! (`session`, `revoke_active_sessions`, `require_verified_address`;
//! `show_verification_ui` takes effect once verification flows exist).

use std::sync::Arc;

use serde_json::{Value, json};

use super::method::Problem;
use super::model::{Flow, FlowKind};
use super::ui::Message;
use crate::hook::{Hook, HookContext, HookError, HookEvent, HookOutcome, Hooks};
use crate::identity::Identity;

/// What a hook's `ctx` shows of the flow machine's objects, in the API's JSON
/// shapes (the HTTP layer supplies the renderer, as only it knows the wire).
pub enum Shown<'a> {
    /// A flow.
    Flow(&'a Flow),
    /// An identity.
    Identity(&'a Identity),
}

/// Renders flow machine objects as the API shows them.
pub type Renderer = Arc<dyn Fn(Shown<'_>) -> Value + Send + Sync>;

/// Why hooks stopped a flow.
#[derive(Debug)]
pub enum HookStop {
    /// Show the flow again with these problems.
    Refused(Vec<Problem>),
    /// A hook could not be carried out.
    Failed(String),
}

/// The hooks of every flow and the renderer their context needs.
#[derive(Clone)]
pub struct FlowHooks {
    hooks: Arc<Hooks>,
    render: Renderer,
}

fn stop(error: HookError) -> HookStop {
    match error {
        HookError::Interrupted(messages) => HookStop::Refused(
            messages
                .into_iter()
                .map(|m| Problem {
                    field: m.field,
                    message: Message {
                        id: m.message.id,
                        text: m.message.text,
                        kind: m.message.kind,
                        context: m.message.context,
                    },
                })
                .collect(),
        ),
        failed @ HookError::Failed { .. } => HookStop::Failed(failed.to_string()),
    }
}

impl FlowHooks {
    /// Hooks with the renderer of their context.
    pub fn new(hooks: Arc<Hooks>, render: Renderer) -> Self {
        Self { hooks, render }
    }

    /// No hooks at all.
    pub fn none() -> Self {
        Self::new(Arc::new(Hooks::default()), Arc::new(|_| Value::Null))
    }

    /// The hooks that run after `kind` completes with `method`.
    pub fn after(&self, kind: FlowKind, method: &str) -> &[Hook] {
        self.hooks
            .for_event(HookEvent::After { flow: kind, method })
    }

    /// The hooks after `kind` with `method` that run before its identity is
    /// stored (`before_persist`: parsing web hooks after a registration or a
    /// settings change), or the others. After a login nothing is stored, so
    /// every hook runs afterwards.
    fn after_split(&self, kind: FlowKind, method: &str, before_persist: bool) -> Vec<&Hook> {
        let runs_before = |h: &Hook| kind != FlowKind::Login && h.runs_before_persist();
        self.after(kind, method)
            .iter()
            .filter(|h| runs_before(h) == before_persist)
            .collect()
    }

    fn context(&self, flow: &Flow, identity: Option<&Identity>) -> HookContext {
        let mut ctx = HookContext::new((self.render)(Shown::Flow(flow)), "POST", &flow.request_url);
        ctx.identity = identity.map(|i| (self.render)(Shown::Identity(i)));
        ctx
    }

    async fn run_web_hooks(
        &self,
        hooks: impl IntoIterator<Item = &Hook>,
        flow: &Flow,
        identity: Option<&Identity>,
    ) -> Result<Vec<HookOutcome>, HookStop> {
        let ctx = self.context(flow, identity);
        let mut outcomes = Vec::new();
        for hook in hooks {
            if let Hook::WebHook(web_hook) = hook {
                outcomes.push(web_hook.run(&ctx).await.map_err(stop)?);
            }
        }
        Ok(outcomes)
    }

    /// Runs the web hooks configured before a flow of this kind starts.
    pub async fn before(&self, flow: &Flow) -> Result<(), HookStop> {
        let hooks = self.hooks.for_event(HookEvent::Before(flow.kind));
        self.run_web_hooks(hooks, flow, None).await.map(drop)
    }

    /// Runs the after-registration or after-settings hooks that see the
    /// identity before it is stored (web hooks that parse their answer),
    /// returning the identity changes they asked for.
    pub async fn before_persist(
        &self,
        flow: &Flow,
        method: &str,
        identity: &Identity,
    ) -> Result<Vec<HookOutcome>, HookStop> {
        let hooks = self.after_split(flow.kind, method, true);
        self.run_web_hooks(hooks, flow, Some(identity)).await
    }

    /// Runs the after hooks of a completed flow that can stop it (web hooks
    /// and `require_verified_address`) on its stored identity, returning the
    /// identity changes that parsing web hooks asked for. After a
    /// registration these are the hooks [`before_persist`](Self::before_persist)
    /// did not run.
    pub async fn after_checks(
        &self,
        flow: &Flow,
        method: &str,
        identity: &Identity,
    ) -> Result<Vec<HookOutcome>, HookStop> {
        let hooks = self.after_split(flow.kind, method, false);
        let requires_verified = hooks
            .iter()
            .any(|h| matches!(h, Hook::RequireVerifiedAddress));
        if requires_verified && !identity.verifiable_addresses.iter().any(|a| a.verified) {
            return Err(HookStop::Refused(vec![Problem::form(Message::error(
                4000010,
                "Account not active yet. Did you forget to verify your email address?",
                json!({}),
            ))]));
        }
        self.run_web_hooks(hooks, flow, Some(identity)).await
    }

    /// Whether a registration with `method` signs the new identity in: when a
    /// `session` hook is configured, or when no after-registration hook is
    /// configured at all (the server's default).
    pub fn registration_signs_in(&self, method: &str) -> bool {
        let hooks = self.after(FlowKind::Registration, method);
        hooks.is_empty() || hooks.iter().any(|h| matches!(h, Hook::Session))
    }

    /// An identity as the API shows it (the data of message templates).
    pub fn show_identity(&self, identity: &Identity) -> Value {
        (self.render)(Shown::Identity(identity))
    }

    /// Whether the browser is sent to the verification page after a
    /// registration with `method` (the `show_verification_ui` hook).
    pub fn shows_verification(&self, method: &str) -> bool {
        self.after(FlowKind::Registration, method)
            .iter()
            .any(|h| matches!(h, Hook::ShowVerificationUi))
    }

    /// Whether the other sessions are revoked after `kind` completes.
    pub fn revokes_other_sessions(&self, kind: FlowKind, method: &str) -> bool {
        self.after(kind, method)
            .iter()
            .any(|h| matches!(h, Hook::RevokeActiveSessions))
    }
}
