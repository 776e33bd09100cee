//! Thin entry point: parse the CLI, initialise telemetry, dispatch.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sluice::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(sluice::commands::dispatch(cli))
}
