//! `bia config validate`: load the configuration exactly as `serve` does and
//! report every problem with its key, without starting anything.

use anyhow::{Result, bail};
use clap::Args;

use bia_server::config::{self, Mode};

/// Options of `config validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file(s); later files override earlier ones, as with `serve`.
    #[arg(short = 'c', long = "config", required = true)]
    pub config: Vec<std::path::PathBuf>,
    /// Check as `serve --dev` would (no cookie secret required).
    #[arg(long)]
    pub dev: bool,
    /// Also fail on keys this version does not support (otherwise warnings).
    #[arg(long)]
    pub strict: bool,
}

/// Prints errors and warnings (one a line, each with its key) on standard
/// error and fails when there is an error, or a warning with `--strict`.
pub async fn run(args: ValidateArgs) -> Result<()> {
    let mode = Mode { dev: args.dev };
    let (errors, warnings) = match bia_config::read(&args.config, bia_config::env::process_vars()) {
        Err(error) => (error.into_list(), Vec::new()),
        Ok(loaded) => {
            let mut errors = config::problems(&loaded.config, mode);
            if errors.is_empty() {
                errors = config::check_sources(&loaded.config).await;
            }
            (errors, loaded.warnings)
        }
    };
    let level = if args.strict { "error" } else { "warning" };
    for warning in &warnings {
        eprintln!("{level}: {warning}");
    }
    for error in &errors {
        eprintln!("error: {error}");
    }
    let failures = errors.len() + if args.strict { warnings.len() } else { 0 };
    if failures > 0 {
        bail!(
            "the configuration is invalid ({})",
            count(failures, "problem")
        );
    }
    let files: Vec<String> = args
        .config
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    println!(
        "The configuration is valid: {} ({}).",
        files.join(", "),
        count(warnings.len(), "warning")
    );
    Ok(())
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
