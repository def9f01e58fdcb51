//! `Identity`: one identity declared in Git and kept equal to its spec in a server.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which is not a duplicate.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{Condition, SecretKeyRef, ServerRef};

/// An identity the operator creates through the server's admin API and keeps equal to
/// this spec: changes made to it through the admin API are reverted on the next pass.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bia.dev",
    version = "v1alpha1",
    kind = "Identity",
    plural = "identities",
    namespaced,
    status = "IdentityStatus",
    shortname = "idn",
    category = "bia",
    doc = "An identity declared for an IdentityServer and kept equal to this spec.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Server", type_ = "string", json_path = ".spec.serverRef.name"),
    printcolumn(name = "Schema", type_ = "string", json_path = ".spec.schemaId"),
    printcolumn(name = "Identity", type_ = "string", json_path = ".status.identityId"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySpec {
    /// The server the identity lives in; immutable.
    pub server_ref: ServerRef,
    /// The identity schema its traits follow (`schema_id`).
    pub schema_id: String,
    /// The traits, checked by the server against the schema.
    #[schemars(schema_with = "free_object")]
    pub traits: Value,
    /// `active` (the default) or `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<IdentityState>,
    /// `metadata_public`: readable by the identity itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_opt")]
    pub metadata_public: Option<Value>,
    /// `metadata_admin`: readable through the admin API only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_opt")]
    pub metadata_admin: Option<Value>,
    /// Credentials imported into the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<IdentityCredentials>,
    /// What to do when the server already holds an identity with one of this spec's
    /// identifiers that no other Identity declares; `Fail` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_policy: Option<ExistingPolicy>,
    /// What happens to the identity in the server when this resource is deleted;
    /// `Delete` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<IdentityDeletionPolicy>,
}

fn free_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn free_object_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Identity state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityState {
    /// The identity may sign in.
    #[default]
    Active,
    /// The identity may not sign in.
    Inactive,
}

impl IdentityState {
    /// The admin API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// Credentials of a declared identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCredentials {
    /// The password, read from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordCredential>,
}

/// A password read from a Secret key: the clear password, or with `hashed: true` a hash
/// in one of the formats the server imports (argon2, bcrypt, pbkdf2, scrypt, ...).
/// It is imported on creation and again whenever the Secret changes, never otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// The Secret key holding the password or its hash.
    pub secret_ref: SecretKeyRef,
    /// Whether the value is a hash (`hashed_password`) rather than a clear password.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hashed: bool,
}

/// What to do about an identity already in the server under one of the declared identifiers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExistingPolicy {
    /// Take it over: from then on it is kept equal to this spec (and deleted with it
    /// under `deletionPolicy: Delete`).
    Adopt,
    /// Leave it alone and report it; the identity is created once the other one is gone.
    Ignore,
    /// Refuse the resource (`Accepted=False`, reason `IdentityExists`).
    #[default]
    Fail,
}

/// What happens to the identity in the server when its resource is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IdentityDeletionPolicy {
    /// Delete the identity (and its sessions) from the server.
    #[default]
    Delete,
    /// Leave the identity in the server, no longer managed.
    Orphan,
}

/// Observed state of a declared identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityStatus {
    /// The generation the operator last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Id of the identity in the server that this resource manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// Opaque digest of the password Secret's identity and revision at the last import
    /// (never of the password itself); a different digest means the password is imported again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_revision: Option<String>,
    /// `Accepted`, `Ready`, `Reconciling` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
