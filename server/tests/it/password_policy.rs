//! The password policy (breached passwords through a local range API, similarity
//! to identifiers, lookup failures) and the throttling of sign-ins, over HTTP
//! on every backend.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use bia_server::policy::breach::sha1_hex;

use crate::native_flows::{login, public_get, public_post, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, split};

/// What the local range API saw.
#[derive(Default)]
struct Seen {
    prefixes: Vec<String>,
    unpadded: usize,
}

/// A stand-in for the Have I Been Pwned range API on a loopback port.
struct PwnedApi {
    base_url: String,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Clone)]
struct PwnedState {
    breached: Arc<Vec<(String, u64)>>,
    seen: Arc<Mutex<Seen>>,
}

async fn range(
    State(state): State<PwnedState>,
    Path(prefix): Path<String>,
    headers: HeaderMap,
) -> String {
    {
        let mut seen = state.seen.lock().unwrap();
        seen.prefixes.push(prefix.clone());
        if headers.get("add-padding").and_then(|v| v.to_str().ok()) != Some("true") {
            seen.unpadded += 1;
        }
    }
    let mut body = String::new();
    for (digest, count) in state.breached.iter() {
        if let Some(suffix) = digest.strip_prefix(&prefix) {
            body.push_str(&format!("{suffix}:{count}\r\n"));
        }
    }
    // Padding lines, as the real API adds them.
    for n in 0..5 {
        body.push_str(&format!("{n:035X}:0\r\n"));
    }
    body
}

impl PwnedApi {
    async fn start(breached: &[(&str, u64)]) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = PwnedState {
            breached: Arc::new(
                breached
                    .iter()
                    .map(|(password, count)| (sha1_hex(password), *count))
                    .collect(),
            ),
            seen: seen.clone(),
        };
        let app = axum::Router::new()
            .route("/range/{prefix}", axum::routing::get(range))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base_url, seen }
    }

    fn prefixes(&self) -> Vec<String> {
        self.seen.lock().unwrap().prefixes.clone()
    }
}

fn password_config(config: Value) -> Value {
    json!({"selfservice": {"methods": {"password": {"config": config}}}})
}

/// Submits a registration and returns the status and body.
async fn try_register(server: &TestServer, email: &str, password: &str) -> (u16, Value) {
    let (_, flow) = public_get(server, "/self-service/registration/api", None).await;
    let id = flow["id"].as_str().unwrap();
    public_post(
        server,
        &format!("/self-service/registration?flow={id}"),
        json!({"method": "password", "password": password, "traits": {"email": email}}),
    )
    .await
}

fn password_message(flow: &Value) -> &Value {
    let node = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "password")
        .unwrap_or_else(|| panic!("no password node in {flow}"));
    &node["messages"][0]
}

async fn breached_passwords_are_refused(kind: Kind) {
    let pwned = PwnedApi::start(&[("breached-but-long", 42), ("seen-only-twice", 2)]).await;
    let server = TestServer::start_with(
        kind,
        password_config(json!({
            "haveibeenpwned_enabled": true,
            "haveibeenpwned_host": pwned.base_url,
            "max_breaches": 1
        })),
    )
    .await;
    let (status, body) = try_register(&server, "one@example.org", "breached-but-long").await;
    assert_eq!(status, 400, "{body}");
    let message = password_message(&body);
    assert_eq!(message["id"], 4000034, "{body}");
    assert_eq!(
        message["text"],
        "The password has been found in data breaches and must no longer be used."
    );
    assert_eq!(message["context"]["breaches"], 42);
    // Over max_breaches (1) is refused too; unknown passwords pass.
    let (status, body) = try_register(&server, "one@example.org", "seen-only-twice").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(password_message(&body)["context"]["breaches"], 2);
    register(&server, "one@example.org", "never seen anywhere").await;

    // Only five-character prefixes of the SHA-1 left the server, padded.
    let prefixes = pwned.prefixes();
    assert_eq!(prefixes.len(), 3, "{prefixes:?}");
    assert_eq!(prefixes[0], sha1_hex("breached-but-long")[..5]);
    assert!(
        prefixes
            .iter()
            .all(|p| p.len() == 5 && p.chars().all(|c| c.is_ascii_hexdigit())),
        "{prefixes:?}"
    );
    assert_eq!(pwned.seen.lock().unwrap().unpadded, 0);
    // Counts are cached: the same password again costs no lookup.
    let (status, _) = try_register(&server, "two@example.org", "breached-but-long").await;
    assert_eq!(status, 400);
    assert_eq!(pwned.prefixes().len(), 3);
    server.stop().await;
}

async fn passwords_like_the_identifier_are_refused(kind: Kind) {
    let server = TestServer::start(kind).await;
    for password in [
        "Jane.Doe@Example.org",
        "jane.doe@example.org!",
        "jane.doe2024",
    ] {
        let (status, body) = try_register(&server, "jane.doe@example.org", password).await;
        assert_eq!(status, 400, "{body}");
        let message = password_message(&body);
        assert_eq!(message["id"], 4000031, "{password}: {body}");
        assert_eq!(
            message["text"],
            "The password can not be used because it is too similar to the identifier."
        );
    }
    register(&server, "jane.doe@example.org", "violet staircase 7").await;

    // The check can be turned off.
    let off = TestServer::start_with(
        kind,
        password_config(json!({"identifier_similarity_check_enabled": false})),
    )
    .await;
    register(&off, "jane.doe@example.org", "jane.doe@example.org!").await;
    server.stop().await;
    off.stop().await;
}

async fn lookup_failures_follow_ignore_network_errors(kind: Kind) {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let ignoring = TestServer::start_with(
        kind,
        password_config(json!({"haveibeenpwned_enabled": true, "haveibeenpwned_host": base_url})),
    )
    .await;
    register(&ignoring, "ok@example.org", "violet staircase 7").await;
    ignoring.stop().await;

    let strict = TestServer::start_with(
        kind,
        password_config(json!({
            "haveibeenpwned_enabled": true,
            "haveibeenpwned_host": base_url,
            "ignore_network_errors": false
        })),
    )
    .await;
    let (status, body) = try_register(&strict, "ok@example.org", "violet staircase 7").await;
    assert_eq!(status, 400, "{body}");
    let message = password_message(&body);
    assert_eq!(message["id"], 4000005, "{body}");
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .starts_with("The password can not be used because "),
        "{message}"
    );
    // Nothing was created.
    let (_, list) = strict
        .get("/admin/identities?credentials_identifier=ok@example.org")
        .await;
    assert_eq!(list, json!([]));
    strict.stop().await;
}

/// Logs in from a given client address.
async fn login_from(
    server: &TestServer,
    ip: &str,
    identifier: &str,
    password: &str,
) -> (u16, Value, Option<String>) {
    let (_, flow) = public_get(server, "/self-service/login/api", None).await;
    let id = flow["id"].as_str().unwrap();
    let response = server
        .http
        .post(format!("{}/self-service/login?flow={id}", server.public))
        .header("X-Forwarded-For", ip)
        .json(&json!({"method": "password", "identifier": identifier, "password": password}))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = split(response).await;
    (status, body, retry_after)
}

fn assert_throttled(status: u16, body: &Value, retry_after: Option<&str>, at_most: u64) {
    assert_error(status, body, 429);
    let seconds: u64 = retry_after
        .unwrap_or_else(|| panic!("no Retry-After: {body}"))
        .parse()
        .unwrap();
    assert!((1..=at_most).contains(&seconds), "{seconds}");
}

async fn sign_ins_are_throttled(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({
            "serve": {"public": {"trusted_proxies": ["127.0.0.1"]}},
            "throttle": {
                "per_identifier": {"max_attempts": 3, "window": "5m"},
                "per_ip": {"max_attempts": 20, "window": "1h"}
            }
        }),
    )
    .await;
    register(&server, "known@example.org", "long enough secret").await;
    let ip = "192.0.2.1";

    // Three failures per identifier, then 429, known or not, with the same answer.
    let mut refusals = Vec::new();
    for identifier in ["known@example.org", "nobody@example.org"] {
        for _ in 0..3 {
            let (status, body, _) = login_from(&server, ip, identifier, "wrong password!").await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["ui"]["messages"][0]["id"], 4000006);
        }
        let (status, body, retry_after) =
            login_from(&server, ip, identifier, "wrong password!").await;
        assert_throttled(status, &body, retry_after.as_deref(), 100);
        refusals.push(body);
    }
    assert_eq!(refusals[0], refusals[1]);
    // The right password does not get through either, in any case of the identifier.
    let (status, body, _) =
        login_from(&server, ip, "KNOWN@example.org", "long enough secret").await;
    assert_error(status, &body, 429);

    // A success does not count, nor does it wipe earlier failures.
    register(&server, "other@example.org", "long enough secret").await;
    for _ in 0..2 {
        let (status, _, _) = login_from(&server, ip, "other@example.org", "wrong password!").await;
        assert_eq!(status, 400);
    }
    for _ in 0..3 {
        let (status, body, _) =
            login_from(&server, ip, "other@example.org", "long enough secret").await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, _) = login_from(&server, ip, "other@example.org", "wrong password!").await;
    assert_eq!(status, 400);
    let (status, _, _) = login_from(&server, ip, "other@example.org", "wrong password!").await;
    assert_eq!(status, 429);

    // Parallel guesses cannot race past the limit.
    let guesses = (0..8).map(|_| login_from(&server, "192.0.2.50", "race@example.org", "guess!!!"));
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|(status, _, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );

    // Every attempt counts per address: 20 an hour, one more every 3 minutes.
    let busy = "198.51.100.9";
    for n in 0..20 {
        let (status, body, _) = login_from(
            &server,
            busy,
            &format!("user{n}@example.org"),
            "wrong password!",
        )
        .await;
        assert_eq!(status, 400, "attempt {n}: {body}");
    }
    let (status, body, retry_after) =
        login_from(&server, busy, "known-not@example.org", "whatever1").await;
    assert_throttled(status, &body, retry_after.as_deref(), 180);
    // Another address is not affected.
    let (status, _, _) =
        login_from(&server, "198.51.100.10", "user0@example.org", "x1234567").await;
    assert_eq!(status, 400);
    server.stop().await;
}

async fn forwarded_addresses_need_a_trusted_proxy(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"throttle": {"per_ip": {"max_attempts": 2, "window": "1h"}}}),
    )
    .await;
    // Without a trusted proxy, a client cannot pose as many addresses.
    for (n, ip) in ["203.0.113.1", "203.0.113.2"].iter().enumerate() {
        let (status, body, _) = login_from(
            &server,
            ip,
            &format!("spoof{n}@example.org"),
            "wrong password!",
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, body, _) = login_from(
        &server,
        "203.0.113.3",
        "spoof9@example.org",
        "wrong password!",
    )
    .await;
    assert_eq!(status, 429, "{body}");
    server.stop().await;
}

async fn throttling_can_be_disabled(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"throttle": {"enabled": false, "per_identifier": {"max_attempts": 1}}}),
    )
    .await;
    for _ in 0..3 {
        let (status, body) = login(&server, "nobody@example.org", "wrong password!").await;
        assert_eq!(status, 400, "{body}");
    }
    server.stop().await;
}

on_every_backend!(
    forwarded_addresses_need_a_trusted_proxy,
    breached_passwords_are_refused,
    passwords_like_the_identifier_are_refused,
    lookup_failures_follow_ignore_network_errors,
    sign_ins_are_throttled,
    throttling_can_be_disabled,
);
