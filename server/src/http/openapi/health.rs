//! Health, version and this document: `/health/alive`, `/health/ready` and
//! `/version` on both listeners, the document on the admin listener.

use utoipa::OpenApi;

use super::components::{HealthNotReady, HealthStatus, Version};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(is_alive, is_ready, get_version, get_openapi_document))]
pub struct Api;

#[utoipa::path(
    get, path = "/health/alive", operation_id = "isAlive", tag = "metadata",
    summary = "Whether the process answers",
    responses(
        (status = 200, description = "It does.", body = HealthStatus),
        (status = "default", description = "Error.", body = super::components::ErrorEnvelope),
    ),
)]
fn is_alive() {}

#[utoipa::path(
    get, path = "/health/ready", operation_id = "isReady", tag = "metadata",
    summary = "Whether the server can serve requests",
    description = "Ready once the database answers and every migration is applied.",
    responses(
        (status = 200, description = "Ready.", body = HealthStatus),
        (status = 503, description = "Not ready, and why.", body = HealthNotReady),
        (status = "default", description = "Error.", body = super::components::ErrorEnvelope),
    ),
)]
fn is_ready() {}

#[utoipa::path(
    get, path = "/version", operation_id = "getVersion", tag = "metadata",
    summary = "The server's version",
    responses((status = 200, description = "The version.", body = Version)),
)]
fn get_version() {}

#[utoipa::path(
    get, path = super::DOCUMENT_PATH, operation_id = "getOpenApiDocument", tag = "bia",
    summary = "This OpenAPI document",
    description = "Bia only, on the admin listener.",
    responses((status = 200, description = "The document.", body = serde_json::Value)),
)]
fn get_openapi_document() {}
