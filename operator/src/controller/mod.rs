//! The controllers: [`server`] reconciles each IdentityServer (collect, validate,
//! render, apply, status); [`attached`] keeps schemas, providers and templates honest when
//! their server is missing and holds back deleting schemas that identities still use;
//! [`identity`] keeps each declared `Identity` equal to its spec through the admin API;
//! [`schema_migration`] moves identities to a schema that supersedes another.
//!
//! Invariants: one field manager ([`MANAGER`]) for every apply; status is written only when
//! it changed and carries no time that moves on every pass, so a pass that changes nothing
//! writes nothing and triggers nothing.

pub mod attached;
pub mod identity;
pub mod identity_sync;
pub mod schema_migration;
pub mod selector;
pub mod server;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bia_crds::IdentityServer;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;

use crate::metrics::Metrics;

pub use util::{Backoffs, error_backoff};

/// Field manager of every server-side apply and status patch.
pub const MANAGER: &str = "bia-operator";
/// Finalizer on IdentityServers (releases or orphans children).
pub const SERVER_FINALIZER: &str = "bia.dev/server";
/// Finalizer on IdentitySchemas (held while identities use the schema).
pub const SCHEMA_FINALIZER: &str = "bia.dev/schema-in-use";

/// Finalizer on Identities (deletes or orphans the identity in the server).
pub const IDENTITY_FINALIZER: &str = "bia.dev/identity";

/// The clock, passed in so that tests get fixed times.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Which servers read a given Secret: filled by reconcile, read by the Secret watch mapper.
#[derive(Clone, Debug, Default)]
pub struct SecretIndex(Arc<Mutex<BTreeMap<NamespacedName, BTreeSet<NamespacedName>>>>);

/// A (namespace, name) pair.
pub type NamespacedName = (String, String);

impl SecretIndex {
    /// Records the Secrets (namespace, name) a server reads, replacing what it read before.
    pub fn record(&self, server: &ObjectRef<IdentityServer>, secrets: &BTreeSet<(String, String)>) {
        let server = &(
            server.namespace.clone().unwrap_or_default(),
            server.name.clone(),
        );
        if let Ok(mut map) = self.0.lock() {
            for (key, servers) in map.iter_mut() {
                if !secrets.contains(key) {
                    servers.remove(server);
                }
            }
            for key in secrets {
                map.entry(key.clone()).or_default().insert(server.clone());
            }
            map.retain(|_, s| !s.is_empty());
        }
    }

    /// Servers that read the Secret.
    pub fn servers_reading(&self, namespace: &str, name: &str) -> Vec<ObjectRef<IdentityServer>> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&(namespace.to_owned(), name.to_owned())).cloned())
            .map(|s| {
                s.into_iter()
                    .map(|(ns, name)| ObjectRef::new(&name).within(&ns))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Shared state of the reconcilers.
#[derive(Clone)]
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Event recorder.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Clock for condition transition times.
    pub clock: Clock,
    /// Secret-to-server index.
    pub secrets: SecretIndex,
    /// Per-object error backoff.
    pub backoffs: Backoffs,
    /// Requeue interval of a settled server.
    pub resync: Duration,
    /// Whether the operator watches the whole cluster; namespace selectors on servers
    /// are honoured only then (a namespaced Role cannot list other namespaces).
    pub cluster_wide: bool,
    /// What the deployed server version supports.
    pub capabilities: crate::capabilities::ServerCapabilities,
    /// How fast schema migrations go.
    pub migration: schema_migration::Pacing,
}

impl Context {
    /// A context with the system clock.
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance,
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics: Arc::new(Metrics::default()),
            clock: Arc::new(Timestamp::now),
            secrets: SecretIndex::default(),
            backoffs: Backoffs::default(),
            resync: Duration::from_secs(300),
            cluster_wide: true,
            capabilities: crate::capabilities::ServerCapabilities::CURRENT,
            migration: schema_migration::Pacing::default(),
        }
    }

    /// The current time as condition timestamps carry it (whole seconds, RFC 3339).
    pub fn now(&self) -> String {
        let t = (self.clock)();
        Timestamp::from_second(t.as_second())
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
}

/// Reconciliation errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Rendering failed.
    #[error("render: {0}")]
    Render(#[from] crate::render::RenderError),
    /// Counting identities failed.
    #[error("identities: {0}")]
    Identities(#[from] crate::identities::IdentitiesError),
    /// The server's admin API failed.
    #[error("admin API: {0}")]
    Admin(#[from] crate::admin_api::AdminError),
    /// JSON (de)serialization failed.
    #[error("serialization: {0}")]
    Json(#[from] serde_json::Error),
    /// The object has no namespace or name.
    #[error("object without namespace or name")]
    Unnamed,
}
