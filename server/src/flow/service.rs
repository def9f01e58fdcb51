//! Creating, fetching and submitting flows; methods are looked up by id.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::method::{Method, MethodError};
use super::model::{Flow, FlowKind};
use super::ui::{Node, Ui};
use crate::identity::{Identity, IdentityError};
use crate::session::{Device, Session, SessionError, SessionService};
use crate::store::{FlowStore, StoreError};
use crate::time::Clock;

/// Settings of the flow machine.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// How long a login flow can be submitted.
    pub login_lifespan: Duration,
    /// How long a registration flow can be submitted.
    pub registration_lifespan: Duration,
    /// The public base URL, ending in `/`, for form actions.
    pub public_base_url: String,
}

/// What a successful submission produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The identity that signed in or up.
    pub identity: Identity,
    /// The new session.
    pub session: Session,
    /// Its clear-text token.
    pub token: String,
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
    /// The submission names a method that is not enabled.
    #[error("unknown method")]
    UnknownMethod,
    /// A valid session already exists.
    #[error("a session already exists")]
    SessionAlreadyAvailable,
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
    /// Identity operations failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SessionError> for FlowError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Store(store) => FlowError::Store(store),
            SessionError::NotFound => FlowError::NotFound,
            SessionError::Inactive | SessionError::CurrentSession => FlowError::Inactive,
        }
    }
}

/// The flow machine.
#[derive(Clone)]
pub struct FlowService {
    store: Arc<dyn FlowStore>,
    methods: Vec<Arc<dyn Method>>,
    sessions: SessionService,
    clock: Arc<dyn Clock>,
    settings: FlowSettings,
}

impl FlowService {
    /// A machine with these methods registered.
    pub fn new(
        store: Arc<dyn FlowStore>,
        methods: Vec<Arc<dyn Method>>,
        sessions: SessionService,
        clock: Arc<dyn Clock>,
        settings: FlowSettings,
    ) -> Self {
        Self {
            store,
            methods,
            sessions,
            clock,
            settings,
        }
    }

    /// Creates a native (api) flow. `session_token` is the token the client
    /// sent, if any: a valid one refuses the flow.
    pub async fn create_api(
        &self,
        kind: FlowKind,
        request_url: &str,
        session_token: Option<&str>,
    ) -> Result<Flow, FlowError> {
        if let Some(token) = session_token {
            match self.sessions.whoami(token).await {
                Ok(_) => return Err(FlowError::SessionAlreadyAvailable),
                Err(SessionError::Store(store)) => return Err(store.into()),
                Err(_) => {}
            }
        }
        let flow = self.new_flow(kind, request_url);
        self.store.create(&flow).await?;
        Ok(flow)
    }

    fn new_flow(&self, kind: FlowKind, request_url: &str) -> Flow {
        let now = self.clock.now();
        let lifespan = match kind {
            FlowKind::Login => self.settings.login_lifespan,
            FlowKind::Registration => self.settings.registration_lifespan,
        };
        let id = Uuid::new_v4();
        let mut ui = Ui {
            action: format!(
                "{}self-service/{}?flow={id}",
                self.settings.public_base_url,
                kind.as_str()
            ),
            method: "POST".into(),
            nodes: vec![
                Node::input("default", "csrf_token", "hidden")
                    .required()
                    .value(Value::String(String::new())),
            ],
            messages: Vec::new(),
        };
        for method in &self.methods {
            method.populate(kind, &mut ui);
        }
        Flow {
            id,
            kind,
            flow_type: "api".into(),
            state: "choose_method".into(),
            request_url: request_url.to_owned(),
            ui,
            issued_at: now,
            expires_at: now
                + chrono::Duration::from_std(lifespan)
                    .unwrap_or_else(|_| chrono::Duration::hours(1)),
            updated_at: now,
        }
    }

    /// Reads a flow; an expired one is refused with a replacement.
    pub async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Flow, FlowError> {
        let flow = self.store.get(kind, id).await?.ok_or(FlowError::NotFound)?;
        self.refuse_expired(&flow).await?;
        Ok(flow)
    }

    async fn refuse_expired(&self, flow: &Flow) -> Result<(), FlowError> {
        if flow.expires_at > self.clock.now() {
            return Ok(());
        }
        let new_flow = self.new_flow(flow.kind, &flow.request_url);
        self.store.create(&new_flow).await?;
        Err(FlowError::Expired {
            new_flow: Box::new(new_flow),
            expired_at: flow.expires_at,
        })
    }

    /// Submits a flow: the method named in the body checks it, then a session is issued.
    pub async fn submit(
        &self,
        kind: FlowKind,
        id: Uuid,
        body: &Value,
        device: Device,
    ) -> Result<Outcome, FlowError> {
        let mut flow = self.get(kind, id).await?;
        let method_id = body.get("method").and_then(Value::as_str).unwrap_or("");
        let method = self
            .methods
            .iter()
            .find(|m| m.id() == method_id)
            .ok_or(FlowError::UnknownMethod)?;
        let result = match kind {
            FlowKind::Login => method.login(&flow, body, &device).await,
            FlowKind::Registration => method.register(&flow, body).await,
        };
        let identity = match result {
            Ok(identity) => identity,
            Err(MethodError::Invalid(problems)) => {
                flow.ui.clear_messages();
                flow.ui.refill(body);
                for problem in problems {
                    flow.ui
                        .add_message(problem.field.as_deref(), problem.message);
                }
                flow.updated_at = self.clock.now();
                self.store.update(&flow).await?;
                return Err(FlowError::Invalid(Box::new(flow)));
            }
            Err(MethodError::Busy) => return Err(FlowError::Busy),
            Err(MethodError::Throttled { retry_after }) => {
                return Err(FlowError::Throttled { retry_after });
            }
            Err(MethodError::Identity(error)) => return Err(error.into()),
        };
        let (session, token) = self.sessions.issue(&identity, method.id(), device).await?;
        flow.state = "passed_challenge".into();
        flow.updated_at = self.clock.now();
        self.store.update(&flow).await?;
        Ok(Outcome {
            identity,
            session,
            token,
        })
    }
}
