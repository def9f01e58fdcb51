//! The HTTP edge: routers for the public (4433) and admin (4434) listeners,
//! middleware, and the only place that knows Kratos's wire shapes.

mod browser;
mod clean_path;
mod cookies;
pub mod cors;
mod courier;
mod courier_json;
mod error;
mod extract;
mod flow_json;
mod health;
mod identities;
pub mod limits;
mod metrics;
mod openapi;
mod paging;
mod proxies;
mod recovery;
mod schema_migrations;
mod schemas;
mod selfservice;
mod session_json;
mod sessions;
mod state;
mod ui;
mod webauthn;
pub mod wire;

pub use browser::BrowserUrls;
pub use cookies::CookieCodec;
pub use error::ApiError;
pub use extract::{decode_json, decode_submission};
pub use proxies::TrustedProxies;
pub use state::{AppState, Shared};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::flow::{FlowKind, FlowType};
use selfservice::FlowRoute;

/// What hooks show of flows and identities: the API's own JSON shapes.
pub fn hook_renderer(public_base_url: String) -> crate::flow::Renderer {
    std::sync::Arc::new(move |shown| match shown {
        crate::flow::Shown::Flow(flow) => {
            serde_json::to_value(flow_json::flow_json(flow, &public_base_url))
                .unwrap_or(serde_json::Value::Null)
        }
        crate::flow::Shown::Identity(identity) => serde_json::to_value(wire::identity_json(
            identity,
            &public_base_url,
            &wire::View::admin(),
        ))
        .unwrap_or(serde_json::Value::Null),
    })
}

fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/recovery/code", post(recovery::create_code))
        .route("/recovery/link", post(recovery::create_link))
        .route(
            "/identities",
            get(identities::list)
                .post(identities::create)
                .patch(identities::batch),
        )
        .route(
            "/identities/{id}",
            get(identities::get)
                .put(identities::update)
                .patch(identities::patch)
                .delete(identities::delete),
        )
        .route(
            "/identities/by/external/{external_id}",
            get(identities::get_by_external_id),
        )
        .route(
            "/identities/{id}/credentials/{kind}",
            delete(identities::delete_credential),
        )
        .route(
            "/identities/{id}/sessions",
            get(sessions::list_for_identity).delete(sessions::delete_for_identity),
        )
        .route("/sessions", get(sessions::list).post(sessions::manage))
        .route(
            "/sessions/{id}",
            get(sessions::get).delete(sessions::disable),
        )
        .route("/sessions/{id}/extend", patch(sessions::extend))
        .route("/courier/messages", get(courier::list))
        .route("/courier/messages/{id}", get(courier::get))
        .route("/metrics/prometheus", get(metrics::scrape))
        .route("/bia/schema-migrations", post(schema_migrations::run))
}

fn self_service_routes() -> Router<AppState> {
    let router = Router::new()
        .route("/sessions/whoami", get(sessions::whoami))
        .route("/sessions/token-exchange", get(sessions::exchange_token))
        .route(
            "/sessions",
            get(sessions::list_mine).delete(sessions::revoke_mine),
        )
        .route("/sessions/{id}", delete(sessions::revoke_one_of_mine))
        .route(
            "/self-service/logout/browser",
            get(selfservice::logout_browser),
        )
        .route("/self-service/logout", get(selfservice::logout_with_token))
        .route("/self-service/logout/api", delete(selfservice::logout_api))
        .route("/self-service/errors", get(selfservice::get_error))
        .route(
            "/self-service/methods/oidc/callback/{provider}",
            get(selfservice::oidc_callback).post(selfservice::oidc_callback_form),
        )
        .route("/ui/error", get(ui::error))
        .route("/ui/welcome", get(ui::welcome));
    FLOW_KINDS
        .into_iter()
        .fold(router, flow_routes)
        .route(
            "/.well-known/change-password",
            get(selfservice::change_password),
        )
        .route("/.well-known/ory/webauthn.js", get(webauthn::script))
}

/// Every flow kind: one handler per operation, told the kind (and, to
/// create, the type) by an extension on the route.
const FLOW_KINDS: [FlowKind; 5] = [
    FlowKind::Login,
    FlowKind::Registration,
    FlowKind::Settings,
    FlowKind::Recovery,
    FlowKind::Verification,
];

/// `/self-service/<kind>/{api,browser,flows}`, `/self-service/<kind>` and
/// `/ui/<kind>`. Recovery and verification are submitted to their own
/// handler, and the links their messages carry are followed by `GET`.
fn flow_routes(router: Router<AppState>, kind: FlowKind) -> Router<AppState> {
    let path = |suffix: &str| format!("/self-service/{}{suffix}", kind.as_str());
    let create =
        |flow_type| get(selfservice::create).layer(Extension(FlowRoute { kind, flow_type }));
    router
        .route(&path("/api"), create(FlowType::Api))
        .route(&path("/browser"), create(FlowType::Browser))
        .route(
            &path("/flows"),
            get(selfservice::fetch).layer(Extension(kind)),
        )
        .route(&path(""), submit_route(kind).layer(Extension(kind)))
        .route(
            &format!("/ui/{}", kind.as_str()),
            get(ui::flow_page).layer(Extension(kind)),
        )
}

/// How a flow of `kind` is submitted (and, for recovery and verification,
/// how the link in its message is followed).
fn submit_route(kind: FlowKind) -> axum::routing::MethodRouter<AppState> {
    match kind {
        FlowKind::Recovery | FlowKind::Verification => {
            post(selfservice::submit_address).get(selfservice::follow_link)
        }
        _ => post(selfservice::submit),
    }
}

fn shared_routes() -> Router<AppState> {
    Router::new()
        .route("/health/alive", get(health::alive))
        .route("/health/ready", get(health::ready))
        .route("/version", get(health::version))
        .route("/schemas", get(schemas::list))
        .route("/schemas/{id}", get(schemas::get))
}

/// Every route of the admin listener: admin routes with and without the
/// `/admin` prefix, the shared ones and the OpenAPI document.
fn admin_table() -> Router<AppState> {
    Router::new()
        .nest("/admin", admin_routes())
        .merge(admin_routes())
        .merge(shared_routes())
        .route(openapi::DOCUMENT_PATH, get(openapi::serve))
}

/// Every route of the public listener.
fn public_table() -> Router<AppState> {
    Router::new()
        .merge(shared_routes())
        .merge(self_service_routes())
}

/// The admin router: admin routes with and without the `/admin` prefix.
pub fn admin_router(state: AppState, body_limit: usize) -> Router {
    let routes = admin_table().fallback(not_found);
    with_middleware(routes, "admin", state, body_limit)
}

/// The public router; admin paths answer with a 307 to the admin listener.
pub fn public_router(state: AppState, body_limit: usize) -> Router {
    let routes = public_table().fallback(redirect_admin_or_404);
    with_middleware(routes, "public", state, body_limit)
}

/// The middleware of both listeners around their routes and fallback,
/// innermost first; the request id is set outermost so every log line and
/// answer of the request carries it.
fn with_middleware(
    routes: Router<AppState>,
    listener: &'static str,
    state: AppState,
    body_limit: usize,
) -> Router {
    routes
        .layer(middleware::from_fn(no_cache_on_get))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(limits::limit_headers))
        .layer(middleware::from_fn(clean_path::redirect_unclean))
        .layer(middleware::from_fn_with_state(listener, metrics::track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(record_status),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span of one request: method, path (never the query, which may hold
/// tokens) and request id; exported as an OpenTelemetry server span named
/// after the method and the path with ids replaced by `{id}`, continuing
/// the caller's trace when it sent a `traceparent`.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let path = request.uri().path();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        request_id = %id,
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    // Naming and parenting cost a little per request: only when exported.
    if crate::telemetry::exporting() {
        span.record(
            "otel.name",
            format!("{} {}", request.method(), route_of(path)),
        );
        crate::telemetry::continue_trace(&span, request.headers());
    }
    span
}

/// Records the answer's status on the request span (an error status for 5xx).
fn record_status(response: &Response, _latency: std::time::Duration, span: &tracing::Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

/// A path with its id segments (UUIDs, long tokens) replaced by `{id}`, so
/// span names stay few.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id_like =
                segment.len() >= 16 && segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if id_like || uuid::Uuid::parse_str(segment).is_ok() {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource does not exist.")
}

async fn redirect_admin_or_404(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/admin/") || path == "/admin" {
        let target = match request.uri().query() {
            Some(query) => format!(
                "{}{}?{query}",
                state.admin_base_url.trim_end_matches('/'),
                path
            ),
            None => format!("{}{}", state.admin_base_url.trim_end_matches('/'), path),
        };
        if let Ok(location) = HeaderValue::from_str(&target) {
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response();
        }
    }
    not_found().await.into_response()
}

async fn no_cache_on_get(request: Request, next: Next) -> Response {
    let is_get = request.method() == Method::GET;
    let mut response = next.run(request).await;
    if is_get {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, no-store, must-revalidate"),
        );
    }
    response
}
