//! Command-line interface: argument types and dispatch.

mod cleanup;
mod client;
mod courier;
mod migrate_schema;
mod serve;
mod validate;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use bia_server::config::{self, Mode};
use bia_server::store::{Database, Dsn};

/// Bia: identity and user management speaking the Kratos API.
#[derive(Debug, Parser)]
#[command(name = "bia", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the public and admin API servers.
    Serve(ServeArgs),
    /// Manage the database.
    Migrate {
        #[command(subcommand)]
        what: MigrateCommand,
    },
    /// Print the version.
    Version,
    /// Import resources through the admin API.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// List resources through the admin API.
    List {
        #[command(subcommand)]
        what: ListCommand,
    },
    /// Get resources through the admin API.
    Get {
        #[command(subcommand)]
        what: GetCommand,
    },
    /// Delete resources through the admin API.
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
    },
    /// Password hasher tools.
    Hashers {
        #[command(subcommand)]
        what: HashersCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Deliver queued messages (email, SMS).
    Courier {
        #[command(subcommand)]
        what: CourierCommand,
    },
    /// Remove expired data.
    Cleanup {
        #[command(subcommand)]
        what: CleanupCommand,
    },
    /// Work on identities in bulk through the admin API.
    Identities {
        #[command(subcommand)]
        what: IdentitiesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum IdentitiesCommand {
    /// Move the identities of one schema to another, batch after batch, with
    /// an optional Jsonnet transform of their traits; exits non-zero when
    /// some identities could not be migrated (they stay on the old schema).
    MigrateSchema(migrate_schema::MigrateSchemaArgs),
}

#[derive(Debug, Subcommand)]
enum CourierCommand {
    /// Run the courier worker alone: pull queued messages and deliver them.
    Watch(courier::WatchArgs),
}

#[derive(Debug, Subcommand)]
enum CleanupCommand {
    /// Delete expired flows, error records, sessions and session token exchanges from the database.
    Sql(cleanup::CleanupArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load config files exactly as `serve` does and report every problem with
    /// its key; exits non-zero on errors (and, with --strict, on unsupported keys).
    Validate(validate::ValidateArgs),
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file(s); later files override earlier ones.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
    /// Development mode: plain-HTTP cookies, migrations at start, no cookie secret required.
    #[arg(long)]
    pub dev: bool,
    /// Run the courier worker in this process.
    #[arg(long)]
    pub watch_courier: bool,
    /// Delete expired flows, error records, sessions and session token exchanges at this interval (a
    /// Go duration, e.g. `10m`), as `bia cleanup sql` does; off by default.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub cleanup_every: Option<bia_server::hash::GoDuration>,
    /// Accepted for compatibility; this server sends no telemetry.
    #[arg(long, hide = true)]
    pub sqa_opt_out: bool,
}

/// A janitor interval: a Go duration of at least one second.
fn parse_interval(text: &str) -> Result<bia_server::hash::GoDuration, String> {
    let parsed = bia_server::hash::GoDuration::parse(text)?;
    if parsed.0 < std::time::Duration::from_secs(1) {
        return Err("the interval must be at least 1s".into());
    }
    Ok(parsed)
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Apply, revert or list SQL migrations.
    Sql(MigrateArgs),
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// `[up|down|status] [DSN]`: the action (default `up`) and the DSN (or use -e / -c).
    #[arg(num_args = 0..=2, value_name = "ACTION|DSN")]
    positional: Vec<String>,
    /// Read the DSN from the DSN environment variable.
    #[arg(short = 'e', long = "read-from-env")]
    from_env: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Config file(s) to read the DSN from.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// With `down`: revert every migration.
    #[arg(long)]
    all: bool,
}

/// Where the admin API is.
#[derive(Debug, Args)]
pub struct Endpoint {
    /// Admin API URL (or KRATOS_ADMIN_URL / BIA_ADMIN_URL).
    #[arg(short = 'e', long = "endpoint")]
    pub endpoint: Option<String>,
    /// Output format: `table` or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "json-pretty"])]
    pub format: String,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import identities from JSON files (an object or a list each; `-` reads standard input).
    Identities {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Debug, Subcommand)]
enum ListCommand {
    /// List identities, one page at a time.
    Identities {
        /// Identities per page.
        #[arg(long, default_value_t = 250)]
        page_size: u32,
        /// Token of the page to show (printed after each page).
        #[arg(long)]
        page_token: Option<String>,
        /// Follow every page to the end.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Debug, Subcommand)]
enum GetCommand {
    /// Show identities by id.
    Identity {
        /// Identity ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Include this credential's configuration.
        #[arg(short = 'i', long = "include-credentials")]
        include_credentials: Vec<String>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Debug, Subcommand)]
enum DeleteCommand {
    /// Delete identities by id.
    Identity {
        /// Identity ids.
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Debug, Subcommand)]
enum HashersCommand {
    /// argon2 tools.
    Argon2 {
        #[command(subcommand)]
        what: Argon2Command,
    },
}

#[derive(Debug, Subcommand)]
enum Argon2Command {
    /// Find argon2id parameters for a target duration per hash.
    Calibrate {
        /// Target duration per hash, e.g. 500ms or 1s.
        #[arg(default_value = "500ms")]
        duration: String,
        /// Memory per hash, e.g. 19MiB or 128MB.
        #[arg(short = 'm', long, default_value = "19MiB")]
        memory: String,
        /// Degree of parallelism.
        #[arg(short = 'p', long, default_value_t = 1)]
        parallelism: u32,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Version => {
            println!("Version: {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Migrate {
            what: MigrateCommand::Sql(args),
        } => migrate(args).await,
        Command::Cleanup {
            what: CleanupCommand::Sql(args),
        } => cleanup::run(args).await,
        Command::Courier {
            what: CourierCommand::Watch(args),
        } => courier::watch(args).await,
        Command::Import {
            what: ImportCommand::Identities { files, endpoint },
        } => client::import_identities(&files, &endpoint).await,
        Command::List {
            what:
                ListCommand::Identities {
                    page_size,
                    page_token,
                    all,
                    endpoint,
                },
        } => client::list_identities(page_size, page_token, all, &endpoint).await,
        Command::Get {
            what:
                GetCommand::Identity {
                    ids,
                    include_credentials,
                    endpoint,
                },
        } => client::get_identities(&ids, &include_credentials, &endpoint).await,
        Command::Delete {
            what: DeleteCommand::Identity { ids, endpoint },
        } => client::delete_identities(&ids, &endpoint).await,
        Command::Hashers {
            what:
                HashersCommand::Argon2 {
                    what:
                        Argon2Command::Calibrate {
                            duration,
                            memory,
                            parallelism,
                        },
                },
        } => calibrate(&duration, &memory, parallelism),
        Command::Config {
            what: ConfigCommand::Validate(args),
        } => validate::run(args).await,
        Command::Identities {
            what: IdentitiesCommand::MigrateSchema(args),
        } => migrate_schema::run(args).await,
    }
}

async fn migrate(args: MigrateArgs) -> Result<()> {
    let (action, dsn) = match args.positional.as_slice() {
        [] => ("up".to_owned(), None),
        [one] if matches!(one.as_str(), "up" | "down" | "status") => (one.clone(), None),
        [one] => ("up".to_owned(), Some(one.clone())),
        [action, dsn] if matches!(action.as_str(), "up" | "down" | "status") => {
            (action.clone(), Some(dsn.clone()))
        }
        [dsn, action] if matches!(action.as_str(), "up" | "down" | "status") => {
            (action.clone(), Some(dsn.clone()))
        }
        _ => bail!("expected `migrate sql [up|down|status] [DSN]`"),
    };
    let dsn = resolve_dsn(dsn, args.from_env, &args.config)?;
    let dsn = Dsn::parse(&dsn)?;
    if dsn.is_memory() {
        bail!(
            "an in-memory database cannot be migrated from outside the server; `serve` migrates it"
        );
    }
    if !args.yes && action != "status" {
        bail!("migrations change the database schema; pass --yes to apply them");
    }
    let db = Database::connect(&dsn)
        .await
        .context("connecting to the database")?;
    match action.as_str() {
        "up" => {
            db.migrate_up().await?;
            println!("Successfully applied all migrations.");
        }
        "down" => {
            db.migrate_down(args.all).await?;
            println!("Successfully rolled back migrations.");
        }
        _ => {
            println!("VERSION\tNAME\tSTATUS");
            for m in db.migration_status().await? {
                let status = if m.applied { "Applied" } else { "Pending" };
                println!("{}\t{}\t{status}", m.version, m.description);
            }
        }
    }
    db.close().await;
    Ok(())
}

/// The DSN a database command works on: given as an argument, read from the
/// `DSN` variable (`-e`), or from config files (`-c`), in that order.
fn resolve_dsn(given: Option<String>, from_env: bool, config: &[PathBuf]) -> Result<String> {
    if let Some(dsn) = given {
        return Ok(dsn);
    }
    if from_env {
        return std::env::var("DSN")
            .context("-e was given but the DSN environment variable is not set");
    }
    if config.is_empty() {
        bail!("give the DSN as an argument, with -e (DSN variable) or with -c (config file)");
    }
    let loaded = config::load(config, bia_config::env::process_vars(), Mode { dev: true })?;
    Ok(loaded.config.dsn().to_owned())
}

fn calibrate(duration: &str, memory: &str, parallelism: u32) -> Result<()> {
    use bia_server::hash::{ByteSize, GoDuration};
    let target = GoDuration::parse(duration).map_err(anyhow::Error::msg)?;
    let memory = ByteSize::parse(memory).map_err(anyhow::Error::msg)?;
    let result = bia_server::hash::calibrate(target.0, memory.0, parallelism)?;
    println!("hashers:");
    println!("  argon2:");
    println!("    memory: {}B", result.memory);
    println!("    iterations: {}", result.iterations);
    println!("    parallelism: {parallelism}");
    println!("# measured {:?} per hash", result.measured);
    Ok(())
}
