//! Codes by SMS: sign-up, sign-in and verification for a phone number that
//! the schema marks `via: sms`. The server runs its own courier worker and
//! the SMS channel posts to a local HTTP endpoint; codes are read from what
//! that endpoint received, as a phone would show them.

use std::sync::Arc;
use std::time::Duration;

use bia_server::app::ServeOptions;
use serde_json::{Value, json};

use crate::courier::{Endpoint, serve_endpoint};
use crate::native_flows::{public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, base64_url};

const PHONE: &str = "+4915112345678";

fn phone_schema() -> Value {
    json!({
        "$id": "https://example.test/phone.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {
            "phone": {"type": "string", "title": "Phone", "maxLength": 32,
                "ory.sh/kratos": {
                    "credentials": {"code": {"identifier": true, "via": "sms"}},
                    "verification": {"via": "sms"}
                }}
        }, "required": ["phone"], "additionalProperties": false}}
    })
}

/// A server with sign-in by code on, the phone schema as default, its own
/// courier worker and SMS posted to `sms_url`.
async fn sms_server(kind: Kind, sms_url: &str, delivery: &str) -> TestServer {
    let extra = json!({
        "identity": {"default_schema_id": "phone", "schemas": [
            {"id": "phone", "url": base64_url(&phone_schema())}
        ]},
        "selfservice": {
            "methods": {
                "code": {"passwordless_enabled": true},
                "link": {"enabled": delivery == "link"}
            },
            "flows": {"verification": {"enabled": true, "use": delivery}}
        },
        "courier": {"channels": [{"id": "sms", "type": "http", "request_config": {
            "url": format!("{sms_url}/sms")
        }}]}
    });
    let options = ServeOptions {
        watch_courier: true,
        ..ServeOptions::default()
    };
    TestServer::start_with_options(kind, extra, options).await
}

async fn sms_sink() -> (Arc<Endpoint>, String) {
    let endpoint = Arc::new(Endpoint::default());
    endpoint
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let url = serve_endpoint(endpoint.clone()).await;
    (endpoint, url)
}

/// The code of the `nth` SMS (counting from one) the endpoint received for
/// `to`, waiting for it.
async fn sms_code(endpoint: &Endpoint, to: &str, nth: usize) -> String {
    for _ in 0..300 {
        let bodies: Vec<String> = endpoint
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, body)| body["to"] == to)
            .map(|(_, body)| body["body"].as_str().unwrap_or_default().to_owned())
            .collect();
        if let Some(body) = bodies.get(nth - 1) {
            return body
                .split(|c: char| !c.is_ascii_digit())
                .find(|word| word.len() == 6)
                .unwrap_or_else(|| panic!("no code in {body}"))
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {nth} SMS to {to}");
}

fn sms_count(endpoint: &Endpoint) -> usize {
    endpoint.requests.lock().unwrap().len()
}

async fn new_flow(server: &TestServer, kind: &str) -> String {
    let (status, flow) = public_get(server, &format!("/self-service/{kind}/api"), None).await;
    assert_eq!(status, 200, "{flow}");
    flow["id"].as_str().unwrap().to_owned()
}

async fn submit(server: &TestServer, kind: &str, id: &str, body: Value) -> (u16, Value) {
    public_post(server, &format!("/self-service/{kind}?flow={id}"), body).await
}

async fn sign_up_and_in_by_sms(kind: Kind) {
    let (endpoint, url) = sms_sink().await;
    let server = sms_server(kind, &url, "code").await;
    let id = new_flow(&server, "registration").await;
    let traits = json!({"phone": "+49 151 1234 5678"});
    let (status, sent) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "traits": traits}),
    )
    .await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email", "{sent}");
    let code = sms_code(&endpoint, PHONE, 1).await;
    let (status, done) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "code": code, "traits": traits}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let identity_id = done["identity"]["id"].as_str().unwrap().to_owned();
    let (_, stored) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=code"
        ))
        .await;
    assert_eq!(
        stored["credentials"]["code"]["identifiers"],
        json!([PHONE]),
        "{stored}"
    );
    assert_eq!(
        stored["credentials"]["code"]["config"]["addresses"],
        json!([{"channel": "sms", "address": PHONE}]),
        "{stored}"
    );
    let address = &stored["verifiable_addresses"][0];
    assert_eq!(
        (&address["via"], &address["value"], &address["verified"]),
        (&json!("sms"), &json!(PHONE), &json!(true)),
        "{stored}"
    );
    // The courier stored it as a phone message.
    let (_, listed) = server
        .get("/admin/courier/messages?recipient=%2B4915112345678")
        .await;
    assert_eq!(listed[0]["type"], "phone", "{listed}");
    assert_eq!(listed[0]["template_type"], "registration_code_valid");
    // Signing in later, the number written another way.
    let login = new_flow(&server, "login").await;
    let (status, sent) = submit(
        &server,
        "login",
        &login,
        json!({"method": "code", "identifier": "+49 (151) 1234-5678"}),
    )
    .await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email", "{sent}");
    let code = sms_code(&endpoint, PHONE, 2).await;
    let (status, session) = submit(
        &server,
        "login",
        &login,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["session"]["identity"]["id"], identity_id.as_str());
    assert_eq!(
        session["session"]["authentication_methods"][0]["method"],
        "code"
    );
    // The code was used once; a replay is refused.
    let (status, replay) = submit(
        &server,
        "login",
        &login,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 400, "{replay}");
    // An unknown number gets the same answer and no SMS.
    let before = sms_count(&endpoint);
    let other = new_flow(&server, "login").await;
    let (status, unknown) = submit(
        &server,
        "login",
        &other,
        json!({"method": "code", "identifier": "+4915199999999"}),
    )
    .await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(unknown["state"], sent["state"]);
    assert_eq!(unknown["ui"]["messages"], sent["ui"]["messages"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sms_count(&endpoint), before, "no SMS to an unknown number");
    server.stop().await;
}

on_every_backend!(sign_up_and_in_by_sms);

async fn verification_by_sms(kind: Kind) {
    let (endpoint, url) = sms_sink().await;
    let server = sms_server(kind, &url, "code").await;
    let (status, created) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "phone", "traits": {"phone": PHONE}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let identity_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["verifiable_addresses"][0]["verified"], false);
    // Hostile or malformed numbers are refused on the form; none is texted.
    let long = format!("+{}", "1".repeat(40));
    for bad in [
        "+49151\r\n123",
        long.as_str(),
        "+not-a-number",
        "4915112345678",
    ] {
        let id = new_flow(&server, "verification").await;
        let (status, refused) = submit(
            &server,
            "verification",
            &id,
            json!({"method": "code", "email": bad}),
        )
        .await;
        assert_eq!(status, 400, "{bad:?}: {refused}");
        assert_ne!(refused["state"], "sent_email", "{bad:?}: {refused}");
    }
    let id = new_flow(&server, "verification").await;
    let (status, sent) = submit(
        &server,
        "verification",
        &id,
        json!({"method": "code", "email": "+49 151 12345678"}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent_email", "{sent}");
    let code = sms_code(&endpoint, PHONE, 1).await;
    let (status, wrong) = submit(
        &server,
        "verification",
        &id,
        json!({"method": "code", "code": "000000"}),
    )
    .await;
    assert_eq!(status, 400, "{wrong}");
    let (status, done) = submit(
        &server,
        "verification",
        &id,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "passed_challenge", "{done}");
    let (_, stored) = server
        .get(&format!("/admin/identities/{identity_id}"))
        .await;
    let address = &stored["verifiable_addresses"][0];
    assert_eq!(address["verified"], true, "{stored}");
    assert_eq!(address["status"], "completed", "{stored}");
    assert_eq!(
        sms_count(&endpoint),
        1,
        "only the one good number was texted"
    );
    server.stop().await;
}

on_every_backend!(verification_by_sms);

/// Links travel by email only: with verification by link, a phone number in
/// the form is not an address the flow can use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_links_are_not_texted() {
    let (endpoint, url) = sms_sink().await;
    let server = sms_server(Kind::Sqlite, &url, "link").await;
    let id = new_flow(&server, "verification").await;
    let (status, refused) = submit(
        &server,
        "verification",
        &id,
        json!({"method": "link", "email": PHONE}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_ne!(refused["state"], "sent_email", "{refused}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sms_count(&endpoint), 0);
    server.stop().await;
}
