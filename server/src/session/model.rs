//! The session aggregate.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::identity::Identity;

/// One completed authentication step of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMethod {
    /// The method, e.g. `password`.
    pub method: String,
    /// The assurance level it grants, e.g. `aal1`.
    pub aal: String,
    /// When it was completed.
    pub completed_at: DateTime<Utc>,
}

/// A device a session was used from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id.
    pub id: Uuid,
    /// The client address, when known.
    pub ip_address: Option<String>,
    /// The client's `User-Agent`, when sent.
    pub user_agent: Option<String>,
    /// A location derived from the request, when known.
    pub location: Option<String>,
}

/// An authenticated session of an identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its id.
    pub id: Uuid,
    /// The identity it belongs to.
    pub identity_id: Uuid,
    /// SHA-256 digest of the token, hex-encoded.
    pub token_hash: String,
    /// False once revoked.
    pub active: bool,
    /// Authenticator assurance level reached, e.g. `aal1`.
    pub aal: String,
    /// The steps that authenticated it.
    pub methods: Vec<AuthMethod>,
    /// Devices it was used from.
    pub devices: Vec<Device>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When the identity last authenticated.
    pub authenticated_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The identity, when it was read along.
    pub identity: Option<Identity>,
}

impl Session {
    /// Active and not expired at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.active && self.expires_at > now
    }
}
