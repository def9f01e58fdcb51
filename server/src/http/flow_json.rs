//! Kratos's JSON shapes for self-service flows.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::wire::{View, identity_json};
use crate::flow::ui::Ui;
use crate::flow::{Flow, FlowKind};
use crate::time;

/// A self-service flow as the API sends it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Flow)]
pub struct FlowJson {
    /// Id.
    pub id: Uuid,
    /// `api` or `browser`.
    #[serde(rename = "type")]
    pub flow_type: &'static str,
    /// When it expires.
    pub expires_at: String,
    /// When it was created.
    pub issued_at: String,
    /// The URL that created it.
    pub request_url: String,
    /// Where the browser goes afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// The form.
    #[schema(value_type = super::openapi::components::UiContainer)]
    pub ui: Ui,
    /// Where the flow stands.
    pub state: String,
    /// Organization (always null for now).
    pub organization_id: Option<Uuid>,
    /// Settings only: the identity being changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::wire::IdentityJson>)]
    pub identity: Option<Value>,
    /// Login only: whether this is a re-authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// Login only: the requested assurance level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_aal: Option<String>,
    /// Login only: creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Login only: last change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Login and registration: the identity schema the flow was started
    /// for, when it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_schema: Option<String>,
    /// Recovery and verification: the method that sent the code or link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    /// What the client should do next: after a browser flow answered as
    /// JSON, where to send the browser.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub continue_with: Option<Vec<Value>>,
    /// Login and registration API flows created with
    /// `return_session_token_exchange_code=true`: the init code of the
    /// session token exchange (shown only when the flow is created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token_exchange_code: Option<String>,
}

/// Renders a flow.
pub fn flow_json(flow: &Flow, base_url: &str) -> FlowJson {
    let login = flow.kind == FlowKind::Login;
    let settings = flow.kind == FlowKind::Settings;
    FlowJson {
        id: flow.id,
        flow_type: flow.flow_type.as_str(),
        expires_at: time::format(flow.expires_at),
        issued_at: time::format(flow.issued_at),
        request_url: flow.request_url.clone(),
        return_to: flow.return_to.clone(),
        ui: flow.ui.clone(),
        state: flow.state.clone(),
        organization_id: None,
        identity: flow
            .identity
            .as_ref()
            .filter(|_| settings)
            .and_then(|i| serde_json::to_value(identity_json(i, base_url, &View::default())).ok()),
        refresh: login.then_some(flow.refresh),
        requested_aal: login.then(|| flow.requested_aal().as_str().to_owned()),
        created_at: login.then(|| time::format(flow.issued_at)),
        updated_at: login.then(|| time::format(flow.updated_at)),
        identity_schema: flow.identity_schema().map(str::to_owned),
        session_token_exchange_code: None,
        active: flow.internal_text("active").map(str::to_owned),
        continue_with: None,
    }
}

/// The `continue_with` item that tells a browser application where to send
/// the browser, as a page-driven flow would have been redirected.
pub fn redirect_browser_to(url: &str) -> Value {
    serde_json::json!({"action": "redirect_browser_to", "redirect_browser_to": url})
}

/// The body of a successful login or registration: the session when one was
/// issued, its token only for native flows, and what the client does next.
pub fn outcome_json(
    identity: Option<Value>,
    session: Option<Value>,
    token: Option<&str>,
    continue_with: Vec<Value>,
) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(identity) = identity {
        body.insert("identity".into(), identity);
    }
    if let Some(session) = session {
        body.insert("session".into(), session);
    }
    if let Some(token) = token {
        body.insert("session_token".into(), Value::String(token.to_owned()));
    }
    body.insert("continue_with".into(), Value::Array(continue_with));
    Value::Object(body)
}
