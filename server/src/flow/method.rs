//! The seam between the flow machine and authentication methods.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::model::{Flow, FlowKind};
use super::ui::{Message, Ui};
use crate::identity::{Identity, IdentityError};
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

/// Why a method refused a submission.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    /// The submission is invalid; the flow is shown again with these messages.
    #[error("the submission is invalid")]
    Invalid(Vec<Problem>),
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
    /// Something else failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// An authentication method that takes part in self-service flows. Every
/// operation has a default that declines, so a method implements only the
/// flows it takes part in.
#[async_trait]
pub trait Method: Send + Sync {
    /// Its id, the `method` field of submissions, e.g. `password`.
    fn id(&self) -> &'static str;
    /// Adds the method's nodes to a new login or registration flow's form.
    fn populate(&self, _kind: FlowKind, _ui: &mut Ui) {}
    /// Adds the method's nodes to a settings form for this identity.
    fn populate_settings(&self, _identity: &Identity, _ui: &mut Ui) {}
    /// Checks a login submission and returns the identity it proves.
    async fn login(
        &self,
        _flow: &Flow,
        _body: &Value,
        _device: &Device,
    ) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
    /// Checks a registration submission and creates the identity.
    async fn register(&self, _flow: &Flow, _body: &Value) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
    /// Applies a settings submission to the identity and returns it updated.
    async fn update_settings(
        &self,
        _flow: &Flow,
        _identity: &Identity,
        _body: &Value,
    ) -> Result<Identity, MethodError> {
        Err(MethodError::Unsupported)
    }
}
