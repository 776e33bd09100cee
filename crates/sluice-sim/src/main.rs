//! `sluice-sim`: the simulator on its own, the same as `sluice sim` (same flags, same first
//! stdout line `listening on http://ADDR`), without building the daemon.

use clap::Parser;

/// Runs the Binance USDⓈ-M Futures simulator on one listener (REST + WebSocket).
#[derive(Debug, Parser)]
#[command(name = "sluice-sim", version)]
struct Cli {
    #[command(flatten)]
    args: sluice_sim::SimArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logs go to stderr so that the first stdout line stays `listening on http://ADDR`.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    sluice_sim::run_cli(&cli.args).await
}
