//! Hostile input against both listeners: deep nesting, many fields, huge bodies and
//! headers, overlong passwords. Each answers a 4xx in the Kratos envelope and the
//! server keeps serving, with nothing written.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::native_flows::{login, public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, split};

/// Posts a raw body to a fresh native login flow.
async fn post_to_login_flow(server: &TestServer, content_type: &str, body: String) -> (u16, Value) {
    let (status, flow) = public_get(server, "/self-service/login/api", None).await;
    assert_eq!(status, 200, "{flow}");
    let id = flow["id"].as_str().unwrap();
    let response = server
        .http
        .post(format!("{}/self-service/login?flow={id}", server.public))
        .header("content-type", content_type)
        // A refused body may be left unread; the connection must not be reused.
        .header("connection", "close")
        .body(body)
        .send()
        .await
        .unwrap();
    split(response).await
}

async fn assert_alive(server: &TestServer) {
    let (status, _) = server.get_from(&server.public, "/health/alive").await;
    assert_eq!(status, 200, "the server stopped answering");
}

async fn nested_and_oversized_bodies(kind: Kind) {
    let server = TestServer::start(kind).await;
    let form = "application/x-www-form-urlencoded";

    // A dotted form name nesting 20,000 levels (the body is within the limit).
    let deep = format!("{}b=1", "a.".repeat(20_000));
    let (status, body) = post_to_login_flow(&server, form, deep).await;
    assert_error(status, &body, 400);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("nests deeper")
    );
    assert_alive(&server).await;

    // The same shape at 600 KB is over the public body limit.
    let huge = format!("{}b=1", "a.".repeat(300_000));
    let (status, body) = post_to_login_flow(&server, form, huge).await;
    assert_error(status, &body, 413);
    assert_alive(&server).await;

    // Deep JSON, as arrays and as objects.
    let arrays = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let (status, body) = post_to_login_flow(&server, "application/json", arrays).await;
    assert_error(status, &body, 400);
    let objects = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
    let (status, body) = post_to_login_flow(&server, "application/json", objects).await;
    assert_error(status, &body, 400);
    assert_alive(&server).await;

    // Too many fields, as a form and as JSON.
    let many: Vec<String> = (0..2_000).map(|i| format!("f{i}=x")).collect();
    let (status, body) = post_to_login_flow(&server, form, many.join("&")).await;
    assert_error(status, &body, 400);
    assert!(body["error"]["reason"].as_str().unwrap().contains("values"));
    let many: serde_json::Map<String, Value> =
        (0..2_000).map(|i| (format!("f{i}"), json!("x"))).collect();
    let (status, body) =
        post_to_login_flow(&server, "application/json", Value::Object(many).to_string()).await;
    assert_error(status, &body, 400);

    // The admin listener keeps its larger limit but the same depth rule.
    let response = server
        .http
        .post(format!("{}/admin/identities", server.admin))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"schema_id\":\"default\",\"traits\":{}1{}}}",
            "{\"a\":".repeat(100),
            "}".repeat(100)
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_error(status, &body, 400);
    let (status, list) = server.get("/admin/identities").await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "a refused body wrote nothing");
    server.stop().await;
}

async fn oversized_headers(kind: Kind) {
    let server = TestServer::start(kind).await;
    for base in [&server.public, &server.admin] {
        let response = server
            .http
            .get(format!("{base}/health/alive"))
            .header("cookie", format!("junk={}", "x".repeat(40 * 1024)))
            .header("connection", "close")
            .send()
            .await
            .unwrap();
        let (status, body) = split(response).await;
        assert_error(status, &body, 431);
    }
    assert_alive(&server).await;
    server.stop().await;
}

async fn overlong_passwords(kind: Kind) {
    let server = TestServer::start(kind).await;
    // Far over the password cap, still under the public body limit.
    let long = "p".repeat(60_000);

    // Login with an overlong password: refused without hashing, like a wrong one.
    register(&server, "long@example.com", "a fine password 42").await;
    let started = Instant::now();
    let (status, flow) = login(&server, "long@example.com", &long).await;
    assert_eq!(status, 400, "{flow}");
    assert_eq!(flow["ui"]["messages"][0]["id"], 4000006, "{flow}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Registration and admin import refuse it with a clear message.
    let (_, reg) = public_get(&server, "/self-service/registration/api", None).await;
    let id = reg["id"].as_str().unwrap();
    let (status, body) = crate::native_flows::public_post(
        &server,
        &format!("/self-service/registration?flow={id}"),
        json!({"method": "password", "password": "q".repeat(2_000),
               "traits": {"email": "other@example.com"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let password_node = crate::native_flows::node(&body, "password");
    assert_eq!(password_node["messages"][0]["id"], 4000033, "{body}");

    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "default", "traits": {"email": "imported@example.com"},
                   "credentials": {"password": {"config": {"password": "r".repeat(2_000)}}}}),
        )
        .await;
    assert_error(status, &body, 400);
    let (_, list) = server.get("/admin/identities").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only the registered identity exists"
    );

    // The real password still works.
    let (status, body) = login(&server, "long@example.com", "a fine password 42").await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

/// A refused oversized body leaves the rest unread: the 413 says
/// `Connection: close`, so a pooling client never sends its next request on
/// that connection (which would fail with an incomplete message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_closes_its_connection() {
    let server = TestServer::start(Kind::Sqlite).await;
    let huge = json!({"method": "password", "password": "p".repeat(2_000_000)});
    for round in 0..20 {
        let (status, flow) = public_get(&server, "/self-service/login/api", None).await;
        assert_eq!(status, 200, "{flow}");
        let id = flow["id"].as_str().unwrap();
        let response = server
            .http
            .post(format!("{}/self-service/login?flow={id}", server.public))
            .json(&huge)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["connection"], "close", "round {round}");
        let (status, body) = split(response).await;
        assert_error(status, &body, 413);
        assert_alive(&server).await;
    }
    server.stop().await;
}

on_every_backend!(
    nested_and_oversized_bodies,
    oversized_headers,
    overlong_passwords
);
