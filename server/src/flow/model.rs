//! A self-service flow.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ui::Ui;
use crate::aal::Aal;
use crate::identity::Identity;

/// Which self-service flow this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowKind {
    /// Sign in.
    Login,
    /// Sign up.
    Registration,
    /// Change one's own password or profile.
    Settings,
    /// Regain access to an account through one of its addresses.
    Recovery,
    /// Prove that an address belongs to its holder.
    Verification,
}

impl FlowKind {
    /// The storage and path name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
            FlowKind::Settings => "settings",
            FlowKind::Recovery => "recovery",
            FlowKind::Verification => "verification",
        }
    }

    /// Parses a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "login" => Some(FlowKind::Login),
            "registration" => Some(FlowKind::Registration),
            "settings" => Some(FlowKind::Settings),
            "recovery" => Some(FlowKind::Recovery),
            "verification" => Some(FlowKind::Verification),
            _ => None,
        }
    }
}

/// Who drives a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    /// A native app: no cookies, a session token in the response.
    Api,
    /// A browser: cookies, anti-CSRF token, redirects.
    Browser,
}

impl FlowType {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Api => "api",
            FlowType::Browser => "browser",
        }
    }

    /// Parses a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "api" => Some(FlowType::Api),
            "browser" => Some(FlowType::Browser),
            _ => None,
        }
    }
}

/// One flow, as stored between its creation and its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Its id.
    pub id: Uuid,
    /// Login, registration or settings.
    pub kind: FlowKind,
    /// Native app or browser.
    pub flow_type: FlowType,
    /// Where the flow stands, e.g. `choose_method`.
    pub state: String,
    /// The URL that created the flow.
    pub request_url: String,
    /// Where the browser goes when the flow completes, if the client asked.
    pub return_to: Option<String>,
    /// Login only: re-authentication of an existing session.
    pub refresh: bool,
    /// The masked anti-CSRF token of browser flows (empty for native flows).
    pub csrf_token: String,
    /// Settings only: the identity whose settings these are.
    pub identity_id: Option<Uuid>,
    /// Settings only: that identity, read along with the flow (not stored).
    pub identity: Option<Identity>,
    /// The form to render.
    pub ui: Ui,
    /// When it was created.
    pub issued_at: DateTime<Utc>,
    /// When it can no longer be submitted.
    pub expires_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// What the server keeps about the flow and never sends: e.g. the
    /// address a recovery or verification message went to.
    pub internal: serde_json::Map<String, serde_json::Value>,
}

impl Flow {
    /// A text value of the internal context.
    pub fn internal_text(&self, key: &str) -> Option<&str> {
        self.internal.get(key).and_then(serde_json::Value::as_str)
    }

    /// The assurance level a login flow asks for (`aal2`: a second factor
    /// on top of the session the flow was made for), kept in the internal
    /// context; `aal1` for every other flow.
    pub fn requested_aal(&self) -> Aal {
        self.internal_text(REQUESTED_AAL)
            .and_then(Aal::parse)
            .unwrap_or_default()
    }

    /// Records the assurance level a login flow asks for.
    pub fn set_requested_aal(&mut self, aal: Aal) {
        if aal == Aal::Aal1 {
            self.internal.remove(REQUESTED_AAL);
        } else {
            self.internal
                .insert(REQUESTED_AAL.into(), aal.as_str().into());
        }
    }

    /// The identity schema a login or registration flow was started for
    /// (its `identity_schema` query parameter), kept in the internal
    /// context; `None`: the default schema.
    pub fn identity_schema(&self) -> Option<&str> {
        self.internal_text(IDENTITY_SCHEMA)
    }

    /// Records the identity schema the flow was started for.
    pub fn set_identity_schema(&mut self, schema_id: Option<&str>) {
        match schema_id {
            Some(id) => {
                self.internal.insert(IDENTITY_SCHEMA.into(), id.into());
            }
            None => {
                self.internal.remove(IDENTITY_SCHEMA);
            }
        }
    }
}

/// The internal context key of a login flow's requested assurance level.
const REQUESTED_AAL: &str = "requested_aal";
/// The internal context key of the identity schema a flow was started for.
const IDENTITY_SCHEMA: &str = "identity_schema";

/// An error shown to a browser on the error page, stored so the page can
/// fetch it (`/self-service/errors?id=`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorFlow {
    /// Its id.
    pub id: Uuid,
    /// The error, in the API's error shape.
    pub error: serde_json::Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}
