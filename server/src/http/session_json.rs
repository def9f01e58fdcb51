//! Kratos's JSON shapes for sessions and for the results of native flows.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::wire::{IdentityJson, View, identity_json};
use crate::session::Session;
use crate::time;

/// A session as the API sends it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionJson {
    /// Id.
    pub id: Uuid,
    /// Whether it is active.
    pub active: bool,
    /// When it expires.
    pub expires_at: String,
    /// When the identity authenticated.
    pub authenticated_at: String,
    /// The assurance level reached.
    pub authenticator_assurance_level: String,
    /// The steps that authenticated it.
    pub authentication_methods: Vec<Value>,
    /// When it was issued.
    pub issued_at: String,
    /// The identity (when read along).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityJson>,
    /// Devices it was used from (when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Value>>,
}

/// Which parts of a session a response shows.
#[derive(Debug, Clone, Copy)]
pub struct SessionView {
    /// Show devices.
    pub devices: bool,
    /// Show the identity as admins see it (admin metadata).
    pub admin: bool,
}

/// Renders a session.
pub fn session_json(session: &Session, public_base_url: &str, view: SessionView) -> SessionJson {
    let identity_view = View {
        admin: view.admin,
        ..View::default()
    };
    SessionJson {
        id: session.id,
        active: session.active,
        expires_at: time::format(session.expires_at),
        authenticated_at: time::format(session.authenticated_at),
        authenticator_assurance_level: session.aal.clone(),
        authentication_methods: session
            .methods
            .iter()
            .map(|m| {
                serde_json::json!({
                    "method": m.method,
                    "aal": m.aal,
                    "completed_at": time::format(m.completed_at),
                })
            })
            .collect(),
        issued_at: time::format(session.issued_at),
        identity: session
            .identity
            .as_ref()
            .map(|i| identity_json(i, public_base_url, &identity_view)),
        devices: view.devices.then(|| {
            session
                .devices
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.id,
                        "ip_address": d.ip_address,
                        "user_agent": d.user_agent,
                        "location": d.location,
                    })
                })
                .collect()
        }),
    }
}
