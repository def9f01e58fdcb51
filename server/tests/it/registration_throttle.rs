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

/// A flood of flow creations from one address is refused (429 in Kratos's
/// error shape, with `Retry-After`) before anything is stored.
async fn flow_floods_are_refused_per_address(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"throttle": {"flows_per_ip": {"max_attempts": 5, "window": "1h"}}}),
    )
    .await;
    let mut ids = Vec::new();
    for kind in ["login", "registration", "login", "recovery", "login"] {
        let (status, flow) = public_get(&server, &format!("/self-service/{kind}/api"), None).await;
        // Recovery is off by default: refused as disabled, still counted.
        if kind == "recovery" {
            assert_eq!(status, 400, "{flow}");
            continue;
        }
        assert_eq!(status, 200, "{flow}");
        ids.push(flow["id"].as_str().unwrap().to_owned());
    }
    for _ in 0..20 {
        let response = server
            .http
            .get(format!("{}/self-service/login/api", server.public))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], 429, "{body}");
    }
    // The flows made before the flood still work.
    let (status, _) = public_get(
        &server,
        &format!("/self-service/login/flows?id={}", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

on_every_backend!(flow_floods_are_refused_per_address);
