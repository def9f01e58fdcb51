//! Replayed submissions: a completed login or registration flow submitted again
//! is refused with Kratos's message and creates no session or identity.

use serde_json::{Value, json};

use crate::native_flows::{public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};

async fn submit_twice(server: &TestServer, flow: &str, body: Value) -> (Value, u16, Value) {
    let (status, created) = public_get(server, &format!("/self-service/{flow}/api"), None).await;
    assert_eq!(status, 200, "{created}");
    let path = format!(
        "/self-service/{flow}?flow={}",
        created["id"].as_str().unwrap()
    );
    let (status, first) = public_post(server, &path, body.clone()).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = public_post(server, &path, body).await;
    (first, status, second)
}

fn form_message_id(flow: &Value) -> &Value {
    &flow["ui"]["messages"][0]["id"]
}

async fn completed_flows_cannot_be_replayed(kind: Kind) {
    let server = TestServer::start(kind).await;
    let password = "replayed passphrase 7";
    let registration = json!({"method": "password", "password": password,
                              "traits": {"email": "replay@example.com"}});
    let (first, status, second) = submit_twice(&server, "registration", registration).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(form_message_id(&second), 4040002, "{second}");
    assert_eq!(second["state"], "passed_challenge");
    assert!(second.get("session_token").is_none());
    let (_, identities) = server.get("/admin/identities").await;
    assert_eq!(identities.as_array().unwrap().len(), 1);

    let identity = first["identity"]["id"].as_str().unwrap().to_owned();
    let sessions_path = format!("/admin/identities/{identity}/sessions");
    let (_, before) = server.get(&sessions_path).await;
    let login = json!({"method": "password", "identifier": "replay@example.com",
                       "password": password});
    let (_, status, second) = submit_twice(&server, "login", login).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(form_message_id(&second), 4010007, "{second}");
    let (_, after) = server.get(&sessions_path).await;
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1,
        "only the first login made a session"
    );
    server.stop().await;
}

on_every_backend!(completed_flows_cannot_be_replayed);
