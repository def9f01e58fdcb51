//! Health, version and this document: `/health/alive`, `/health/ready` and
//! `/version` on both listeners, the document on the admin listener.

use utoipa::OpenApi;

use super::components::{HealthNotReady, HealthStatus, Version};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(is_alive, is_ready, get_version, get_openapi_document, get_metrics))]
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

#[utoipa::path(
    get, path = "/admin/metrics/prometheus", operation_id = "getMetrics", tag = "bia",
    summary = "Prometheus metrics",
    description = "On the admin listener, at Kratos's path (also without the `/admin` prefix): \
        requests by route and status, latency histograms, flows by type and result, the hash \
        pool, throttle refusals and database connections, in Prometheus's text format.",
    responses(
        (status = 200, description = "The metrics.", body = String, content_type = "text/plain"),
        (status = 404, description = "This process records no metrics.", body = super::components::ErrorEnvelope),
    ),
)]
fn get_metrics() {}
