//! `bia cleanup sql`: deletes expired flows, error records, sessions and session token exchanges, with
//! Kratos's flags.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use bia_server::cleanup::{self, CleanupPlan};
use bia_server::hash::GoDuration;
use bia_server::store::{Database, Dsn, SqlCleanupStore};

/// Options of `cleanup sql`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The DSN (or use -e / -c).
    #[arg(value_name = "DSN")]
    dsn: Option<String>,
    /// Read the DSN from the DSN environment variable.
    #[arg(short = 'e', long = "read-from-env")]
    from_env: bool,
    /// Config file(s) to read the DSN from.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Keep what expired less than this long ago (a Go duration, e.g. `6h`).
    #[arg(long, default_value = "0s", value_parser = GoDuration::parse)]
    keep_last: GoDuration,
    /// Rows deleted per statement.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
    /// Pause between batches (a Go duration).
    #[arg(long, default_value = "0s", value_parser = GoDuration::parse)]
    sleep: GoDuration,
}

/// Runs `cleanup sql`.
pub async fn run(args: CleanupArgs) -> Result<()> {
    let dsn = super::resolve_dsn(args.dsn, args.from_env, &args.config)?;
    let dsn = Dsn::parse(&dsn)?;
    if dsn.is_memory() {
        bail!("an in-memory database lives inside the server; there is nothing to clean up");
    }
    let db = Database::connect(&dsn)
        .await
        .context("connecting to the database")?;
    let plan = CleanupPlan {
        keep_last: args.keep_last.0,
        batch_size: args.batch_size,
        sleep: args.sleep.0,
    };
    let store = SqlCleanupStore::new(db.clone());
    let report = cleanup::run(&store, chrono::Utc::now(), plan).await;
    db.close().await;
    for (kind, deleted) in report?.deleted {
        println!("Deleted {deleted} expired {}.", kind.as_str());
    }
    Ok(())
}
