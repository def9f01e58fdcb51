//! The seam between the flow machine and authentication methods.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::hooks::HookStop;
use super::model::Flow;
use super::ui::{Message, Ui};
use crate::identity::{Identity, IdentityError};
use crate::schema::TraitViolation;
use crate::session::Device;

/// A problem with a submission, shown on a field or on the whole form.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The field name, e.g. `password`; the whole form when absent.
    pub field: Option<String>,
    /// What to show.
    pub message: Message,
}

impl Problem {
    /// A problem with one field.
    pub fn field(field: &str, message: Message) -> Self {
        Self {
            field: Some(field.to_owned()),
            message,
        }
    }

    /// A problem with the whole form.
    pub fn form(message: Message) -> Self {
        Self {
            field: None,
            message,
        }
    }
}

/// A submission refused with a generic error: the HTTP status, Kratos's
/// reason text and what exactly was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({cause})")]
pub struct Refusal {
    /// The HTTP status (a 4xx).
    pub status: u16,
    /// The reason, as Kratos words it.
    pub reason: String,
    /// What exactly was wrong (never a secret).
    pub cause: String,
}

/// Why a method refused a submission.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    /// The submission is invalid; the flow is shown again with these messages.
    #[error("the submission is invalid")]
    Invalid(Vec<Problem>),
    /// The submission moved the flow on to another step of the method (a
    /// code was sent and the form now asks for it): the flow, as the method
    /// left it (state, form, internal context), is stored and shown again,
    /// answered as a refused submission is (400 with the flow for JSON
    /// clients, the form again for browsers), as Kratos does.
    #[error("the flow moved on to another step")]
    NextStep(Box<Flow>),
    /// The browser must go elsewhere to go on (a sign-in at a provider):
    /// the flow, as the method left it, is stored and the client is sent to
    /// `to`.
    #[error("the browser must go elsewhere")]
    Redirect {
        /// The flow to store.
        flow: Box<Flow>,
        /// Where the browser goes.
        to: String,
    },
    /// The person must sign in to an account that exists already before
    /// the submission can finish (a provider account whose address another
    /// identity owns): the machine stores the `used` flow, makes a login
    /// flow for that account and answers it as a refused submission is.
    #[error("the person must sign in to an existing account first")]
    LoginFirst(Box<LoginFirst>),
    /// The method takes no part in this kind of flow.
    #[error("the method does not support this flow")]
    Unsupported,
    /// The password hasher is saturated.
    #[error("busy")]
    Busy,
    /// Too many attempts for the identifier or from the client address.
    #[error("too many attempts; retry after {retry_after:?}")]
    Throttled {
        /// How long until an attempt would be accepted.
        retry_after: Duration,
    },
    /// A hook could not be carried out.
    #[error("hook failed: {0}")]
    HookFailed(String),
    /// The submission is refused outright, answered with a generic error
    /// rather than the flow (an ID token that cannot be verified).
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Something else failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl MethodError {
    /// How a refused identity write is answered: invalid traits and taken
    /// identifiers become messages on the form, the rest passes through.
    pub fn refused_write(error: IdentityError) -> Self {
        match error {
            IdentityError::InvalidTraits(violations) => {
                MethodError::Invalid(trait_problems(&violations))
            }
            IdentityError::Conflict => {
                MethodError::Invalid(vec![Problem::form(Message::duplicate_identifier())])
            }
            IdentityError::Busy => MethodError::Busy,
            other => other.into(),
        }
    }
}

impl From<crate::throttle::Throttled> for MethodError {
    fn from(throttled: crate::throttle::Throttled) -> Self {
        MethodError::Throttled {
            retry_after: throttled.retry_after,
        }
    }
}

impl From<HookStop> for MethodError {
    fn from(stop: HookStop) -> Self {
        match stop {
            HookStop::Refused(problems) => MethodError::Invalid(problems),
            HookStop::Failed(reason) => MethodError::HookFailed(reason),
        }
    }
}

/// Trait validation failures as problems on their form fields.
fn trait_problems(violations: &[TraitViolation]) -> Vec<Problem> {
    violations
        .iter()
        .map(|v| {
            let field = v.path.trim_start_matches('/').replace('/', ".");
            let missing = v
                .message
                .strip_suffix(" is a required property")
                .map(|name| name.trim_matches('"').to_owned());
            match missing {
                Some(name) => {
                    let field = if field.is_empty() {
                        name.clone()
                    } else {
                        format!("{field}.{name}")
                    };
                    Problem::field(&field, Message::missing(&name))
                }
                None => Problem::field(
                    &field,
                    Message::error(4000001, v.message.clone(), json!({"reason": v.message})),
                ),
            }
        })
        .collect()
}

/// What runs on an identity after its method built it (a registration or a
/// settings change) and before the method stores it: the after hooks that
/// may change or refuse it (web hooks that parse their answer), handed in by
/// the flow machine. They see the identity as it will be stored, id included.
#[async_trait]
pub trait PrePersist: Send + Sync {
    /// The identity to store, as the hooks left it, or why the flow stops.
    /// Nothing is stored either way.
    async fn run(&self, identity: Identity) -> Result<Identity, MethodError>;
}

/// What a method asks of the machine when a submission must go on in a
/// login flow for an existing account ([`MethodError::LoginFirst`]).
#[derive(Debug)]
pub struct LoginFirst {
    /// The flow that was submitted, as the method left it (its one-time
    /// values used up); it is stored.
    pub used: Flow,
    /// The account to sign in to.
    pub identity: Identity,
    /// The identifier the login form is filled in with.
    pub identifier: String,
    /// The message the login flow shows.
    pub message: Message,
    /// What the method needs once the person signed in, kept in the login
    /// flow's internal context under the method's keys.
    pub internal: serde_json::Map<String, Value>,
}

/// A login submission to a method.
pub struct LoginSubmission<'a> {
    /// The login flow (its requested level, the account a step-up is for).
    pub flow: &'a Flow,
    /// The decoded form or JSON body.
    pub body: &'a Value,
    /// The client, for throttling by address.
    pub device: &'a Device,
}

/// A registration submission to a method.
pub struct RegistrationSubmission<'a> {
    /// The registration flow.
    pub flow: &'a Flow,
    /// The decoded form or JSON body.
    pub body: &'a Value,
    /// The hooks the new identity passes through before it is stored.
    pub pre_persist: &'a dyn PrePersist,
}

/// A settings submission to a method.
pub struct SettingsSubmission<'a> {
    /// The settings flow.
    pub flow: &'a Flow,
    /// The signed-in identity, as stored.
    pub identity: &'a Identity,
    /// The decoded form or JSON body.
    pub body: &'a Value,
    /// The hooks the changed identity passes through before it is stored.
    pub pre_persist: &'a dyn PrePersist,
}

/// An authentication method that takes part in self-service flows. Every
/// operation has a default that declines, so a method implements only the
/// flows it takes part in.
#[async_trait]
pub trait Method: Send + Sync {
    /// Its id, the `method` field of submissions, e.g. `password`.
    fn id(&self) -> &'static str;
    /// Adds the method's nodes to a new login or registration flow's form
    /// (trait fields from the flow's identity schema).
    fn populate(&self, _flow: &Flow, _ui: &mut Ui) {}
    /// Profile-first registration, first step: the method's nodes beside
    /// the trait fields (ways to sign up that collect no credential here,
    /// such as provider buttons).
    fn populate_profile_step(&self, _flow: &Flow, _ui: &mut Ui) {}
    /// Identifier-first login, first step: the method's nodes beside the
    /// identifier field (ways to sign in that need no identifier, such as
    /// provider buttons).
    fn populate_identification(&self, _ui: &mut Ui) {}
    /// Identifier-first login, second step: the method's nodes for the
    /// account the identifier names (`None`: no such account, asked only when
    /// account enumeration is mitigated, so the answer looks the same).
    fn populate_identified(&self, _identity: Option<&Identity>, _ui: &mut Ui) {}
    /// Adds the method's nodes to a settings form for this identity.
    fn populate_settings(&self, _identity: &Identity, _ui: &mut Ui) {}
    /// Adds the method's nodes to the settings form of this flow (methods
    /// whose form depends on the flow, e.g. a TOTP enrolment, override it;
    /// by default [`Method::populate_settings`]).
    fn populate_settings_flow(&self, _flow: &Flow, identity: &Identity, ui: &mut Ui) {
        self.populate_settings(identity, ui);
    }
    /// Adds nodes that carry a one-time challenge (WebAuthn) to the form of
    /// `flow` and keeps what checking the answer needs in `internal`, the
    /// flow's internal context, which is stored with the flow and never
    /// sent. Called each time the form is built (a new challenge each time),
    /// after the method's other nodes; the default adds nothing.
    fn populate_challenge(
        &self,
        _flow: &Flow,
        _ui: &mut Ui,
        _internal: &mut serde_json::Map<String, Value>,
    ) {
    }
    /// Whether a submission without a `method` field is this method's (a
    /// TOTP unlink button sends only `totp_unlink`, as in Kratos).
    fn claims(&self, _body: &Value) -> bool {
        false
    }
    /// Whether the method can step a session up to `aal2`: by default, when
    /// its credential type is a second factor (TOTP, lookup codes); the code
    /// method says so itself (when `mfa_enabled`).
    fn is_second_factor(&self) -> bool {
        crate::aal::SECOND_FACTORS
            .iter()
            .any(|kind| kind.as_str() == self.id())
    }
    /// Second factors: adds the method's nodes to a login flow that asks for
    /// `aal2`, when the identity has set the method up.
    fn populate_second_factor(&self, _identity: &Identity, _ui: &mut Ui) {}
    /// Checks a login submission and returns the identity it proves.
    async fn login(&self, _login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
    /// Finishes, once a login flow's submission proved `identity`, what the
    /// method started before the flow was made (a provider account waiting
    /// to be linked to the account that signs in); the identity as it is
    /// now. Every method is asked; by default nothing is done.
    async fn after_login(&self, _flow: &Flow, identity: Identity) -> Result<Identity, MethodError> {
        Ok(identity)
    }
    /// Checks a registration submission, builds the new identity, passes it
    /// through its `pre_persist` hooks and stores what they return.
    async fn register(&self, _sub: &RegistrationSubmission<'_>) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
    /// Checks a settings submission, builds the changed identity, passes it
    /// through its `pre_persist` hooks and stores what they return.
    async fn update_settings(
        &self,
        _sub: &SettingsSubmission<'_>,
    ) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
}
