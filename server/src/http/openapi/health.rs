//! Health, version and this document: `/health/alive`, `/health/ready` and
//! `/version` on both listeners, the document on the admin listener.

use utoipa::OpenApi;

use super::components::{HealthNotReady, HealthStatus, Version};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(is_alive, is_ready, get_version, get_openapi_document))]
pub struct Api;

operations! {
    tag = "metadata";

    fn is_alive(get "/health/alive", "isAlive") "Whether the process answers"
        answers((status = 200, description = "It does.", body = HealthStatus))
        errors["default" "Error."];

    fn is_ready(get "/health/ready", "isReady") "Whether the server can serve requests"
        description "Ready once the database answers and every migration is applied."
        answers(
            (status = 200, description = "Ready.", body = HealthStatus),
            (status = 503, description = "Not ready, and why.", body = HealthNotReady),
        )
        errors["default" "Error."];

    fn get_version(get "/version", "getVersion") "The server's version"
        answers((status = 200, description = "The version.", body = Version))
        errors[];
}

#[utoipa::path(
    get, path = super::DOCUMENT_PATH, operation_id = "getOpenApiDocument", tag = "bia",
    summary = "This OpenAPI document",
    description = "Bia only, on the admin listener.",
    responses((status = 200, description = "The document.", body = serde_json::Value)),
)]
fn get_openapi_document() {}
