//! `IdentityServer`: the root resource, one running Bia server.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which is not a duplicate.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::core::v1::{LocalObjectReference, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, SecretKeyRef};
use crate::exposure::{Exposure, NetworkPolicySettings};
use crate::scheduling::Scheduling;

/// Desired state of one Bia identity server.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bia.dev",
    version = "v1alpha1",
    kind = "IdentityServer",
    namespaced,
    status = "IdentityServerStatus",
    shortname = "idsrv",
    category = "bia",
    doc = "A Bia identity server: Deployment, Services and config rendered from this resource and the schemas, providers and templates attached to it.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Server", type_ = "string", json_path = ".spec.publicBaseUrl"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityServerSpec {
    /// Container image of the server, e.g. `ghcr.io/example/bia:0.1.0`.
    pub image: String,
    /// Number of server pods; 1 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Database connection string (Kratos `dsn`), read from a Secret.
    pub dsn: SecretKeyRef,
    /// Cookie and cipher secrets.
    pub secrets: ServerSecrets,
    /// External URL of the public API (`serve.public.base_url`).
    pub public_base_url: String,
    /// External URL of the admin API; the in-cluster admin Service when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_base_url: Option<String>,
    /// Session settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSettings>,
    /// Mail delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<CourierSettings>,
    /// Schema id used for new identities (`identity.default_schema_id`); must name an attached IdentitySchema.
    pub default_schema_id: String,
    /// Compute resources of the server and migration containers; when unset they
    /// request 100m CPU and 128Mi memory and have a 512Mi memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Secrets for pulling `image` from a private registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Node selection, tolerations, affinity and spreading of the server pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,
    /// How the public API is reached from outside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    /// Who may reach the admin port; a NetworkPolicy closes it to other namespaces
    /// unless disabled here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicySettings>,
    /// What happens to the children when this resource is deleted; `Delete` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Namespaces, besides this one, whose resources may attach to this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selectors: Option<NamespaceSelectors>,
}

/// Cookie and cipher secrets. In each list the first entry signs or encrypts; the rest only verify, for rotation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerSecrets {
    /// Secrets for cookies (`secrets.cookie`); at least one.
    pub cookie: Vec<SecretKeyRef>,
    /// Secrets for encryption at rest (`secrets.cipher`), each exactly 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<CipherSecrets>,
}

/// A non-empty list of cipher secret references.
pub type CipherSecrets = Vec<SecretKeyRef>;

/// Session settings (`session.*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    /// How long a session lasts, as a Go duration such as `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifespan: Option<String>,
    /// How long before its end a session may be extended by the admin API
    /// (`session.earliest_possible_extend`), as a Go duration such as `1h`;
    /// the lifespan when absent, so any session may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_possible_extend: Option<String>,
    /// Session cookie settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieSettings>,
}

/// Session cookie settings (`session.cookie.*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CookieSettings {
    /// Cookie name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Cookie domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Cookie path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SameSite attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
    /// Whether the cookie outlives the browser session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
}

/// Cookie SameSite attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
}

/// Mail delivery settings (`courier.*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourierSettings {
    /// SMTP connection URI (`courier.smtp.connection_uri`), read from a Secret.
    pub smtp_connection_uri: SecretKeyRef,
    /// Sender address (`courier.smtp.from_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
}

/// What the operator does with a server's children when the server is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the Deployment, Services, PodDisruptionBudget and config Secret.
    #[default]
    Delete,
    /// Leave them running, detached from the deleted server.
    Orphan,
}

/// Per-kind namespace selectors; a resource in a selected namespace may name this server in its `serverRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelectors {
    /// Namespaces whose IdentitySchemas may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<LabelSelector>,
    /// Namespaces whose OIDCProviders may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_providers: Option<LabelSelector>,
    /// Namespaces whose CourierTemplates may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier_templates: Option<LabelSelector>,
    /// Namespaces whose Identities may declare identities in this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<LabelSelector>,
}

/// Observed state of a server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityServerStatus {
    /// The generation the operator last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `Progressing` and `Degraded`. `Reconciling`
    /// and `Stalled` follow kstatus (true means abnormal): `Reconciling` while a rollout
    /// is under way, `Stalled` when it cannot finish without help (missing Secret,
    /// crash-looping pods, exceeded progress deadline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// sha256 of the config that is rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// Server pods that pass their readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Schemas, providers and templates in the running config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<AttachedCounts>,
}

/// How many attached resources are in the running config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachedCounts {
    /// Accepted IdentitySchemas.
    pub schemas: i32,
    /// Accepted OIDCProviders.
    pub oidc_providers: i32,
    /// Accepted CourierTemplates.
    pub courier_templates: i32,
}

impl IdentityServer {
    /// The deletion policy in force.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy.unwrap_or_default()
    }
}
