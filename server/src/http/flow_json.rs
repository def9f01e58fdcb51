//! Kratos's JSON shapes for login and registration flows.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::flow::ui::Ui;
use crate::flow::{Flow, FlowKind};
use crate::time;

/// A login or registration flow as the API sends it.
#[derive(Debug, Clone, Serialize)]
pub struct FlowJson {
    /// Id.
    pub id: Uuid,
    /// `api` or `browser`.
    #[serde(rename = "type")]
    pub flow_type: String,
    /// When it expires.
    pub expires_at: String,
    /// When it was created.
    pub issued_at: String,
    /// The URL that created it.
    pub request_url: String,
    /// The form.
    pub ui: Ui,
    /// Where the flow stands.
    pub state: String,
    /// Organization (always null for now).
    pub organization_id: Option<Uuid>,
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
}

/// Renders a flow.
pub fn flow_json(flow: &Flow) -> FlowJson {
    let login = flow.kind == FlowKind::Login;
    FlowJson {
        id: flow.id,
        flow_type: flow.flow_type.clone(),
        expires_at: time::format(flow.expires_at),
        issued_at: time::format(flow.issued_at),
        request_url: flow.request_url.clone(),
        ui: flow.ui.clone(),
        state: flow.state.clone(),
        organization_id: None,
        refresh: login.then_some(false),
        requested_aal: login.then(|| "aal1".to_owned()),
        created_at: login.then(|| time::format(flow.issued_at)),
        updated_at: login.then(|| time::format(flow.updated_at)),
    }
}

/// The body of a successful native submission.
pub fn outcome_json(identity: Option<Value>, session: Value, token: &str) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(identity) = identity {
        body.insert("identity".into(), identity);
    }
    body.insert("session".into(), session);
    body.insert("session_token".into(), Value::String(token.to_owned()));
    body.insert("continue_with".into(), Value::Array(Vec::new()));
    Value::Object(body)
}
