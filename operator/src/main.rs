//! The `bia-operator` binary: leader election, controllers, metrics and health endpoints;
//! `bia-operator render -f FILE...` shows what it would do with resources, without a cluster.
//!
//! Environment of the controllers: `WATCH_NAMESPACE` (one namespace; unset watches the cluster),
//! `POD_NAME`/`POD_NAMESPACE` (Lease identity and namespace), `LEADER_ELECTION`
//! (`false` to disable), `LISTEN_ADDR` (default `0.0.0.0:8080`), `RUST_LOG`,
//! `LOG_FORMAT=json`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bia_operator::capabilities::ServerCapabilities;
use bia_operator::controller::Context;
use bia_operator::leader::{self, LeaseConfig};
use bia_operator::offline::{Bundle, render_bundle};
use bia_operator::{http, run};
use clap::{Parser, Subcommand};

/// Runs Bia identity servers on Kubernetes from custom resources.
#[derive(Parser)]
#[command(name = "bia-operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers (the default).
    Run,
    /// Print what the operator would apply for the resources in FILEs, and the status it
    /// would write on each, without a cluster. Exits 1 when the operator would refuse
    /// anything (the refusals go to standard error).
    Render {
        /// YAML file(s) with IdentityServer, IdentitySchema, OIDCProvider, CourierTemplate
        /// and Secret documents; a directory reads its .yaml/.yml/.json files; `-` reads
        /// standard input.
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Namespace of objects that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Fail also on valid resources this server version cannot act on.
        #[arg(long)]
        strict: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(Command::Render {
            files,
            namespace,
            strict,
        }) => render(&files, &namespace, strict),
        None | Some(Command::Run) => match controllers() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn render(files: &[PathBuf], namespace: &str, strict: bool) -> ExitCode {
    let bundle = match Bundle::read_paths(files, namespace) {
        Ok(bundle) => bundle,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for skipped in &bundle.skipped {
        eprintln!("skipped: {skipped} (not read by the operator)");
    }
    let report = render_bundle(&bundle, ServerCapabilities::CURRENT);
    print!("{}", report.yaml);
    for line in &report.unsupported {
        eprintln!("unsupported: {line}");
    }
    for line in &report.errors {
        eprintln!("refused: {line}");
    }
    if !report.errors.is_empty() || (strict && !report.unsupported.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn controllers() -> anyhow::Result<()> {
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
