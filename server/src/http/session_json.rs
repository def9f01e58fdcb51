//! Kratos's JSON shapes for sessions and for the results of native flows.

use serde::Serialize;
use uuid::Uuid;

use super::wire::{IdentityJson, View, identity_json};
use crate::session::Session;
use crate::time;

/// A session as the API sends it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
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
    pub authentication_methods: Vec<MethodJson>,
    /// When it was issued.
    pub issued_at: String,
    /// The identity (when read along).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityJson>,
    /// Devices it was used from (when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceJson>>,
}

/// One authentication step of a session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SessionAuthenticationMethod)]
pub struct MethodJson {
    /// The method, e.g. `password`.
    pub method: String,
    /// The assurance level it grants.
    pub aal: String,
    /// When it was completed.
    pub completed_at: String,
}

/// A device a session was used from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SessionDevice)]
pub struct DeviceJson {
    /// Its id.
    pub id: Uuid,
    /// The client address, when known.
    pub ip_address: Option<String>,
    /// The user agent, when sent.
    pub user_agent: Option<String>,
    /// A location, when known.
    pub location: Option<String>,
}

/// Which parts of a session a response shows.
#[derive(Debug, Clone, Copy)]
pub struct SessionView {
    /// Show devices.
    pub devices: bool,
    /// Show the identity as admins see it (admin metadata).
    pub admin: bool,
}

impl SessionView {
    /// The owner's view: devices, no admin metadata.
    pub const OWNER: Self = Self {
        devices: true,
        admin: false,
    };
    /// The admin view: devices, admin metadata.
    pub const ADMIN: Self = Self {
        devices: true,
        admin: true,
    };
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
            .map(|m| MethodJson {
                method: m.method.clone(),
                aal: m.aal.clone(),
                completed_at: time::format(m.completed_at),
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
                .map(|d| DeviceJson {
                    id: d.id,
                    ip_address: d.ip_address.clone(),
                    user_agent: d.user_agent.clone(),
                    location: d.location.clone(),
                })
                .collect()
        }),
    }
}
