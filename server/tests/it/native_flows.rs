//! Native (api) registration, login and logout flows over HTTP, on every backend.

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, split};

pub async fn public_get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = server.http.get(format!("{}{path}", server.public));
    if let Some(token) = token {
        request = request.header("X-Session-Token", token);
    }
    split(request.send().await.unwrap()).await
}

pub async fn public_post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .post(format!("{}{path}", server.public))
        .header("User-Agent", "bia-tests/1")
        .json(&body)
        .send()
        .await
        .unwrap();
    split(response).await
}

/// Registers through a native flow and returns the response body.
pub async fn register(server: &TestServer, email: &str, password: &str) -> Value {
    let (status, flow) = public_get(server, "/self-service/registration/api", None).await;
    assert_eq!(status, 200, "{flow}");
    let id = flow["id"].as_str().unwrap();
    let (status, body) = public_post(
        server,
        &format!("/self-service/registration?flow={id}"),
        json!({"method": "password", "password": password, "traits": {"email": email}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Logs in through a native flow.
pub async fn login(server: &TestServer, identifier: &str, password: &str) -> (u16, Value) {
    let (_, flow) = public_get(server, "/self-service/login/api", None).await;
    let id = flow["id"].as_str().unwrap();
    public_post(
        server,
        &format!("/self-service/login?flow={id}"),
        json!({"method": "password", "identifier": identifier, "password": password}),
    )
    .await
}

/// The UI node of a flow with this name.
pub fn node<'a>(flow: &'a Value, name: &str) -> &'a Value {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {flow}"))
}

async fn registration_then_login_then_logout(kind: Kind) {
    let server = TestServer::start(kind).await;
    let (status, flow) = public_get(&server, "/self-service/registration/api", None).await;
    assert_eq!(status, 200);
    assert_eq!(flow["type"], "api");
    assert_eq!(flow["state"], "choose_method");
    let id = flow["id"].as_str().unwrap().to_owned();
    assert_eq!(
        flow["ui"]["action"],
        format!("{}/self-service/registration?flow={id}", server.public)
    );
    assert_eq!(flow["ui"]["method"], "POST");
    let email = node(&flow, "traits.email");
    assert_eq!(email["attributes"]["type"], "email");
    assert_eq!(email["attributes"]["required"], true);
    let password = node(&flow, "password");
    assert_eq!(
        password,
        &json!({"type": "input", "group": "password", "attributes": {"name": "password",
            "type": "password", "required": true, "autocomplete": "new-password",
            "disabled": false, "node_type": "input"}, "messages": [],
            "meta": {"label": {"id": 1070001, "text": "Password", "type": "info"}}})
    );
    assert_eq!(node(&flow, "method")["meta"]["label"]["id"], 1040001);

    // The flow can be fetched.
    let (status, fetched) = public_get(
        &server,
        &format!("/self-service/registration/flows?id={id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["id"], id.as_str());

    let (status, body) = public_post(
        &server,
        &format!("/self-service/registration?flow={id}"),
        json!({"method": "password", "password": "a long enough secret", "traits": {"email": "Reg@Example.org"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ory_st_") && token.len() == 39, "{token}");
    assert_eq!(body["identity"]["traits"]["email"], "Reg@Example.org");
    assert!(body["identity"].get("credentials").is_none());
    let identity_id = body["identity"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["session"]["identity"]["id"], identity_id.as_str());
    assert_eq!(body["session"]["active"], true);
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");
    assert_eq!(
        body["session"]["authentication_methods"][0]["method"],
        "password"
    );
    assert_eq!(body["session"]["devices"][0]["user_agent"], "bia-tests/1");
    assert_eq!(body["session"]["devices"][0]["ip_address"], "127.0.0.1");

    // Whoami by either header.
    let response = server
        .http
        .get(format!("{}/sessions/whoami", server.public))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-kratos-authenticated-identity-id"],
        identity_id.as_str()
    );
    let (status, whoami) = split(response).await;
    assert_eq!(status, 200, "{whoami}");
    assert_eq!(whoami["identity"]["traits"]["email"], "Reg@Example.org");
    assert_eq!(
        whoami["identity"]["verifiable_addresses"][0]["value"],
        "reg@example.org"
    );
    assert_eq!(
        whoami["identity"]["recovery_addresses"][0]["value"],
        "reg@example.org"
    );
    assert!(whoami["identity"].get("metadata_admin").is_none());
    assert!(whoami["identity"].get("credentials").is_none());

    // A flow cannot be created with a valid session.
    let (status, error) = public_get(&server, "/self-service/login/api", Some(&token)).await;
    assert_error(status, &error, 400);
    assert_eq!(error["error"]["id"], "session_already_available");

    // Login with the normalised identifier in another case.
    let (status, login_body) = login(&server, "REG@example.org", "a long enough secret").await;
    assert_eq!(status, 200, "{login_body}");
    assert!(login_body.get("identity").is_none());
    assert_eq!(
        login_body["session"]["identity"]["id"],
        identity_id.as_str()
    );
    let second = login_body["session_token"].as_str().unwrap().to_owned();
    assert_ne!(second, token);

    // Logout revokes the session.
    let response = server
        .http
        .delete(format!("{}/self-service/logout/api", server.public))
        .json(&json!({"session_token": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, error) = public_get(&server, "/sessions/whoami", Some(&second)).await;
    assert_error(status, &error, 401);
    assert_eq!(error["error"]["id"], "session_inactive");
    let response = server
        .http
        .delete(format!("{}/self-service/logout/api", server.public))
        .json(&json!({"session_token": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The first session still works.
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn registration_errors(kind: Kind) {
    let server = TestServer::start(kind).await;
    let (_, flow) = public_get(&server, "/self-service/registration/api", None).await;
    let id = flow["id"].as_str().unwrap().to_owned();
    let path = format!("/self-service/registration?flow={id}");

    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "password", "traits": {"email": "a@example.org"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["id"], id.as_str());
    let messages = &node(&body, "password")["messages"];
    assert_eq!(messages[0]["id"], 4000002, "{body}");
    assert_eq!(messages[0]["text"], "Property password is missing.");
    assert_eq!(
        node(&body, "traits.email")["attributes"]["value"],
        "a@example.org"
    );

    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "password", "password": "short", "traits": {"email": "a@example.org"}}),
    )
    .await;
    assert_eq!(status, 400);
    let message = &node(&body, "password")["messages"][0];
    assert_eq!(message["id"], 4000032);
    assert_eq!(
        message["text"],
        "The password must be at least 8 characters long, but got 5."
    );

    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "password", "password": "x".repeat(73), "traits": {"email": "a@example.org"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(node(&body, "password")["messages"][0]["id"], 4000033);

    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "password", "password": "long enough secret", "traits": {}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = &node(&body, "traits.email")["messages"][0];
    assert_eq!(message["id"], 4000002, "{body}");
    assert_eq!(message["text"], "Property email is missing.");

    register(&server, "taken@example.org", "long enough secret").await;
    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "password", "password": "long enough secret", "traits": {"email": "TAKEN@example.org"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["ui"]["messages"][0]["id"], 4000007, "{body}");
    assert_eq!(
        body["ui"]["messages"][0]["text"],
        "An account with the same identifier (email, phone, username, ...) exists already."
    );

    // Unknown method, unknown flow, malformed flow id.
    let (status, body) = public_post(&server, &path, json!({"method": "totp"})).await;
    assert_error(status, &body, 400);
    let (status, body) = public_post(
        &server,
        "/self-service/registration?flow=7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1",
        json!({"method": "password"}),
    )
    .await;
    assert_error(status, &body, 404);
    let (status, body) = public_get(&server, "/self-service/login/flows?id=nope", None).await;
    assert_error(status, &body, 404);
    // A registration flow is not a login flow.
    let (status, body) =
        public_get(&server, &format!("/self-service/login/flows?id={id}"), None).await;
    assert_error(status, &body, 404);
    server.stop().await;
}

async fn login_errors(kind: Kind) {
    let server = TestServer::start(kind).await;
    register(&server, "known@example.org", "long enough secret").await;
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    assert_eq!(flow["requested_aal"], "aal1");
    assert_eq!(node(&flow, "identifier")["meta"]["label"]["id"], 1070004);
    assert_eq!(
        node(&flow, "password")["attributes"]["autocomplete"],
        "current-password"
    );
    assert_eq!(node(&flow, "method")["meta"]["label"]["id"], 1010022);

    let (status, wrong) = login(&server, "known@example.org", "wrong password!").await;
    assert_eq!(status, 400, "{wrong}");
    let (status, unknown) = login(&server, "nobody@example.org", "wrong password!").await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(wrong["ui"]["messages"], unknown["ui"]["messages"]);
    assert_eq!(wrong["ui"]["messages"][0]["id"], 4000006);
    assert_eq!(
        unknown["ui"]["messages"][0]["text"],
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."
    );
    assert_eq!(
        node(&unknown, "identifier")["attributes"]["value"],
        "nobody@example.org"
    );
    assert!(
        node(&unknown, "password")["attributes"]
            .get("value")
            .is_none()
    );

    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    let (status, body) = public_post(
        &server,
        &format!("/self-service/login?flow={}", flow["id"].as_str().unwrap()),
        json!({"method": "password"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(node(&body, "identifier")["messages"][0]["id"], 4000002);
    assert_eq!(node(&body, "password")["messages"][0]["id"], 4000002);

    // An inactive identity cannot sign in.
    let (_, list) = server
        .get("/admin/identities?credentials_identifier=known@example.org")
        .await;
    let identity = list[0].clone();
    let (status, _) = server
        .put(
            &format!("/admin/identities/{}", identity["id"].as_str().unwrap()),
            json!({"state": "inactive", "traits": identity["traits"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = login(&server, "known@example.org", "long enough secret").await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}

async fn expired_flows(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {"flows": {"login": {"lifespan": "1ms"}, "registration": {"lifespan": "1ms"}}}}),
    )
    .await;
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let id = flow["id"].as_str().unwrap();
    let (status, body) = public_post(
        &server,
        &format!("/self-service/login?flow={id}"),
        json!({"method": "password", "identifier": "a@b.c", "password": "whatever1"}),
    )
    .await;
    assert_error(status, &body, 410);
    assert_eq!(body["error"]["id"], "self_service_flow_expired");
    let new_id = body["use_flow_id"].as_str().unwrap();
    assert_ne!(new_id, id);
    let (status, body) =
        public_get(&server, &format!("/self-service/login/flows?id={id}"), None).await;
    assert_error(status, &body, 410);
    server.stop().await;
}

async fn rehash_on_login(kind: Kind) {
    let server = TestServer::start(kind).await;
    // An imported legacy hash is replaced by one of the configured algorithm.
    let hash = "{SSHA}trRla3jw2HabXGygIwPpo3hqyn9zYWx0c2FsdA==";
    let (status, created) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "old@example.org"},
                "credentials": {"password": {"config": {"hashed_password": hash}}}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, body) = login(&server, "old@example.org", "password1").await;
    assert_eq!(status, 200, "{body}");
    let (_, after) = server
        .get(&format!(
            "/admin/identities/{}?include_credential=password",
            created["id"].as_str().unwrap()
        ))
        .await;
    let stored = after["credentials"]["password"]["config"]["hashed_password"]
        .as_str()
        .unwrap();
    assert!(stored.starts_with("$2a$04$"), "{stored}");
    let (status, _) = login(&server, "old@example.org", "password1").await;
    assert_eq!(status, 200);
    server.stop().await;
}

on_every_backend!(
    registration_then_login_then_logout,
    registration_errors,
    login_errors,
    expired_flows,
    rehash_on_login,
);
