//! The `bia-operator` binary: leader election, controllers, metrics and health endpoints.
//!
//! Environment: `WATCH_NAMESPACE` (one namespace; unset watches the cluster),
//! `POD_NAME`/`POD_NAMESPACE` (Lease identity and namespace), `LEADER_ELECTION`
//! (`false` to disable), `LISTEN_ADDR` (default `0.0.0.0:8080`), `RUST_LOG`,
//! `LOG_FORMAT=json`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bia_operator::controller::Context;
use bia_operator::leader::{self, LeaseConfig};
use bia_operator::{http, run};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    if env("LOG_FORMAT").as_deref() == Some("json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client config")?;
    let pod = env("POD_NAME");
    let namespace = env("WATCH_NAMESPACE");
    let mut ctx = Context::new(client.clone(), pod.clone());
    ctx.cluster_wide = namespace.is_none();
    let ctx = Arc::new(ctx);

    let addr = env("LISTEN_ADDR").unwrap_or_else(|| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let router = http::router(ctx.metrics.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });

    if env("LEADER_ELECTION").as_deref() == Some("false") {
        ctx.metrics
            .leader
            .store(1, std::sync::atomic::Ordering::Relaxed);
        run::run_controllers(ctx, namespace).await;
        return Ok(());
    }
    let lease = LeaseConfig {
        namespace: env("POD_NAMESPACE")
            .or_else(|| namespace.clone())
            .unwrap_or_else(|| "default".into()),
        name: "bia-operator-leader".into(),
        holder: pod.unwrap_or_else(|| format!("bia-operator-{}", std::process::id())),
        duration: Duration::from_secs(15),
        renew_every: Duration::from_secs(5),
    };
    tracing::info!(holder = %lease.holder, "waiting for the leader Lease");
    leader::acquire(&client, &lease).await;
    tracing::info!("leading");
    ctx.metrics
        .leader
        .store(1, std::sync::atomic::Ordering::Relaxed);
    tokio::select! {
        () = run::run_controllers(ctx.clone(), namespace) => Ok(()),
        () = leader::keep(&client, &lease) => {
            anyhow::bail!("lost the leader Lease; exiting so that the other replica leads")
        }
    }
}
