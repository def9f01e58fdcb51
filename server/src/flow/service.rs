//! Creating, fetching and submitting flows; methods are looked up by id.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bia_config::RequiredAal;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::address::AddressFlows;
use super::csrf;
use super::hooks::{FlowHooks, HookStop};
use super::method::{
    LoginSubmission, Method, MethodError, PrePersist, Problem, RegistrationSubmission,
    SettingsSubmission,
};
use super::model::{ErrorFlow, Flow, FlowKind, FlowType};
use super::ui::{Message, Node, Ui};
use crate::aal::{self, Aal};
use crate::hook::HookOutcome;
use crate::identity::{CredentialType, Identity, IdentityDraft, IdentityError, IdentityService};
use crate::schema::SchemaChoiceError;
use crate::session::{Device, Session, SessionError, SessionService};
use crate::store::{FlowStore, StoreError};
use crate::time::Clock;

/// The state of a login or registration flow that has been completed.
const PASSED_CHALLENGE: &str = "passed_challenge";

/// Settings of the flow machine.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// How long a login flow can be submitted.
    pub login_lifespan: Duration,
    /// How long a registration flow can be submitted.
    pub registration_lifespan: Duration,
    /// How long a settings flow can be submitted.
    pub settings_lifespan: Duration,
    /// How long after signing in settings may change without signing in again.
    pub privileged_session_max_age: Duration,
    /// Whether registration is offered.
    pub registration_enabled: bool,
    /// The public base URL, ending in `/`, for form actions.
    pub public_base_url: String,
    /// Counts registration attempts per client address (the same limit as
    /// credential checks); `None` leaves registration unthrottled.
    pub throttle: Option<Arc<crate::throttle::Throttle>>,
    /// Where the "Continue" link of a completed verification goes when the
    /// flow has no `return_to`.
    pub verification_return_url: String,
    /// The assurance level settings changes require
    /// (`selfservice.flows.settings.required_aal`).
    pub settings_required_aal: RequiredAal,
    /// Whether login asks for the identifier first
    /// (`selfservice.flows.login.style: identifier_first`).
    pub identifier_first: bool,
    /// Whether identifier-first login answers alike for unknown accounts
    /// (`security.account_enumeration.mitigate`).
    pub mitigate_enumeration: bool,
    /// Whether registration asks for the traits first
    /// (`selfservice.flows.registration.style: profile_first`).
    pub profile_first: bool,
}

/// What the client asks for when it starts a flow.
#[derive(Debug, Clone)]
pub struct NewFlow {
    /// Login, registration or settings.
    pub kind: FlowKind,
    /// Native app or browser.
    pub flow_type: FlowType,
    /// The URL that asked for the flow.
    pub request_url: String,
    /// Where to send the browser afterwards (already checked against the allow list).
    pub return_to: Option<String>,
    /// Login only: re-authenticate the current session.
    pub refresh: bool,
    /// Login only: `aal2` steps the current session up with a second factor.
    pub requested_aal: Aal,
    /// Browser flows: the browser's anti-CSRF token (from its cookie).
    pub csrf_token: Option<String>,
    /// Login and registration: the identity schema asked for (the
    /// `identity_schema` query parameter); the default schema when absent.
    pub identity_schema: Option<String>,
}

/// Who is asking, as far as the request shows.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The valid session the request carries, if any.
    pub session: Option<Session>,
    /// The clear-text token a native client sent, if any.
    pub session_token: Option<String>,
    /// The device the request comes from.
    pub device: Device,
    /// The browser's anti-CSRF token (from its cookie), for flows made on
    /// its behalf (the settings flow after a recovery).
    pub csrf_cookie: Option<String>,
}

/// What a submission carries against cross-site request forgery.
#[derive(Debug, Clone, Default)]
pub struct CsrfEvidence {
    /// The token in the browser's anti-CSRF cookie.
    pub cookie_token: Option<String>,
    /// The `X-CSRF-Token` header.
    pub header_token: Option<String>,
    /// Whether the request looks like a browser's (cookies or an `Origin` header).
    pub from_browser: bool,
}

/// What a successful login or registration produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The flow, as it ended.
    pub flow: Flow,
    /// The identity that signed in or up.
    pub identity: Identity,
    /// The new or refreshed session (none when a registration does not sign in).
    pub session: Option<Session>,
    /// Its clear-text token, when this submission created it or the client sent it.
    pub token: Option<String>,
    /// What the client may do next besides (verification flows started for
    /// the new identity's addresses: `show_verification_ui` items).
    pub continue_with: Vec<Value>,
}

/// Why a flow operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// No such flow.
    #[error("flow not found")]
    NotFound,
    /// The flow expired; a new one was created.
    #[error("flow expired")]
    Expired {
        /// The replacement flow.
        new_flow: Box<Flow>,
        /// When the old one expired.
        expired_at: DateTime<Utc>,
    },
    /// The submission was refused; the flow carries the messages.
    #[error("the submission is invalid")]
    Invalid(Box<Flow>),
    /// The browser must go to `to` to go on (the flow was stored).
    #[error("the browser must go elsewhere")]
    Redirect {
        /// Where the browser goes.
        to: String,
    },
    /// The submission names a method that is not enabled for this flow.
    #[error("unknown method")]
    UnknownMethod,
    /// A valid session already exists.
    #[error("a session already exists")]
    SessionAlreadyAvailable,
    /// The flow needs a session and the request has none.
    #[error("no active session")]
    NoSession,
    /// The session belongs to another identity than the flow (`submitted`:
    /// found on submission rather than on reading the flow).
    #[error("the flow belongs to another identity")]
    IdentityMismatch {
        /// Whether a submission (not a read) found it.
        submitted: bool,
    },
    /// The session is too old for this change; the user must sign in again.
    #[error("a fresh sign-in is required")]
    RefreshRequired(Box<Flow>),
    /// The anti-CSRF token is missing or does not match.
    #[error("CSRF violation: {0}")]
    Csrf(&'static str),
    /// A native flow was submitted by a browser.
    #[error("a native flow was submitted by a browser")]
    NativeFromBrowser,
    /// The flow asked for an identity schema it may not use.
    #[error("identity schema {id:?} cannot be chosen: {reason}")]
    SchemaChoice {
        /// The schema id asked for.
        id: String,
        /// Why it cannot be used.
        reason: SchemaChoiceError,
    },
    /// A web hook refused to let the flow start.
    #[error("a web hook refused the flow")]
    HookRefused(Vec<Problem>),
    /// A hook could not be carried out.
    #[error("hook failed: {0}")]
    HookFailed(String),
    /// A method refused the submission outright (a generic error).
    #[error("refused: {0}")]
    Refused(super::method::Refusal),
    /// The flow is switched off in the configuration.
    #[error("the {} flow is disabled", .0.as_str())]
    Disabled(FlowKind),
    /// The password hasher is saturated.
    #[error("busy")]
    Busy,
    /// Too many attempts; the method refused to check the credentials.
    #[error("too many attempts")]
    Throttled {
        /// How long until an attempt would be accepted.
        retry_after: Duration,
    },
    /// The signed-in identity may not have a session.
    #[error("the identity is not active")]
    Inactive,
    /// A login flow asked for `aal2` without a session to step up.
    #[error("a higher assurance level needs a session")]
    Aal1Required,
    /// A login flow asked for `aal2` for an identity without a second factor.
    #[error("the identity has no second factor")]
    NoSecondFactor,
    /// The session must step up to `aal2` (its identity has a second factor
    /// and the feature requires the highest available level).
    #[error("a second factor is required")]
    Aal2Required,
    /// Identity operations failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::throttle::Throttled> for FlowError {
    fn from(throttled: crate::throttle::Throttled) -> Self {
        FlowError::Throttled {
            retry_after: throttled.retry_after,
        }
    }
}

impl From<SessionError> for FlowError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Store(store) => FlowError::Store(store),
            SessionError::NotFound => FlowError::NotFound,
            SessionError::Inactive | SessionError::CurrentSession => FlowError::Inactive,
            SessionError::Aal2Required => FlowError::Aal2Required,
        }
    }
}

/// The flow machine.
#[derive(Clone)]
pub struct FlowService {
    pub(super) hooks: FlowHooks,
    pub(super) store: Arc<dyn FlowStore>,
    pub(super) methods: Vec<Arc<dyn Method>>,
    pub(super) identities: IdentityService,
    pub(super) sessions: SessionService,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: FlowSettings,
    pub(super) address: Option<Arc<AddressFlows>>,
}

fn lifespan_after(now: DateTime<Utc>, lifespan: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lifespan).unwrap_or_else(|_| chrono::Duration::hours(1))
}

impl FlowService {
    /// A machine with these methods registered.
    pub fn new(
        store: Arc<dyn FlowStore>,
        methods: Vec<Arc<dyn Method>>,
        identities: IdentityService,
        sessions: SessionService,
        clock: Arc<dyn Clock>,
        settings: FlowSettings,
    ) -> Self {
        Self {
            hooks: FlowHooks::none(),
            store,
            methods,
            identities,
            sessions,
            clock,
            settings,
            address: None,
        }
    }

    /// The machine with recovery and verification flows.
    pub fn with_address_flows(mut self, parts: AddressFlows) -> Self {
        self.address = Some(Arc::new(parts));
        self
    }

    /// The machine with these hooks.
    pub fn with_hooks(mut self, hooks: FlowHooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// The machine's settings.
    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }

    /// How long a code or link made now works (`selfservice.methods.<code|link>.config.lifespan`).
    pub fn one_time_lifespan(&self, delivery: crate::onetime::Delivery) -> Duration {
        match (&self.address, delivery) {
            (Some(parts), crate::onetime::Delivery::Code) => parts.code_lifespan,
            (Some(parts), crate::onetime::Delivery::Link) => parts.link_lifespan,
            (None, _) => Duration::from_secs(3600),
        }
    }

    /// Whether a registration with `method` sends the browser to the
    /// verification page (the `show_verification_ui` hook).
    pub fn shows_verification(&self, method: &str) -> bool {
        self.hooks.shows_verification(method)
    }

    /// Whether flows of `kind` are offered (recovery and verification only
    /// when enabled; registration's switch applies when a flow is created).
    pub fn offers(&self, kind: FlowKind) -> bool {
        match kind {
            FlowKind::Recovery | FlowKind::Verification => self
                .address
                .as_ref()
                .is_some_and(|parts| parts.settings(kind).enabled),
            _ => true,
        }
    }

    /// Starts a flow for whoever is asking.
    pub async fn create(&self, new: NewFlow, requester: &Requester) -> Result<Flow, FlowError> {
        if let Some(throttle) = &self.settings.throttle {
            throttle.admit_flow(requester.device.ip_address.as_deref())?;
        }
        let session = requester.session.as_ref();
        let refresh = new.kind == FlowKind::Login && new.refresh && session.is_some();
        let step_up = new.kind == FlowKind::Login && new.requested_aal == Aal::Aal2;
        match new.kind {
            FlowKind::Login if step_up && session.is_none() => {
                return Err(FlowError::Aal1Required);
            }
            FlowKind::Login
                if session.is_some_and(|s| !refresh && (!step_up || s.aal == "aal2")) =>
            {
                return Err(FlowError::SessionAlreadyAvailable);
            }
            FlowKind::Registration if !self.settings.registration_enabled => {
                return Err(FlowError::Disabled(FlowKind::Registration));
            }
            FlowKind::Registration if session.is_some() => {
                return Err(FlowError::SessionAlreadyAvailable);
            }
            FlowKind::Settings if session.is_none() => return Err(FlowError::NoSession),
            FlowKind::Recovery | FlowKind::Verification => {
                if !self.offers(new.kind) {
                    return Err(FlowError::Disabled(new.kind));
                }
                if new.kind == FlowKind::Recovery && session.is_some() {
                    return Err(FlowError::SessionAlreadyAvailable);
                }
            }
            _ => {}
        }
        let identity = match session {
            // The full identity: the session's copy carries no credentials.
            Some(session) if refresh || step_up || new.kind == FlowKind::Settings => {
                Some(self.identities.get(session.identity_id).await?)
            }
            _ => None,
        };
        if let (Some(session), Some(identity)) = (session, &identity) {
            self.check_aal(new.kind, step_up, session, identity)?;
        }
        self.check_schema_choice(&new)?;
        let flow = self.build(&new, refresh, identity);
        self.hooks.before(&flow).await.map_err(|stop| match stop {
            HookStop::Refused(problems) => FlowError::HookRefused(problems),
            HookStop::Failed(reason) => FlowError::HookFailed(reason),
        })?;
        self.store.create(&flow).await?;
        Ok(flow)
    }

    /// A login or registration flow may name the default schema or one
    /// marked `selfservice_selectable`.
    fn check_schema_choice(&self, new: &NewFlow) -> Result<(), FlowError> {
        let Some(id) = chosen_schema(new) else {
            return Ok(());
        };
        let registry = self.identities.schemas().current();
        registry
            .choose(id)
            .map_err(|reason| FlowError::SchemaChoice {
                id: id.to_owned(),
                reason,
            })
    }

    /// A step-up flow needs a second factor to use; a settings flow needs
    /// the level `selfservice.flows.settings.required_aal` asks for.
    fn check_aal(
        &self,
        kind: FlowKind,
        step_up: bool,
        session: &Session,
        identity: &Identity,
    ) -> Result<(), FlowError> {
        let available = self.identities.available_aal(identity);
        if step_up && available < Aal::Aal2 {
            return Err(FlowError::NoSecondFactor);
        }
        let reached = Aal::parse(&session.aal).unwrap_or_default();
        let required = self.settings.settings_required_aal;
        if kind == FlowKind::Settings && !aal::satisfies(required, reached, available) {
            return Err(FlowError::Aal2Required);
        }
        Ok(())
    }

    fn build(&self, new: &NewFlow, refresh: bool, identity: Option<Identity>) -> Flow {
        let lifespan = match new.kind {
            FlowKind::Login => self.settings.login_lifespan,
            FlowKind::Registration => self.settings.registration_lifespan,
            FlowKind::Settings => self.settings.settings_lifespan,
            FlowKind::Recovery | FlowKind::Verification => self
                .address
                .as_ref()
                .map_or(self.settings.login_lifespan, |p| {
                    p.settings(new.kind).lifespan
                }),
        };
        self.build_flow(new, refresh, identity, lifespan)
    }

    /// A new, unsaved flow of `lifespan` with its fresh form.
    pub(super) fn build_with_lifespan(&self, new: &NewFlow, lifespan: Duration) -> Flow {
        self.build_flow(new, false, None, lifespan)
    }

    fn build_flow(
        &self,
        new: &NewFlow,
        refresh: bool,
        identity: Option<Identity>,
        lifespan: Duration,
    ) -> Flow {
        let now = self.clock.now();
        let id = Uuid::new_v4();
        let csrf_token = match (new.flow_type, &new.csrf_token) {
            (FlowType::Browser, Some(token)) => csrf::mask(token),
            _ => String::new(),
        };
        let mut flow = Flow {
            id,
            kind: new.kind,
            flow_type: new.flow_type,
            state: match new.kind {
                FlowKind::Settings => "show_form".into(),
                _ => "choose_method".into(),
            },
            request_url: new.request_url.clone(),
            return_to: new.return_to.clone(),
            refresh,
            csrf_token,
            identity_id: identity.as_ref().map(|i| i.id),
            identity,
            ui: Ui::default(),
            issued_at: now,
            expires_at: lifespan_after(now, lifespan),
            updated_at: now,
            internal: serde_json::Map::new(),
        };
        if new.kind == FlowKind::Login {
            flow.set_requested_aal(new.requested_aal);
        }
        flow.set_identity_schema(chosen_schema(new));
        self.fill_form(&mut flow);
        // As Kratos: a recovery or verification flow names its method from
        // the start (Ory Elements cannot show one that does not).
        if let (FlowKind::Recovery | FlowKind::Verification, Some(parts)) =
            (flow.kind, &self.address)
        {
            let delivery = parts.settings(flow.kind).delivery;
            flow.internal
                .insert("active".into(), Value::String(delivery.as_str().into()));
        }
        flow
    }

    /// Gives `flow` a fresh form ([`Self::form`]); methods whose nodes carry
    /// a one-time challenge keep its state in the flow's internal context.
    pub(super) fn fill_form(&self, flow: &mut Flow) {
        let mut internal = flow.internal.clone();
        flow.ui = self.form(flow, &mut internal);
        flow.internal = internal;
    }

    /// A fresh form for a flow: the anti-CSRF field, then every method's
    /// nodes; challenge state goes to `internal`.
    fn form(&self, flow: &Flow, internal: &mut serde_json::Map<String, Value>) -> Ui {
        let mut ui = Ui {
            action: format!(
                "{}self-service/{}?flow={}",
                self.settings.public_base_url,
                flow.kind.as_str(),
                flow.id
            ),
            method: "POST".into(),
            nodes: vec![
                Node::input("default", "csrf_token", "hidden")
                    .required()
                    .value(Value::String(flow.csrf_token.clone())),
            ],
            messages: Vec::new(),
        };
        if let (FlowKind::Recovery | FlowKind::Verification, Some(parts)) =
            (flow.kind, &self.address)
        {
            super::address_ui::ask_address(&mut ui, parts.settings(flow.kind).delivery);
            return ui;
        }
        if flow.kind == FlowKind::Login && flow.requested_aal() == Aal::Aal2 {
            ui.messages.push(Message::info(
                1010004,
                "Please complete the second authentication challenge.",
            ));
            if let Some(identity) = &flow.identity {
                for method in &self.methods {
                    method.populate_second_factor(identity, &mut ui);
                    method.populate_challenge(flow, &mut ui, internal);
                }
            }
            return ui;
        }
        if super::profile_first::applies(flow, self.settings.profile_first) {
            self.profile_first_form(flow, &mut ui, internal);
            return ui;
        }
        if super::identifier_first::applies(flow, self.settings.identifier_first) {
            super::identifier_first::ask_identifier(&mut ui);
            for method in &self.methods {
                method.populate_identification(&mut ui);
            }
            return ui;
        }
        for method in &self.methods {
            match (flow.kind, &flow.identity) {
                (FlowKind::Settings, Some(identity)) => {
                    method.populate_settings_flow(flow, identity, &mut ui);
                }
                (FlowKind::Settings, None) => continue,
                _ => method.populate(flow, &mut ui),
            }
            method.populate_challenge(flow, &mut ui, internal);
        }
        if flow.refresh {
            ui.messages.push(Message::info(
                1010003,
                "Please confirm this action by verifying that it is you.",
            ));
            if let Some(identity) = &flow.identity {
                prefill_identifier(&mut ui, identity);
            }
        }
        ui
    }

    /// Reads a flow; an expired one is refused with a replacement. Settings
    /// flows come with their identity.
    pub async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Flow, FlowError> {
        if !self.offers(kind) {
            return Err(FlowError::Disabled(kind));
        }
        let mut flow = self.store.get(kind, id).await?.ok_or(FlowError::NotFound)?;
        let with_identity = kind == FlowKind::Settings || flow.requested_aal() == Aal::Aal2;
        if let Some(identity_id) = flow.identity_id.filter(|_| with_identity) {
            flow.identity = Some(self.identities.get(identity_id).await?);
        }
        self.refuse_expired(&flow).await?;
        Ok(flow)
    }

    /// Whether a flow is a browser's or a native app's, read as stored (no
    /// expiry handling, so no replacement flow is made).
    pub async fn flow_type(&self, kind: FlowKind, id: Uuid) -> Option<FlowType> {
        self.store
            .get(kind, id)
            .await
            .ok()
            .flatten()
            .map(|flow| flow.flow_type)
    }

    async fn refuse_expired(&self, flow: &Flow) -> Result<(), FlowError> {
        if flow.expires_at > self.clock.now() {
            return Ok(());
        }
        let new = NewFlow {
            kind: flow.kind,
            flow_type: flow.flow_type,
            request_url: flow.request_url.clone(),
            return_to: flow.return_to.clone(),
            refresh: flow.refresh,
            requested_aal: flow.requested_aal(),
            csrf_token: None,
            identity_schema: flow.identity_schema().map(str::to_owned),
        };
        let mut new_flow = self.build(&new, flow.refresh, flow.identity.clone());
        // The replacement keeps the browser's anti-CSRF token.
        new_flow.csrf_token = flow.csrf_token.clone();
        new_flow.identity_id = flow.identity_id;
        self.fill_form(&mut new_flow);
        self.store.create(&new_flow).await?;
        Err(FlowError::Expired {
            new_flow: Box::new(new_flow),
            expired_at: flow.expires_at,
        })
    }

    /// Checks that a submission may act on this flow.
    fn check_csrf(flow: &Flow, body: &Value, csrf: &CsrfEvidence) -> Result<(), FlowError> {
        match flow.flow_type {
            FlowType::Api if csrf.from_browser => Err(FlowError::NativeFromBrowser),
            FlowType::Api => Ok(()),
            FlowType::Browser => {
                let submitted = body
                    .get("csrf_token")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .or(csrf.header_token.as_deref())
                    .ok_or(FlowError::Csrf(
                        "The anti-CSRF token was not sent in the body (csrf_token) nor in the X-CSRF-Token header.",
                    ))?;
                let cookie = csrf.cookie_token.as_deref().ok_or(FlowError::Csrf(
                    "The anti-CSRF cookie is missing or was set for another secret.",
                ))?;
                if csrf::matches(cookie, submitted) {
                    Ok(())
                } else {
                    Err(FlowError::Csrf(
                        "The anti-CSRF token does not match the anti-CSRF cookie.",
                    ))
                }
            }
        }
    }

    /// Whether a browser's anti-CSRF cookie belongs to this flow (checked when
    /// a browser flow is fetched). Settings flows are bound to their owner's
    /// session instead, which is checked on every read.
    pub fn csrf_cookie_matches(flow: &Flow, cookie_token: Option<&str>) -> bool {
        flow.flow_type == FlowType::Api
            || flow.kind == FlowKind::Settings
            || skips_csrf(flow)
            || cookie_token.is_some_and(|token| csrf::matches(token, &flow.csrf_token))
    }

    fn method(&self, body: &Value) -> Result<&Arc<dyn Method>, FlowError> {
        let Some(method_id) = body.get("method").and_then(Value::as_str) else {
            return self
                .methods
                .iter()
                .find(|m| m.claims(body))
                .ok_or(FlowError::UnknownMethod);
        };
        self.methods
            .iter()
            .find(|m| m.id() == method_id)
            .ok_or(FlowError::UnknownMethod)
    }

    /// Checks that a recovery or verification submission may act on the
    /// flow and names the flow's method.
    pub(super) fn check_address_submission(
        &self,
        flow: &Flow,
        body: &Value,
        csrf: &CsrfEvidence,
    ) -> Result<(), FlowError> {
        if !skips_csrf(flow) {
            Self::check_csrf(flow, body, csrf)?;
        }
        let parts = self.address_flows()?;
        let method = body.get("method").and_then(Value::as_str).unwrap_or("");
        if method == parts.settings(flow.kind).delivery.as_str() {
            Ok(())
        } else {
            Err(FlowError::UnknownMethod)
        }
    }

    /// Shows the flow again with the method's problems on its fields.
    pub(super) async fn refuse(
        &self,
        mut flow: Flow,
        body: &Value,
        error: MethodError,
    ) -> FlowError {
        match error {
            MethodError::Invalid(problems) => {
                flow.ui.clear_messages();
                flow.ui.refill(body);
                for problem in problems {
                    flow.ui
                        .add_message(problem.field.as_deref(), problem.message);
                }
                flow.updated_at = self.clock.now();
                match self.store.update(&flow).await {
                    Ok(()) => FlowError::Invalid(Box::new(flow)),
                    Err(error) => error.into(),
                }
            }
            MethodError::NextStep(next) => {
                let mut next = *next;
                next.updated_at = self.clock.now();
                match self.store.update(&next).await {
                    Ok(()) => FlowError::Invalid(Box::new(next)),
                    Err(error) => error.into(),
                }
            }
            MethodError::Redirect { flow: next, to } => {
                let mut next = *next;
                next.updated_at = self.clock.now();
                match self.store.update(&next).await {
                    Ok(()) => FlowError::Redirect { to },
                    Err(error) => error.into(),
                }
            }
            MethodError::LoginFirst(request) => self.login_first(*request).await,
            MethodError::Unsupported => FlowError::UnknownMethod,
            MethodError::Busy => FlowError::Busy,
            MethodError::Throttled { retry_after } => FlowError::Throttled { retry_after },
            MethodError::HookFailed(reason) => FlowError::HookFailed(reason),
            MethodError::Refused(refusal) => FlowError::Refused(refusal),
            MethodError::Identity(error) => error.into(),
        }
    }

    /// Submits a login or registration flow: the method named in the body
    /// checks it (a registration's identity passes the hooks that may change
    /// or refuse it before the method stores it), the after hooks run on the
    /// stored identity, then a session is issued (or, for a refresh, renewed).
    pub async fn submit(
        &self,
        kind: FlowKind,
        id: Uuid,
        body: &Value,
        requester: Requester,
        csrf: &CsrfEvidence,
    ) -> Result<Outcome, FlowError> {
        let flow = self.get(kind, id).await?;
        Self::check_csrf(&flow, body, csrf)?;
        if flow.state == PASSED_CHALLENGE {
            // A completed flow is never replayed into another session.
            let done = Message::already_completed(kind == FlowKind::Registration);
            let refusal = MethodError::Invalid(vec![Problem::form(done)]);
            return Err(self.refuse(flow, body, refusal).await);
        }
        if kind == FlowKind::Registration
            && let Some(throttle) = &self.settings.throttle
        {
            let ip = requester.device.ip_address.as_deref();
            throttle.admit_address(ip)?;
        }
        if kind == FlowKind::Login && super::identifier_first::is_identification(body) {
            return Err(self.identify(flow, body, &requester).await);
        }
        if super::profile_first::takes(&flow, body, self.settings.profile_first) {
            return Err(self.profile_step(flow, body).await);
        }
        let body = &*super::profile_first::with_kept_traits(&flow, body);
        let mut flow = flow;
        let method = self.method(body)?;
        let step_up = kind == FlowKind::Login && flow.requested_aal() == Aal::Aal2;
        if step_up {
            Self::check_step_up(&flow, method.as_ref(), requester.session.as_ref())?;
        }
        let result = match kind {
            FlowKind::Login => {
                let login = LoginSubmission {
                    flow: &flow,
                    body,
                    device: &requester.device,
                };
                method.login(&login).await
            }
            FlowKind::Registration => {
                let pre_persist = PersistHooks {
                    machine: self,
                    flow: &flow,
                    method: method.id(),
                };
                let sub = RegistrationSubmission {
                    flow: &flow,
                    body,
                    pre_persist: &pre_persist,
                };
                method.register(&sub).await
            }
            FlowKind::Settings | FlowKind::Recovery | FlowKind::Verification => {
                Err(MethodError::Unsupported)
            }
        };
        let identity = match result {
            Ok(identity) => identity,
            Err(error) => return Err(self.refuse(flow, body, error).await),
        };
        if flow.refresh
            && flow
                .identity_id
                .is_some_and(|expected| expected != identity.id)
        {
            return Err(FlowError::IdentityMismatch { submitted: true });
        }
        let identity = match self.finish_login(&flow, kind, identity).await {
            Ok(identity) => identity,
            Err(error) => return Err(self.refuse(flow, body, error).await),
        };
        let identity = match self.after_hooks(&flow, method.id(), identity).await {
            Ok(identity) => identity,
            Err(stop) => return Err(self.refuse(flow, body, stop.into()).await),
        };
        let current = requester
            .session
            .filter(|s| (flow.refresh || step_up) && s.identity_id == identity.id);
        let signs_in = kind == FlowKind::Login || self.hooks.registration_signs_in(method.id());
        let (session, token) = match current {
            Some(session) => {
                let step = if step_up { Aal::Aal2 } else { Aal::Aal1 };
                let session = self.sessions.refresh(&session, method.id(), step).await?;
                (Some(session), requester.session_token)
            }
            None if signs_in => {
                let (session, token) = self
                    .sessions
                    .issue(&identity, method.id(), requester.device)
                    .await?;
                (Some(session), Some(token))
            }
            None => (None, None),
        };
        if let Some(session) = &session
            && self.hooks.revokes_other_sessions(kind, method.id())
        {
            self.sessions.revoke_others(session).await?;
        }
        flow.state = PASSED_CHALLENGE.into();
        flow.updated_at = self.clock.now();
        self.store.update(&flow).await?;
        let continue_with = if kind == FlowKind::Registration {
            self.start_verifications(&identity, None, &flow).await
        } else {
            Vec::new()
        };
        Ok(Outcome {
            flow,
            identity,
            session,
            token,
            continue_with,
        })
    }

    /// After a login proved `identity`: every method finishes what it
    /// started before the flow was made ([`Method::after_login`]).
    async fn finish_login(
        &self,
        flow: &Flow,
        kind: FlowKind,
        mut identity: Identity,
    ) -> Result<Identity, MethodError> {
        if kind != FlowKind::Login {
            return Ok(identity);
        }
        for method in &self.methods {
            identity = method.after_login(flow, identity).await?;
        }
        Ok(identity)
    }

    /// A step-up submission uses a second factor, from the session the flow
    /// was made for.
    fn check_step_up(
        flow: &Flow,
        method: &dyn Method,
        session: Option<&Session>,
    ) -> Result<(), FlowError> {
        if !method.is_second_factor() {
            return Err(FlowError::UnknownMethod);
        }
        match session {
            None => Err(FlowError::Aal1Required),
            Some(s) if Some(s.identity_id) != flow.identity_id => {
                Err(FlowError::IdentityMismatch { submitted: true })
            }
            Some(_) => Ok(()),
        }
    }

    /// Submits a settings flow: the signed-in owner changes a password or
    /// profile, within the privileged session age.
    pub async fn submit_settings(
        &self,
        id: Uuid,
        body: &Value,
        session: Option<&Session>,
        csrf: &CsrfEvidence,
    ) -> Result<Flow, FlowError> {
        let mut flow = self.get(FlowKind::Settings, id).await?;
        Self::check_csrf(&flow, body, csrf)?;
        let session = session.ok_or(FlowError::NoSession)?;
        if flow.identity_id != Some(session.identity_id) {
            return Err(FlowError::IdentityMismatch { submitted: true });
        }
        let method = self.method(body)?;
        let age = self.clock.now() - session.authenticated_at;
        let max_age = chrono::Duration::from_std(self.settings.privileged_session_max_age)
            .unwrap_or_else(|_| chrono::Duration::minutes(15));
        if age > max_age {
            return Err(FlowError::RefreshRequired(Box::new(flow)));
        }
        let Some(identity) = flow.identity.clone() else {
            return Err(FlowError::NotFound);
        };
        self.check_aal(FlowKind::Settings, false, session, &identity)?;
        let pre_persist = PersistHooks {
            machine: self,
            flow: &flow,
            method: method.id(),
        };
        let sub = SettingsSubmission {
            flow: &flow,
            identity: &identity,
            body,
            pre_persist: &pre_persist,
        };
        let updated = match method.update_settings(&sub).await {
            Ok(updated) => updated,
            Err(error) => return Err(self.refuse(flow, body, error).await),
        };
        // The hooks that may change or refuse the change ran before it was
        // stored; the others cannot undo it.
        if let Err(stop) = self.hooks.after_checks(&flow, method.id(), &updated).await {
            tracing::warn!(?stop, "an after-settings hook failed; the change is kept");
        }
        if self
            .hooks
            .revokes_other_sessions(FlowKind::Settings, method.id())
        {
            self.sessions.revoke_others(session).await?;
        }
        self.start_verifications(&updated, Some(&identity), &flow)
            .await;
        flow.identity = Some(updated);
        flow.state = "success".into();
        self.fill_form(&mut flow);
        flow.ui.messages.push(Message {
            id: 1050001,
            text: "Your changes have been saved!".into(),
            kind: "success".into(),
            context: None,
        });
        flow.updated_at = self.clock.now();
        self.store.update(&flow).await?;
        Ok(flow)
    }

    /// Runs the after hooks that can stop a login or registration on its
    /// stored identity and applies the changes parsing web hooks ask for
    /// after a login. (The hooks that may change or refuse a registration
    /// ran before its identity was stored: [`PersistHooks`].)
    async fn after_hooks(
        &self,
        flow: &Flow,
        method: &str,
        identity: Identity,
    ) -> Result<Identity, HookStop> {
        let outcomes = self.hooks.after_checks(flow, method, &identity).await?;
        self.apply_patches(identity, outcomes, Stored::Yes)
            .await
            .map_err(|error| {
                HookStop::Failed(format!(
                    "a web hook's identity changes were refused: {error}"
                ))
            })
    }

    /// Applies the identity changes parsing web hooks answered with, each
    /// part present replacing the identity's.
    async fn apply_patches(
        &self,
        mut identity: Identity,
        outcomes: Vec<HookOutcome>,
        stored: Stored,
    ) -> Result<Identity, IdentityError> {
        for outcome in outcomes {
            let HookOutcome::PatchIdentity {
                traits,
                metadata_public,
                metadata_admin,
            } = outcome
            else {
                continue;
            };
            let draft = IdentityDraft {
                schema_id: Some(identity.schema_id.clone()),
                traits: traits.unwrap_or_else(|| identity.traits.clone()),
                state: Some(identity.state),
                metadata_public: metadata_public.or_else(|| identity.metadata_public.clone()),
                metadata_admin: metadata_admin.or_else(|| identity.metadata_admin.clone()),
                external_id: identity.external_id.clone(),
                organization_id: identity.organization_id,
                ..IdentityDraft::default()
            };
            identity = match stored {
                Stored::Yes => self.identities.update(identity.id, draft).await?,
                Stored::No => self.identities.revise_unsaved(identity, draft).await?,
            };
        }
        Ok(identity)
    }

    /// Stores an error for the browser's error page and returns its id.
    pub async fn record_error(&self, error: Value) -> Result<Uuid, FlowError> {
        let flow = ErrorFlow {
            id: Uuid::new_v4(),
            error,
            created_at: self.clock.now(),
        };
        self.store.create_error(&flow).await?;
        Ok(flow.id)
    }

    /// Reads a stored error.
    pub async fn get_error(&self, id: Uuid) -> Result<ErrorFlow, FlowError> {
        self.store.get_error(id).await?.ok_or(FlowError::NotFound)
    }
}

/// Whether the identity that hooks change is stored already (after a login)
/// or not yet (during a registration or a settings change).
#[derive(Debug, Clone, Copy)]
enum Stored {
    Yes,
    No,
}

/// The flow machine's part of a registration or settings change between the
/// method building the identity and storing it: the after hooks that may
/// change or refuse it. A change that breaks the identity schema refuses the
/// submission with the problems on the form.
struct PersistHooks<'a> {
    machine: &'a FlowService,
    flow: &'a Flow,
    method: &'static str,
}

#[async_trait]
impl PrePersist for PersistHooks<'_> {
    async fn run(&self, identity: Identity) -> Result<Identity, MethodError> {
        let machine = self.machine;
        let outcomes = machine
            .hooks
            .before_persist(self.flow, self.method, &identity)
            .await?;
        machine
            .apply_patches(identity, outcomes, Stored::No)
            .await
            .map_err(MethodError::refused_write)
    }
}

/// The schema a new login or registration flow names, if any (other flows
/// take no schema).
fn chosen_schema(new: &NewFlow) -> Option<&str> {
    match new.kind {
        FlowKind::Login | FlowKind::Registration => new.identity_schema.as_deref(),
        _ => None,
    }
}

/// Whether an administrator made the flow for someone else's browser, so no
/// anti-CSRF cookie can be bound to it.
fn skips_csrf(flow: &Flow) -> bool {
    flow.internal.get("skip_csrf") == Some(&Value::Bool(true))
}

/// Puts the identity's password identifier into a refresh form's identifier
/// field, so the user only types the password.
fn prefill_identifier(ui: &mut Ui, identity: &Identity) {
    let identifier = identity
        .credentials
        .get(&CredentialType::Password)
        .and_then(|c| c.identifiers.first())
        .cloned();
    if let Some(node) = ui
        .nodes
        .iter_mut()
        .find(|n| n.attributes.name == "identifier")
    {
        node.attributes.value = Some(json!(identifier.unwrap_or_default()));
        node.attributes.input_type = "hidden".into();
    }
}
