//! The `bia` command: the identity server and its admin tools, verb first as Kratos.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// A faster allocator than the system's for the many small, short-lived
/// allocations of request handling.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
