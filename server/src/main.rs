//! The `opsdesk` binary: parses the command line and hands over to the library.

use clap::Parser;
use opsdesk_server::cli::{run, Cli};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Log filter when `RUST_LOG` is unset: our own events and each request.
const DEFAULT_LOG_FILTER: &str = "info,tower_http=debug,sqlx=warn";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
