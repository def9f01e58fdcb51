//! `bia cleanup sql` on every backend: expired flows and sessions go, batch by
//! batch; what is still valid, or expired within `--keep-last`, stays.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::native_flows::{public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};

fn cleanup(dsn: &str, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_bia"))
        .args(["cleanup", "sql", dsn])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn expired_rows_are_removed(kind: Kind) {
    let config = json!({
        "selfservice": {"flows": {"login": {"lifespan": "1s"}}},
        "session": {"lifespan": "1s"}
    });
    let server = TestServer::start_with(kind, config).await;
    let body = register(&server, "janitor@example.com", "a passphrase to clean").await;
    let identity = body["identity"]["id"].as_str().unwrap().to_owned();
    let mut expired = Vec::new();
    for _ in 0..3 {
        let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
        expired.push(flow["id"].as_str().unwrap().to_owned());
    }
    // An expiring session token exchange goes with its flow's lifespan.
    let exchange = "/self-service/login/api?return_session_token_exchange_code=true";
    let (status, flow) = public_get(&server, exchange, None).await;
    assert!(
        flow["session_token_exchange_code"].is_string(),
        "{status} {flow}"
    );
    expired.push(flow["id"].as_str().unwrap().to_owned());
    let (_, fresh) = public_get(&server, "/self-service/registration/api", None).await;
    let fresh = fresh["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let dsn = server.db.as_ref().unwrap().dsn.clone();

    // Expired only two seconds ago: kept with --keep-last.
    let report = cleanup(&dsn, &["--keep-last", "1h"]);
    assert!(report.contains("Deleted 0 expired flows."), "{report}");
    assert!(
        report.contains("Deleted 0 expired token_exchanges."),
        "{report}"
    );
    let sessions = format!("/admin/identities/{identity}/sessions");
    assert_eq!(server.get(&sessions).await.1.as_array().unwrap().len(), 1);

    // Batches of one: every expired row goes, the valid flow stays.
    let report = cleanup(&dsn, &["--batch-size", "1"]);
    assert!(report.contains("Deleted 4 expired flows."), "{report}");
    assert!(
        report.contains("Deleted 1 expired token_exchanges."),
        "{report}"
    );
    assert!(report.contains("Deleted 1 expired sessions."), "{report}");
    assert!(report.contains("expired errors."), "{report}");
    for id in &expired {
        let (status, _) =
            public_get(&server, &format!("/self-service/login/flows?id={id}"), None).await;
        assert_eq!(status, 404, "flow {id} is gone");
    }
    let (status, _) = public_get(
        &server,
        &format!("/self-service/registration/flows?id={fresh}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(server.get(&sessions).await.1, json!([]));
    let (status, _) = server.get(&format!("/admin/identities/{identity}")).await;
    assert_eq!(status, 200, "identities are never cleaned up");
    server.stop().await;
}

/// `serve --cleanup-every`: the server's own janitor removes expired flows
/// and sessions while it serves; valid ones stay.
async fn the_janitor_removes_expired_rows_while_serving(kind: Kind) {
    let config = json!({
        "selfservice": {"flows": {"login": {"lifespan": "1s"}}},
        "session": {"lifespan": "1s"}
    });
    let options = bia_server::app::ServeOptions {
        cleanup_every: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let server = TestServer::start_with_options(kind, config, options).await;
    let body = register(&server, "janitor@example.com", "a passphrase to clean").await;
    let identity = body["identity"]["id"].as_str().unwrap().to_owned();
    let mut expired = Vec::new();
    for _ in 0..3 {
        let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
        expired.push(flow["id"].as_str().unwrap().to_owned());
    }
    let (_, fresh) = public_get(&server, "/self-service/registration/api", None).await;
    let fresh = fresh["id"].as_str().unwrap().to_owned();
    let sessions = format!("/admin/identities/{identity}/sessions");
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut statuses = Vec::new();
        for id in &expired {
            let path = format!("/self-service/login/flows?id={id}");
            statuses.push(public_get(&server, &path, None).await.0);
        }
        if statuses.iter().all(|s| *s == 404) && server.get(&sessions).await.1 == json!([]) {
            gone = true;
            break;
        }
    }
    assert!(
        gone,
        "expired flows and sessions are still there after 10 s"
    );
    let path = format!("/self-service/registration/flows?id={fresh}");
    assert_eq!(public_get(&server, &path, None).await.0, 200);
    let (status, _) = server.get(&format!("/admin/identities/{identity}")).await;
    assert_eq!(status, 200, "identities are never cleaned up");
    server.stop().await;
}

on_every_backend!(the_janitor_removes_expired_rows_while_serving);

#[test]
fn bad_flags_are_refused() {
    for args in [
        vec![
            "cleanup",
            "sql",
            "sqlite:///tmp/x.db",
            "--keep-last",
            "soon",
        ],
        vec!["cleanup", "sql", "sqlite:///tmp/x.db", "--batch-size", "0"],
        vec!["cleanup", "sql", "memory"],
        vec!["cleanup", "sql"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_bia"))
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
    }
}

on_every_backend!(expired_rows_are_removed);

#[test]
fn a_janitor_interval_below_a_second_is_refused() {
    for interval in ["10ms", "0s", "soon"] {
        let output = Command::new(env!("CARGO_BIN_EXE_bia"))
            .args(["serve", "--dev", "--cleanup-every", interval])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{interval}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--cleanup-every"), "{stderr}");
    }
}
