//! Prometheus metrics on the admin listener move with the traffic, and every
//! answer carries a request id.

use serde_json::json;

use crate::native_flows::{public_get, public_post};
use crate::support::{Kind, TestServer};

/// The value of one series in the text exposition (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(server: &TestServer) -> String {
    let response = server
        .http
        .get(format!("{}/admin/metrics/prometheus", server.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_after_a_login() {
    let server = TestServer::start(Kind::Sqlite).await;
    let before = scrape(&server).await;
    let email = "metrics@example.test";
    let password = "a passphrase for counting";
    let (_, flow) = public_get(&server, "/self-service/registration/api", None).await;
    let path = format!(
        "/self-service/registration?flow={}",
        flow["id"].as_str().unwrap()
    );
    let body = json!({"method": "password", "password": password, "traits": {"email": email}});
    assert_eq!(public_post(&server, &path, body).await.0, 200);
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    let path = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    let wrong = json!({"method": "password", "identifier": email, "password": "not it at all"});
    assert_eq!(public_post(&server, &path, wrong).await.0, 400);
    let right = json!({"method": "password", "identifier": email, "password": password});
    assert_eq!(public_post(&server, &path, right).await.0, 200);
    let after = scrape(&server).await;

    let moved = |series: &str, by: f64| {
        let delta = value(&after, series) - value(&before, series);
        assert_eq!(delta, by, "{series}\n{after}");
    };
    moved(r#"bia_flows_created_total{flow="login",type="api"}"#, 1.0);
    moved(
        r#"bia_flow_submissions_total{flow="login",result="success"}"#,
        1.0,
    );
    moved(
        r#"bia_flow_submissions_total{flow="login",result="invalid"}"#,
        1.0,
    );
    moved(
        r#"bia_flow_submissions_total{flow="registration",result="success"}"#,
        1.0,
    );
    moved(
        r#"http_requests_total{listener="public",method="POST",route="/self-service/login",status="200"}"#,
        1.0,
    );
    moved(
        r#"http_request_duration_seconds_count{listener="public",method="POST",route="/self-service/login"}"#,
        2.0,
    );
    // Ids in paths never become series of their own: the route template does.
    assert!(!after.contains(flow["id"].as_str().unwrap()));
    assert!(
        after.contains(r#"bia_db_pool_connections{state="idle"}"#),
        "{after}"
    );
    assert!(after.contains("bia_hash_pool_jobs 0"), "{after}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_a_request_id() {
    let server = TestServer::start(Kind::Sqlite).await;
    let response = server
        .http
        .get(format!("{}/health/alive", server.public))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let response = server
        .http
        .get(format!("{}/sessions/whoami", server.public))
        .header("X-Request-Id", "trace-me-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "trace-me-7");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_refusals_are_counted() {
    let server = TestServer::start_with(
        Kind::Sqlite,
        json!({"throttle": {"per_identifier": {"max_attempts": 1, "window": "5m"}}}),
    )
    .await;
    let series = r#"bia_throttle_refusals_total{check="identifier"}"#;
    let before = value(&scrape(&server).await, series);
    let wrong = json!({"method": "password", "identifier": "nobody@example.test",
                       "password": "not the password"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
        let path = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
        statuses.push(public_post(&server, &path, wrong.clone()).await.0);
    }
    assert_eq!(statuses, [400, 429, 429]);
    assert_eq!(value(&scrape(&server).await, series) - before, 2.0);
    server.stop().await;
}
