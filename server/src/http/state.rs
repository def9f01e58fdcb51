//! What every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::browser::BrowserUrls;
use super::cookies::CookieCodec;
use super::proxies::TrustedProxies;
use crate::flow::FlowService;
use crate::identity::IdentityService;
use crate::schema::SchemaHandle;
use crate::session::SessionService;
use crate::store::Database;

/// Shared handler state, cheap to clone (handlers receive a clone per
/// request): a reference to [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Domain services and the few settings the edge needs.
pub struct Shared {
    /// Identity operations.
    pub identities: IdentityService,
    /// Schema migrations of identities.
    pub migrations: crate::identity::migration::SchemaMigrator,
    /// Session operations.
    pub sessions: SessionService,
    /// Session token exchanges of native apps' browser sign-ins.
    pub exchanges: crate::session::TokenExchanges,
    /// The self-service flow machine.
    pub flows: FlowService,
    /// The courier's message log (admin listing).
    pub courier: Arc<dyn crate::store::CourierStore>,
    /// The live identity schemas.
    pub schemas: SchemaHandle,
    /// The database, for readiness checks.
    pub db: Database,
    /// Seals and opens the session and anti-CSRF cookies.
    pub cookies: CookieCodec,
    /// Opens what `secrets.cipher` sealed (provider tokens for the admin API).
    pub cipher: Arc<crate::cipher::Cipher>,
    /// The pages browsers are sent to.
    pub browser: BrowserUrls,
    /// Proxies whose forwarded-for headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// The public base URL, ending in `/`.
    pub public_base_url: String,
    /// The admin base URL, ending in `/`.
    pub admin_base_url: String,
    /// Set once the database answered and is migrated.
    pub ready: Arc<AtomicBool>,
}

impl AppState {
    /// Whether the server has seen its database ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
