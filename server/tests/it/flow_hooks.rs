//! Hooks carried out by the flow machine, on every backend: parsing web
//! hooks that refuse or change a registration or a settings change before
//! it is stored,
//! web hooks that run once it is stored, the session hook deciding whether
//! registration signs in, revoke_active_sessions and require_verified_address
//! after login.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};

/// One call a hook target received: which endpoint, the id of the identity
/// in its context, and what the admin API answered for that id meanwhile.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    path: &'static str,
    identity_id: String,
    admin_status: u16,
}

/// A web hook target that records its calls. `/registration` parses:
/// it refuses `blocked@` addresses with a field message, answers `broken@`
/// with traits the schema refuses, renames `rename@` addresses and greets
/// everyone else in public metadata. `/notify` only answers 204.
#[derive(Clone, Default)]
struct Target {
    url: String,
    /// The server's admin URL, known once it has started.
    admin: Arc<OnceLock<String>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Target {
    async fn start() -> Self {
        let target = Target::default();
        let app = axum::Router::new()
            .route("/registration", post(parse_answer))
            .route("/notify", post(notify_answer))
            .route("/settings", post(parse_answer))
            .with_state(target.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Target { url, ..target }
    }

    async fn record(&self, path: &'static str, ctx: &Value) {
        let identity_id = ctx["identity"]["id"].as_str().unwrap_or("").to_owned();
        let admin = self.admin.get().unwrap();
        let response = reqwest::get(format!("{admin}/admin/identities/{identity_id}"))
            .await
            .unwrap();
        self.calls.lock().unwrap().push(Call {
            path,
            identity_id,
            admin_status: response.status().as_u16(),
        });
    }

    fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

async fn parse_answer(
    State(target): State<Target>,
    Json(ctx): Json<Value>,
) -> (StatusCode, Json<Value>) {
    target.record("/registration", &ctx).await;
    let email = ctx["identity"]["traits"]["email"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let (status, body) = match email.split('@').next().unwrap_or("") {
        "blocked" => (
            StatusCode::BAD_REQUEST,
            json!({"messages": [{"instance_ptr": "#/traits/email",
                "messages": [{"id": 4242, "text": "This address is not welcome.", "type": "error"}]}]}),
        ),
        "broken" => (
            StatusCode::OK,
            json!({"identity": {"traits": {"email": "ab"}}}),
        ),
        "rename" => (
            StatusCode::OK,
            json!({"identity": {"traits": {"email": "renamed@example.org"},
                "metadata_admin": {"renamed_from": email}}}),
        ),
        _ => (
            StatusCode::OK,
            json!({"identity": {"metadata_public": {"greeted": email}}}),
        ),
    };
    (status, Json(body))
}

async fn notify_answer(State(target): State<Target>, Json(ctx): Json<Value>) -> StatusCode {
    target.record("/notify", &ctx).await;
    StatusCode::NO_CONTENT
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

pub(crate) async fn identity_count(server: &TestServer) -> usize {
    let (status, identities) = server.get("/admin/identities").await;
    assert_eq!(status, 200, "{identities}");
    identities.as_array().unwrap().len()
}

/// Registration with a parsing web hook (which runs before the identity is
/// stored, wherever it is listed) and a plain one (which runs after).
async fn start_with_registration_hooks(kind: Kind, target: &Target) -> TestServer {
    let url = &target.url;
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {"flows": {
            "registration": {"after": {"password": {"hooks": [
                {"hook": "web_hook", "config": {"url": format!("{url}/notify"), "method": "POST"}},
                {"hook": "web_hook", "config": {"url": format!("{url}/registration"), "method": "POST",
                    "response": {"parse": true}}},
                {"hook": "session"}
            ]}}},
            "login": {"after": {"hooks": [{"hook": "revoke_active_sessions"}]}}
        }}}),
    )
    .await;
    target.admin.set(server.admin.clone()).unwrap();
    server
}

async fn parsing_hooks_refuse_before_anything_is_stored(kind: Kind) {
    let target = Target::start().await;
    let server = start_with_registration_hooks(kind, &target).await;

    // Refused by the hook: its message on the field; the identity it saw had
    // an id but was never stored, and the later hook never ran.
    let (status, body) = register(&server, "blocked@example.org").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        node(&body, "traits.email")["messages"][0]["id"],
        4242,
        "{body}"
    );
    let calls = target.take_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].path, "/registration");
    assert!(
        uuid::Uuid::parse_str(&calls[0].identity_id).is_ok(),
        "{calls:?}"
    );
    assert_eq!(calls[0].admin_status, 404);
    assert_eq!(identity_count(&server).await, 0);

    // Changed by the hook into traits the schema refuses: a 400 with the
    // schema's problem on the field, nothing stored.
    let (status, body) = register(&server, "broken@example.org").await;
    assert_eq!(status, 400, "{body}");
    let message = &node(&body, "traits.email")["messages"][0];
    assert_eq!(message["id"], 4000001, "{body}");
    assert_eq!(target.take_calls().len(), 1);
    assert_eq!(identity_count(&server).await, 0);
    server.stop().await;
}

async fn parsing_hooks_shape_the_first_write(kind: Kind) {
    let target = Target::start().await;
    let server = start_with_registration_hooks(kind, &target).await;

    let (status, body) = register(&server, "rename@example.org").await;
    assert_eq!(status, 200, "{body}");
    let id = body["identity"]["id"].as_str().unwrap().to_owned();
    assert!(body["session_token"].is_string(), "{body}");
    // The parsing hook saw the identity, id included, before it was stored;
    // the plain hook saw it stored.
    let calls = target.take_calls();
    let seen = |path: &'static str, admin_status: u16| Call {
        path,
        identity_id: id.clone(),
        admin_status,
    };
    assert_eq!(calls, [seen("/registration", 404), seen("/notify", 200)]);

    // What was written first is the patched identity: one write, identifiers
    // and addresses derived from the new traits.
    let (_, stored) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(
        stored["traits"],
        json!({"email": "renamed@example.org"}),
        "{stored}"
    );
    assert_eq!(
        stored["metadata_admin"]["renamed_from"],
        "rename@example.org"
    );
    assert_eq!(stored["created_at"], stored["updated_at"], "{stored}");
    assert_eq!(
        stored["verifiable_addresses"][0]["value"],
        "renamed@example.org"
    );
    let (status, _) = login(&server, "rename@example.org", "long enough secret").await;
    assert_eq!(status, 400);
    let (status, _) = login(&server, "renamed@example.org", "long enough secret").await;
    assert_eq!(status, 200);

    // Metadata only: the hook's metadata is stored with the traits as sent.
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

/// Submits a native settings flow of the session behind `token`.
async fn change_settings(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let (status, flow) = public_get(server, "/self-service/settings/api", Some(token)).await;
    assert_eq!(status, 200, "{flow}");
    let response = server
        .http
        .post(format!(
            "{}/self-service/settings?flow={}",
            server.public,
            flow["id"].as_str().unwrap()
        ))
        .header("X-Session-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    crate::support::split(response).await
}

async fn settings_parsing_hooks_decide_before_the_change_is_stored(kind: Kind) {
    let target = Target::start().await;
    let url = &target.url;
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {"flows": {"settings": {"after": {"profile": {"hooks": [
            {"hook": "web_hook", "config": {"url": format!("{url}/settings"), "method": "POST",
                "response": {"parse": true}}}
        ]}}}}}}),
    )
    .await;
    target.admin.set(server.admin.clone()).unwrap();
    let (status, body) = register(&server, "owner@example.org").await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let id = body["identity"]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/identities/{id}");
    let before = server.get(&path).await.1;

    // A refusal shows the hook's message and changes nothing.
    let (status, body) = change_settings(
        &server,
        &token,
        json!({"method": "profile", "traits": {"email": "blocked@example.org"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        node(&body, "traits.email")["messages"][0]["id"],
        4242,
        "{body}"
    );
    assert_eq!(server.get(&path).await.1, before);

    // A patch the schema refuses is refused, and changes nothing either.
    let (status, body) = change_settings(
        &server,
        &token,
        json!({"method": "profile", "traits": {"email": "broken@example.org"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        node(&body, "traits.email")["messages"][0]["id"],
        4000001,
        "{body}"
    );
    assert_eq!(server.get(&path).await.1, before);

    // A patch is stored with the change itself; the hook ran once, on this
    // identity.
    target.take_calls();
    let (status, body) = change_settings(
        &server,
        &token,
        json!({"method": "profile", "traits": {"email": "rename@example.org"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = server.get(&path).await.1;
    assert_eq!(after["traits"]["email"], "renamed@example.org", "{after}");
    assert_eq!(
        after["metadata_admin"],
        json!({"renamed_from": "rename@example.org"})
    );
    assert_eq!(body["identity"]["traits"]["email"], "renamed@example.org");
    let calls = target.take_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].identity_id, id);
    let (status, body) = login(&server, "renamed@example.org", "long enough secret").await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

on_every_backend!(
    settings_parsing_hooks_decide_before_the_change_is_stored,
    parsing_hooks_refuse_before_anything_is_stored,
    parsing_hooks_shape_the_first_write,
    hooks_without_session_or_unverified
);
