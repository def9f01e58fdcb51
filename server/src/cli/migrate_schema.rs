//! `bia identities migrate-schema`: drives `POST /admin/bia/schema-migrations`
//! batch after batch until every identity has moved or failed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use super::Endpoint;
use super::client::{base_url, client, error_text};

/// Passes over the source schema at most (a pass takes what the one before
/// skipped because it changed meanwhile).
const MAX_PASSES: u32 = 5;

/// Retries of a batch the server answered 503 (busy evaluator, database).
const MAX_RETRIES: u32 = 5;

/// Failures printed at most.
const MAX_PRINTED: usize = 100;

/// Options of `identities migrate-schema`.
#[derive(Debug, Args)]
pub struct MigrateSchemaArgs {
    /// The schema the identities are on.
    #[arg(long)]
    from: String,
    /// The schema they move to.
    #[arg(long)]
    to: String,
    /// A Jsonnet file, `function(ctx) { traits: ... }` over `ctx.identity`;
    /// without it the traits are kept.
    #[arg(long)]
    transform: Option<PathBuf>,
    /// Evaluate and validate only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Identities per request, 1 to 1000.
    #[arg(long, default_value_t = 500)]
    batch_size: u32,
    #[command(flatten)]
    endpoint: Endpoint,
}

/// Totals of one pass.
#[derive(Debug, Default)]
struct Pass {
    examined: u64,
    migrated: u64,
    skipped: u64,
    failed_count: u64,
    failed: Vec<Value>,
}

/// Runs the migration; an error (non-zero exit) when identities failed.
pub async fn run(args: MigrateSchemaArgs) -> Result<()> {
    let transform = match &args.transform {
        Some(file) => Some(
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        ),
        None => None,
    };
    let mut last = Pass::default();
    for number in 1..=MAX_PASSES {
        last = run_pass(&args, transform.as_deref(), number).await?;
        if args.dry_run || last.skipped == 0 {
            break;
        }
    }
    report(&args, &last)
}

async fn run_pass(args: &MigrateSchemaArgs, transform: Option<&str>, number: u32) -> Result<Pass> {
    let mut pass = Pass::default();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({
            "from_schema_id": args.from,
            "to_schema_id": args.to,
            "dry_run": args.dry_run,
            "batch_size": args.batch_size,
            "after": after,
        });
        if let Some(transform) = transform {
            body["transform"] = json!(transform);
        }
        let batch = post_batch(&args.endpoint, &body).await?;
        pass.add(&batch);
        eprintln!(
            "pass {number}: examined {}, migrated {}, skipped {}, failed {}, remaining {}",
            pass.examined,
            pass.migrated,
            pass.skipped,
            pass.failed_count,
            batch["remaining"].as_u64().unwrap_or(0)
        );
        match batch["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return Ok(pass),
        }
    }
}

/// One batch, retried while the server answers 503.
async fn post_batch(endpoint: &Endpoint, body: &Value) -> Result<Value> {
    let url = format!("{}/admin/bia/schema-migrations", base_url(endpoint)?);
    let http = client()?;
    let mut attempt = 0;
    loop {
        let response = http
            .post(&url)
            .json(body)
            .send()
            .await
            .context("calling the admin API")?;
        if response.status().is_success() {
            return Ok(response.json().await?);
        }
        attempt += 1;
        if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || attempt > MAX_RETRIES {
            bail!("migration failed: {}", error_text(response).await);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Pass {
    fn add(&mut self, batch: &Value) {
        let count = |key: &str| batch[key].as_u64().unwrap_or(0);
        self.examined += count("examined");
        self.migrated += count("migrated");
        self.skipped += count("skipped");
        self.failed_count += count("failed_count");
        for failure in batch["failed"].as_array().into_iter().flatten() {
            if self.failed.len() < MAX_PRINTED {
                self.failed.push(failure.clone());
            }
        }
    }
}

fn report(args: &MigrateSchemaArgs, pass: &Pass) -> Result<()> {
    let verb = if args.dry_run {
        "would migrate"
    } else {
        "migrated"
    };
    if args.endpoint.format == "table" {
        for failure in &pass.failed {
            println!(
                "{}\t{}",
                failure["identity_id"].as_str().unwrap_or_default(),
                failure["reason"].as_str().unwrap_or_default()
            );
        }
    } else {
        let summary = json!({
            "dry_run": args.dry_run, "examined": pass.examined, "migrated": pass.migrated,
            "skipped": pass.skipped, "failed_count": pass.failed_count, "failed": pass.failed,
        });
        super::client::print(&summary, &args.endpoint.format)?;
    }
    eprintln!(
        "{verb} {} of {} identities from {:?} to {:?}; {} failed, {} changed meanwhile",
        pass.migrated, pass.examined, args.from, args.to, pass.failed_count, pass.skipped
    );
    if pass.failed_count > 0 {
        bail!("{} identities stay on {:?}", pass.failed_count, args.from);
    }
    Ok(())
}
