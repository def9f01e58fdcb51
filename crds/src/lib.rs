//! Custom resource types reconciled by the Bia operator.
//!
//! Five namespaced kinds in the group `bia.dev`, version `v1alpha1`:
//! [`IdentityServer`] is the root that owns the running server;
//! [`IdentitySchema`], [`OIDCProvider`] and [`CourierTemplate`] attach to a
//! server through their `serverRef` and become part of its config; an
//! [`Identity`] names a server the same way and is kept in it through the admin API.
//!
//! The Rust types here are the single source of the CRD YAML: [`crds()`]
//! returns the finished definitions (list-map conditions, CEL rules, cleaned of
//! empty lists) and the `crdgen` binary writes them to disk.

pub mod common;
pub mod courier_template;
pub mod exposure;
pub mod generate;
pub mod identity;
pub mod identity_schema;
pub mod identity_server;
pub mod oidc_provider;
pub mod scheduling;

pub use common::{Condition, ConditionStatus, SecretKeyRef, ServerRef};
pub use courier_template::{
    CourierTemplate, CourierTemplateSpec, TemplateBody, TemplateChannel, TemplateType,
    TemplateVariant,
};
pub use exposure::{
    CertManagerIssuer, Exposure, GatewayRef, HttpRouteExposure, IngressExposure, IngressTls,
    IssuerKind, NetworkPolicySettings,
};
pub use generate::{CrdFile, crds, crds_yaml};
pub use identity::{
    ExistingPolicy, Identity, IdentityCredentials, IdentityDeletionPolicy, IdentitySpec,
    IdentityState, IdentityStatus, PasswordCredential,
};
pub use identity_schema::{
    DryRunStatus, FailedIdentity, IdentitySchema, IdentitySchemaSpec, IdentitySchemaStatus,
    MigrationPhase, SchemaMigrationStatus,
};
pub use identity_server::{
    CipherSecrets, CookieSettings, CourierSettings, DeletionPolicy, IdentityServer,
    IdentityServerSpec, IdentityServerStatus, NamespaceSelectors, SameSite, ServerSecrets,
    SessionSettings,
};
pub use oidc_provider::{OIDCProvider, OIDCProviderSpec, ProviderKind};
pub use scheduling::Scheduling;

/// API group of every Bia custom resource.
pub const GROUP: &str = "bia.dev";
/// API version of every Bia custom resource.
pub const VERSION: &str = "v1alpha1";
