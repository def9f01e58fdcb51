//! Registration counts against the client address like a credential check, so
//! one address cannot create accounts without limit; throttled answers are 429
//! and create nothing.

use serde_json::json;

use crate::native_flows::{public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};

async fn register_once(server: &TestServer, n: usize) -> (u16, serde_json::Value) {
    let (_, flow) = public_get(server, "/self-service/registration/api", None).await;
    let id = flow["id"].as_str().unwrap();
    public_post(
        server,
        &format!("/self-service/registration?flow={id}"),
        json!({"method": "password", "password": "a passphrase for the flood",
               "traits": {"email": format!("flood{n}@example.com")}}),
    )
    .await
}

async fn registrations_are_throttled_per_address(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"throttle": {"per_ip": {"max_attempts": 3, "window": "1h"}}}),
    )
    .await;
    for n in 0..3 {
        let (status, body) = register_once(&server, n).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = register_once(&server, 3).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], 429, "{body}");
    let (_, identities) = server.get("/admin/identities").await;
    assert_eq!(
        identities.as_array().unwrap().len(),
        3,
        "the refused one was not created"
    );
    server.stop().await;
}

on_every_backend!(registrations_are_throttled_per_address);
