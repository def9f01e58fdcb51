//! Request metrics on both listeners, and the Prometheus scrape endpoint of
//! the admin listener (`/admin/metrics/prometheus`, as Kratos serves it).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;
use crate::metrics::{DB_POOL_CONNECTIONS, HTTP_DURATION, HTTP_REQUESTS, render};

/// Middleware: counts and times every request by listener, method, route
/// template (never the raw path, so ids do not multiply the series) and
/// status.
pub async fn track(State(listener): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("listener", listener.to_owned()),
        ("method", method),
        ("route", route),
    ];
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    let [listener, method, route] = labels;
    metrics::counter!(
        HTTP_REQUESTS,
        &[listener, method, route, ("status", status)]
    )
    .increment(1);
    response
}

/// `GET /admin/metrics/prometheus`: every metric in Prometheus's text format.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let (open, idle) = state.db.connections();
    let in_use = (open as usize).saturating_sub(idle);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    match render() {
        Some(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => ApiError::not_found("Metrics are not recorded by this process.").into_response(),
    }
}
