//! `IdentitySchema`: one immutable identity JSON Schema attached to a server.

// Several `printcolumn(...)` entries repeat `type_ = "string"`, which is not a duplicate.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, ServerRef};

/// An identity schema. Its id and body never change: a new version is a new IdentitySchema,
/// and switching the default is a change on the IdentityServer.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bia.dev",
    version = "v1alpha1",
    kind = "IdentitySchema",
    namespaced,
    status = "IdentitySchemaStatus",
    shortname = "idschema",
    category = "bia",
    doc = "An immutable identity JSON Schema served by an IdentityServer.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Accepted\")].status"
    ),
    printcolumn(name = "Server", type_ = "string", json_path = ".spec.serverRef.name"),
    printcolumn(name = "Schema", type_ = "string", json_path = ".spec.schemaId"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySchemaSpec {
    /// The schema id identities carry in `schema_id`; immutable.
    pub schema_id: String,
    /// The JSON Schema as JSON text; immutable.
    pub schema: String,
    /// The server this schema belongs to; immutable.
    pub server_ref: ServerRef,
    /// The `schemaId` of the earlier version, on the same server, that this schema
    /// replaces: once both are served, the operator moves that schema's identities to this
    /// one in batches (`status.migration`); immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Jsonnet run on each identity moved from `supersedes`: `function(ctx)` giving
    /// `{traits, metadata_public?, metadata_admin?}` from `ctx.identity` (the admin API's
    /// JSON). Without it the traits are kept as they are. Changing it starts a new pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}

/// Observed state of a schema.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySchemaStatus {
    /// The generation the operator last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted` tells whether the schema is served, and why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// While deletion is held back: how many identities still use this schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities_using: Option<i64>,
    /// Progress of moving the identities of `spec.supersedes` to this schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<SchemaMigrationStatus>,
}

/// Where a schema migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MigrationPhase {
    /// Every identity is transformed and validated without writing; failures are counted.
    DryRun,
    /// Identities are moved batch by batch.
    Migrating,
    /// No identity is left on the superseded schema.
    Completed,
    /// The migration ended with identities left on the superseded schema (listed), or the
    /// server refused it (see `message`).
    Failed,
}

/// An identity that stays on the superseded schema, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedIdentity {
    /// The identity's id in the server.
    pub id: String,
    /// Why the transform or the new schema refused it.
    pub reason: String,
}

/// What the dry run found before anything moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DryRunStatus {
    /// Identities that would move.
    pub would_migrate: i64,
    /// Identities that would stay on the superseded schema.
    pub would_fail: i64,
    /// Up to ten of them, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<FailedIdentity>,
}

/// Progress of a schema migration; the cursor makes it resumable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaMigrationStatus {
    /// Where it stands.
    pub phase: MigrationPhase,
    /// The generation of this IdentitySchema the migration runs for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Identities moved so far.
    pub migrated: i64,
    /// Identities that failed in the current pass.
    pub failed: i64,
    /// Identities on the superseded schema not yet examined in the current pass.
    pub remaining: i64,
    /// The last identity examined: the next batch starts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Identities changed concurrently in the current pass; another pass takes them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: i64,
    /// The dry run's findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRunStatus>,
    /// Identities that stay on the superseded schema (the first fifty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_identities: Vec<FailedIdentity>,
    /// The server's reason when it refused the migration outright (phase `Failed`, nothing
    /// further moves until the spec changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_refusal: Option<String>,
    /// What happened last, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}
