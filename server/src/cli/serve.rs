//! `bia serve`: load the configuration, set up logging, run until SIGTERM or Ctrl-C.

use anyhow::Result;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use bia_server::app::{App, ServeOptions};
use bia_server::config::{self, Mode};
use bia_server::store::DRIVER_LOG_FILTER;
use bia_server::telemetry::Telemetry;

use super::ServeArgs;

pub async fn run(args: ServeArgs) -> Result<()> {
    let mode = Mode { dev: args.dev };
    let loaded = config::load(&args.config, bia_config::env::process_vars(), mode)?;
    let telemetry = init_logging(&loaded.config)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if args.dev && loaded.config.secrets.cookie_secrets().is_empty() {
        tracing::warn!("no cookie secret configured; --dev uses a per-process one");
    }
    let options = ServeOptions {
        dev: args.dev,
        watch_courier: args.watch_courier,
        cleanup_every: args.cleanup_every.map(|every| every.0),
    };
    let app = App::build(loaded.config, options).await?;
    app.watch_config(args.config.clone(), mode);
    app.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    if let Some(telemetry) = telemetry {
        // The exporter blocks while it flushes; keep it off the runtime.
        let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    }
    Ok(())
}

/// Logs to stderr (plain or JSON, at `log.level`), and exports request
/// traces when `tracing.provider` is `otel`; the returned exporter is flushed
/// at shutdown.
pub(super) fn init_logging(config: &config::Config) -> Result<Option<Telemetry>> {
    let level = config.log.level.as_deref().unwrap_or("info");
    let level = match level {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        other => other,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},{DRIVER_LOG_FILTER},tower_http=info")));
    let telemetry = Telemetry::from_config(&config.tracing)?;
    let json = config.log.format.as_deref() == Some("json");
    let plain = (!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let json = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(plain)
        .with(json)
        .with(telemetry.as_ref().map(|t| t.layer()))
        .try_init();
    Ok(telemetry)
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
