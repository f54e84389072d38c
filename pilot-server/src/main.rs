//! The `pilot` binary: parses the command line, runs the command, and
//! exits 0 on success, 1 on failure, 2 on a usage error.

use std::process::ExitCode;

use clap::Parser;
use pilot_server::cli::{self, Cli, EXIT_FAILURE};

/// mimalloc gives freed memory back to the system within milliseconds, so
/// that a burst (thousands of agents sending their first metrics at once)
/// does not leave the server's resident memory at its peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing(&cli.command);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(cli::run(cli, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
