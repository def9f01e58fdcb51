//! `/schemas`: the configured identity schemas, on both listeners.

use utoipa::OpenApi;

use super::components::{ErrorEnvelope, IdentitySchemaContainer, Paging};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(list_identity_schemas, get_identity_schema))]
pub struct Api;

#[utoipa::path(
    get, path = "/schemas", operation_id = "listIdentitySchemas", tag = "identity",
    summary = "List the identity schemas",
    params(Paging),
    responses(
        (status = 200, description = "A page of schemas.", body = [IdentitySchemaContainer]),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn list_identity_schemas() {}

#[utoipa::path(
    get, path = "/schemas/{id}", operation_id = "getIdentitySchema", tag = "identity",
    summary = "Get an identity schema",
    params(("id" = String, Path, description = "The schema id, plain or base64url-encoded.")),
    responses(
        (status = 200, description = "The JSON Schema document.", body = serde_json::Value),
        (status = 404, description = "No such schema.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn get_identity_schema() {}
