//! `bia courier watch`: runs the courier worker alone, until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;

use bia_server::config::{self, Mode};
use bia_server::store::{Database, Dsn};
use bia_server::time::SystemClock;

/// Options of `courier watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Config file(s); later files override earlier ones.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Accepted for compatibility; metrics are served by `serve` only.
    #[arg(long, hide = true)]
    expose_metrics_port: Option<u16>,
}

/// Runs `courier watch`.
pub async fn watch(args: WatchArgs) -> Result<()> {
    let loaded = config::load(
        &args.config,
        bia_config::env::process_vars(),
        Mode { dev: true },
    )?;
    let _telemetry = super::serve::init_logging(&loaded.config)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if args.expose_metrics_port.is_some() {
        tracing::warn!("--expose-metrics-port: not served by `courier watch`; ignored");
    }
    let dsn = Dsn::parse(loaded.config.dsn())?;
    if dsn.is_memory() {
        bail!("an in-memory database lives inside one server; run `bia serve --watch-courier`");
    }
    let db = Database::connect(&dsn)
        .await
        .context("connecting to the database")?;
    if !db.is_migrated().await? {
        bail!("migrations are pending; run `bia migrate sql -e --yes` first");
    }
    let worker = bia_server::courier::worker_from_config(
        &loaded.config.courier,
        db.clone(),
        Arc::new(SystemClock),
    )
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        super::serve::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    worker.run(stop_rx).await;
    db.close().await;
    Ok(())
}
