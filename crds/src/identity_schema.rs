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
}
