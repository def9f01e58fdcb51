//! Rendering: a pure function from a server, its accepted attachments and the Secret
//! values they reference to the Kratos-format config and the child objects. The config
//! is built from the server's own types (`bia_config::Config`), never from string keys.
//!
//! Invariants: no I/O, no clock, no randomness; the same input always gives the same
//! bytes (attachments are sorted by id, maps keep insertion order). Secret values only
//! ever land in the config Secret, never in a ConfigMap, a label or an annotation.

mod config;
pub mod exposure;
mod objects;
pub mod pod;

use std::collections::BTreeMap;

use bia_crds::{CourierTemplate, IdentitySchema, IdentityServer, OIDCProvider, SecretKeyRef};

use crate::capabilities::ServerCapabilities;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::DynamicObject;
use sha2::{Digest, Sha256};

pub use config::{HOT_RELOADED_KEYS, html_body, provider_entry, render_config, restart_part};
pub use objects::{ChildNames, SERVER_LABEL, child_labels, names, selector_labels};

/// Public API port (`serve.public.port`).
pub const PUBLIC_PORT: i32 = 4433;
/// Admin API port (`serve.admin.port`).
pub const ADMIN_PORT: i32 = 4434;
/// Directory the config Secret is mounted at.
pub const CONFIG_DIR: &str = "/etc/bia";
/// Key of the config file in the config Secret.
pub const CONFIG_KEY: &str = "kratos.yml";
/// Key of the DSN in the config Secret (read by `migrate sql -e`).
pub const DSN_KEY: &str = "dsn";
/// Pod-template annotation carrying the hash of what needs a restart.
pub const HASH_ANNOTATION: &str = "bia.dev/config-hash";

/// Secret values by namespace, Secret name and key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<(String, String, String), String>);

impl SecretValues {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value.
    pub fn insert(&mut self, namespace: &str, name: &str, key: &str, value: impl Into<String>) {
        self.0.insert(
            (namespace.to_owned(), name.to_owned(), key.to_owned()),
            value.into(),
        );
    }

    /// Adds every UTF-8 key of a Secret (`data` and `stringData`).
    pub fn insert_secret(&mut self, secret: &Secret) {
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        for (k, v) in secret.data.iter().flatten() {
            if let Ok(text) = String::from_utf8(v.0.clone()) {
                self.insert(&ns, &name, k, text);
            }
        }
        for (k, v) in secret.string_data.iter().flatten() {
            self.insert(&ns, &name, k, v.clone());
        }
    }

    /// The value a reference points to, in the given namespace.
    pub fn get(&self, namespace: &str, r: &SecretKeyRef) -> Option<&str> {
        self.0
            .get(&(namespace.to_owned(), r.name.clone(), r.key.clone()))
            .map(String::as_str)
    }

    /// Whether the namespace has a Secret of this name at all.
    pub fn has_secret(&self, namespace: &str, name: &str) -> bool {
        self.0.keys().any(|(ns, n, _)| ns == namespace && n == name)
    }
}

/// Everything [`render`] reads.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The server.
    pub server: &'a IdentityServer,
    /// Accepted schemas.
    pub schemas: &'a [IdentitySchema],
    /// Accepted providers.
    pub providers: &'a [OIDCProvider],
    /// Accepted templates.
    pub templates: &'a [CourierTemplate],
    /// Values of every referenced Secret key.
    pub secrets: &'a SecretValues,
    /// What the server supports: providers, templates and `spec.courier` are rendered
    /// only when it acts on them.
    pub capabilities: ServerCapabilities,
    /// `spec.selector.matchLabels` of the server's Deployment when it exists already.
    /// A Deployment's selector is immutable, so one created with other labels (before
    /// the operator moved to [`SERVER_LABEL`]) keeps its selector: the pods keep those
    /// labels too, and the Services, PodDisruptionBudget and NetworkPolicy select them.
    /// `None` for a new Deployment.
    pub existing_selector: Option<&'a BTreeMap<String, String>>,
}

/// What [`render`] produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// The config file (`kratos.yml`).
    pub config: String,
    /// sha256 of the whole config, for status.
    pub config_hash: String,
    /// sha256 of the parts that need a restart (everything but [`HOT_RELOADED_KEYS`], which
    /// the server applies from the changed file), put on the pod template.
    pub restart_hash: String,
    /// The config Secret.
    pub secret: Secret,
    /// The server Deployment.
    pub deployment: Deployment,
    /// The public API Service.
    pub public_service: Service,
    /// The admin API Service.
    pub admin_service: Service,
    /// The PodDisruptionBudget.
    pub pdb: PodDisruptionBudget,
    /// The NetworkPolicy of the server pods (`None` when the server turns it off).
    pub network_policy: Option<NetworkPolicy>,
    /// The Ingress of the public API (`spec.exposure.ingress`).
    pub ingress: Option<Ingress>,
    /// The `HTTPRoute` of the public API (`spec.exposure.httpRoute`).
    pub http_route: Option<DynamicObject>,
}

/// Why a server cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A Secret key the server names is missing.
    #[error("Secret {name} has no key {key} (referenced by {field})")]
    MissingSecret {
        /// Field that holds the reference.
        field: String,
        /// Secret name.
        name: String,
        /// Key.
        key: String,
    },
    /// The resource has no namespace or name.
    #[error("the IdentityServer has no namespace or name")]
    Unnamed,
    /// A field's value is not what the server accepts.
    #[error("{field}: {reason}")]
    Invalid {
        /// The resource field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Serialization failed.
    #[error("cannot serialize the config: {0}")]
    Serialize(String),
}

/// Renders the config and every child object.
pub fn render(inputs: Inputs<'_>) -> Result<Rendered, RenderError> {
    let typed = config::render_config(inputs)?;
    let config = typed.to_yaml().map_err(RenderError::Serialize)?;
    let tree = match serde_json::to_value(&typed) {
        Ok(serde_json::Value::Object(tree)) => tree,
        Ok(_) => serde_json::Map::new(),
        Err(e) => return Err(RenderError::Serialize(e.to_string())),
    };
    let restart = serde_json::to_vec(&config::restart_part(&tree))
        .map_err(|e| RenderError::Serialize(e.to_string()))?;
    let config_hash = sha256_hex(config.as_bytes());
    let restart_hash = sha256_hex(&restart);
    let dsn = typed.dsn.clone().unwrap_or_default();
    let objects = objects::render_objects(
        inputs.server,
        &config,
        &dsn,
        &restart_hash,
        inputs.existing_selector,
    )?;
    Ok(Rendered {
        config,
        config_hash,
        restart_hash,
        secret: objects.secret,
        deployment: objects.deployment,
        public_service: objects.public_service,
        admin_service: objects.admin_service,
        pdb: objects.pdb,
        network_policy: objects.network_policy,
        ingress: objects.ingress,
        http_route: objects.http_route,
    })
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
