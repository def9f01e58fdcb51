//! Hooks carried out by the flow machine, on every backend: a parsing web
//! hook that refuses or enriches registrations, the session hook deciding
//! whether registration signs in, revoke_active_sessions and
//! require_verified_address after login.

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use crate::native_flows::{login, public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};

/// A web hook target: refuses `blocked@` addresses with a field message,
/// otherwise patches public metadata.
async fn hook_target() -> String {
    let app = axum::Router::new().route(
        "/registration",
        post(|Json(ctx): Json<Value>| async move {
            let email = ctx["identity"]["traits"]["email"].as_str().unwrap_or("").to_owned();
            if email.starts_with("blocked@") {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"messages": [{"instance_ptr": "#/traits/email",
                        "messages": [{"id": 4242, "text": "This address is not welcome.", "type": "error"}]}]})),
                );
            }
            (
                StatusCode::OK,
                Json(json!({"identity": {"metadata_public": {"greeted": email}}})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn register(server: &TestServer, email: &str) -> (u16, Value) {
    let (_, flow) = public_get(server, "/self-service/registration/api", None).await;
    public_post(
        server,
        &format!(
            "/self-service/registration?flow={}",
            flow["id"].as_str().unwrap()
        ),
        json!({"method": "password", "password": "long enough secret", "traits": {"email": email}}),
    )
    .await
}

async fn hooks_shape_registration_and_login(kind: Kind) {
    let target = hook_target().await;
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {"flows": {
            "registration": {"after": {"password": {"hooks": [
                {"hook": "web_hook", "config": {"url": format!("{target}/registration"), "method": "POST",
                    "response": {"parse": true}}},
                {"hook": "session"}
            ]}}},
            "login": {"after": {"hooks": [{"hook": "revoke_active_sessions"}]}}
        }}}),
    )
    .await;
    // Refused by the hook: the flow shows the hook's message, nothing is stored.
    let (status, body) = register(&server, "blocked@example.org").await;
    assert_eq!(status, 400, "{body}");
    let email_node = body["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "traits.email")
        .unwrap();
    assert_eq!(email_node["messages"][0]["id"], 4242, "{body}");
    let (_, identities) = server.get("/admin/identities").await;
    assert_eq!(identities.as_array().unwrap().len(), 0);

    // Accepted: the hook's metadata is stored and the session hook signs in.
    let (status, body) = register(&server, "ada@example.org").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["identity"]["metadata_public"]["greeted"],
        "ada@example.org"
    );
    let first = body["session_token"].as_str().unwrap().to_owned();

    // revoke_active_sessions: a new login ends the earlier session.
    let (status, _) = login(&server, "ada@example.org", "long enough secret").await;
    assert_eq!(status, 200);
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

async fn hooks_without_session_or_unverified(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {"flows": {
            "registration": {"after": {"hooks": [{"hook": "show_verification_ui"}]}},
            "login": {"after": {"hooks": [{"hook": "require_verified_address"}]}}
        }}}),
    )
    .await;
    // Hooks without `session`: registration does not sign in.
    let (status, body) = register(&server, "grace@example.org").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("session").is_none() && body.get("session_token").is_none(),
        "{body}"
    );
    assert_eq!(body["identity"]["traits"]["email"], "grace@example.org");
    // require_verified_address: an unverified address cannot sign in.
    let (status, body) = login(&server, "grace@example.org", "long enough secret").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["ui"]["messages"][0]["id"], 4000010, "{body}");
    let (_, sessions) = server.get("/admin/sessions").await;
    assert_eq!(sessions.as_array().unwrap().len(), 0);
    server.stop().await;
}

on_every_backend!(
    hooks_shape_registration_and_login,
    hooks_without_session_or_unverified
);
