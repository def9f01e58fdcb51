//! Leader election against the fake API server: two replicas, one Lease.

use std::time::Duration;

use bia_operator::leader::{Attempt, LeaseConfig, try_acquire};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::fake_api::Fake;

fn config(holder: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: "identity".into(),
        name: "bia-operator-leader".into(),
        holder: holder.into(),
        duration: Duration::from_secs(15),
        renew_every: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn one_leader_at_a_time_and_takeover_after_expiry() {
    tokio::time::timeout(Duration::from_secs(10), async {
        let fake = Fake::new();
        let client = fake.client();
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(
            try_acquire(&client, &config("a"), t0).await.unwrap(),
            Attempt::Held
        );
        assert_eq!(
            try_acquire(&client, &config("b"), t0 + SignedDuration::from_secs(5))
                .await
                .unwrap(),
            Attempt::Taken
        );
        // The holder renews.
        assert_eq!(
            try_acquire(&client, &config("a"), t0 + SignedDuration::from_secs(10))
                .await
                .unwrap(),
            Attempt::Held
        );
        assert_eq!(
            try_acquire(&client, &config("b"), t0 + SignedDuration::from_secs(20))
                .await
                .unwrap(),
            Attempt::Taken
        );
        // The holder stops renewing: after the Lease duration the other replica takes over.
        assert_eq!(
            try_acquire(&client, &config("b"), t0 + SignedDuration::from_secs(30))
                .await
                .unwrap(),
            Attempt::Held
        );
        assert_eq!(
            try_acquire(&client, &config("a"), t0 + SignedDuration::from_secs(31))
                .await
                .unwrap(),
            Attempt::Taken
        );
        let lease: k8s_openapi::api::coordination::v1::Lease =
            fake.get("identity", "bia-operator-leader").unwrap();
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(1));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn metrics_endpoint_speaks_prometheus() {
    use std::sync::Arc;
    let metrics = Arc::new(bia_operator::metrics::Metrics::default());
    metrics.servers.observe(1500, false);
    metrics.servers.observe(500, true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, bia_operator::http::router(metrics)).into_future());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(
        text.contains("bia_operator_reconciliations_total{kind=\"IdentityServer\"} 2"),
        "{text}"
    );
    assert!(text.contains("bia_operator_reconcile_failures_total{kind=\"IdentityServer\"} 1"));
}
