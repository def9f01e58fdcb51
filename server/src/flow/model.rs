//! A self-service flow.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ui::Ui;

/// Which self-service flow this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// Sign in.
    Login,
    /// Sign up.
    Registration,
}

impl FlowKind {
    /// The storage and path name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
        }
    }

    /// Parses a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "login" => Some(FlowKind::Login),
            "registration" => Some(FlowKind::Registration),
            _ => None,
        }
    }
}

/// One flow, as stored between its creation and its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Its id.
    pub id: Uuid,
    /// Login or registration.
    pub kind: FlowKind,
    /// `api` (native apps) or `browser`.
    pub flow_type: String,
    /// Where the flow stands, e.g. `choose_method`.
    pub state: String,
    /// The URL that created the flow.
    pub request_url: String,
    /// The form to render.
    pub ui: Ui,
    /// When it was created.
    pub issued_at: DateTime<Utc>,
    /// When it can no longer be submitted.
    pub expires_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}
