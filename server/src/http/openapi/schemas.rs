//! `/schemas`: the configured identity schemas, on both listeners.

use utoipa::OpenApi;

use super::components::{IdentitySchemaContainer, Paging};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(list_identity_schemas, get_identity_schema))]
pub struct Api;

operations! {
    tag = "identity";

    fn list_identity_schemas(get "/schemas", "listIdentitySchemas") "List the identity schemas"
        params(Paging)
        answers((status = 200, description = "A page of schemas.", body = [IdentitySchemaContainer]))
        errors["default" "Error."];

    fn get_identity_schema(get "/schemas/{id}", "getIdentitySchema") "Get an identity schema"
        params(("id" = String, Path, description = "The schema id, plain or base64url-encoded."))
        answers((status = 200, description = "The JSON Schema document.", body = serde_json::Value))
        errors[404 "No such schema.", "default" "Error."];
}
