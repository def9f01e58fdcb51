//! CORS on both listeners with Kratos's keys: preflights, allowed and refused
//! origins, wildcards, credentials, and a refused configuration.

use reqwest::header::HeaderMap;
use serde_json::json;

use crate::support::{Kind, TestServer};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn preflight(server: &TestServer, base: &str, origin: &str) -> HeaderMap {
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, format!("{base}/sessions/whoami"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-session-token")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.headers().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_cors_follows_the_configured_origins() {
    let server = TestServer::start_with(
        Kind::Sqlite,
        json!({"serve": {"public": {"cors": {
            "enabled": true,
            "allowed_origins": ["https://app.example.test", "https://*.tenant.example.test"],
            "exposed_headers": ["Content-Type", "X-Request-Id"],
            "max_age": 600
        }}}}),
    )
    .await;
    let public = server.public.clone();

    let allowed = preflight(&server, &public, "https://app.example.test").await;
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://app.example.test")
    );
    assert_eq!(
        header(&allowed, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&allowed, "access-control-max-age"), Some("600"));
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("GET") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = header(&allowed, "access-control-allow-headers").unwrap();
    assert!(
        headers.to_ascii_lowercase().contains("x-session-token"),
        "{headers}"
    );

    let wildcard = preflight(&server, &public, "https://acme.tenant.example.test").await;
    assert_eq!(
        header(&wildcard, "access-control-allow-origin"),
        Some("https://acme.tenant.example.test")
    );
    let refused = preflight(&server, &public, "https://evil.example.test").await;
    assert_eq!(header(&refused, "access-control-allow-origin"), None);

    // A simple request: an error answer carries the headers too, so the page can read it.
    let response = server
        .http
        .get(format!("{public}/sessions/whoami"))
        .header("origin", "https://app.example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("https://app.example.test")
    );
    let exposed = header(response.headers(), "access-control-expose-headers").unwrap();
    assert!(
        exposed.to_ascii_lowercase().contains("x-request-id"),
        "{exposed}"
    );

    // The admin listener has its own section, off here.
    let admin = server.admin.clone();
    let response = server
        .http
        .get(format!("{admin}/admin/identities"))
        .header("origin", "https://app.example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        None
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cors_defaults_allow_any_origin() {
    let server = TestServer::start_with(
        Kind::Sqlite,
        json!({"serve": {"admin": {"cors": {"enabled": true}}}}),
    )
    .await;
    let admin = server.admin.clone();
    let headers = preflight(&server, &admin, "http://localhost:3000").await;
    // Any origin is echoed, never `*`, so credentials still work.
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(header(&headers, "access-control-max-age"), None);
    server.stop().await;
}

#[tokio::test]
async fn an_origin_with_two_wildcards_is_refused_at_start() {
    let tree = json!({
        "dsn": "memory",
        "secrets": {"cookie": ["a-cookie-secret-for-tests-only"]},
        "serve": {"public": {"cors": {"enabled": true,
            "allowed_origins": ["https://*.*.example.test"]}}},
        "identity": {"default_schema_id": "default", "schemas": [
            {"id": "default", "url": crate::support::base64_url(&crate::support::email_schema())}
        ]}
    });
    let loaded = bia_server::config::from_tree(tree, bia_server::config::Mode::default()).unwrap();
    let error = bia_server::app::App::build(loaded.config, Default::default())
        .await
        .err()
        .expect("the start is refused");
    assert_eq!(
        error.to_string(),
        "serve.public.cors.allowed_origins[0]: an origin may hold at most one wildcard (*)"
    );
}
