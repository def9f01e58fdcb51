//! The `bia` command: the identity server and its admin tools, verb first as Kratos.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// A faster allocator than the system's for the many small, short-lived
/// allocations of request handling.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // An evaluator process of the server's Jsonnet programs: no runtime and
    // no argument parsing, so it starts fast.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == bia_server::hook::jsonnet::EVALUATOR_COMMAND)
    {
        let code = bia_server::hook::jsonnet::run_evaluator(std::io::stdin(), std::io::stdout());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
