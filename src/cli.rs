//! The command line: one subcommand per job, each with a one-line purpose.
//!
//! Commands that talk to the daemon, the ledger or the exchange find them through
//! the same settings the daemon uses (`config/`, `SLUICE__*`, `DATABASE_URL`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Order-execution daemon for Binance USDⓈ-M Futures, with its own exchange simulator"
)]
pub struct Cli {
    /// Directory holding default.toml and $SLUICE_ENV.toml.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CONFIG_DIR",
        default_value = "config"
    )]
    pub config_dir: PathBuf,
    /// Log format (overrides telemetry.log_format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: migrate, connect, serve the control API until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Apply the database migrations (embedded in the binary) and exit.
    Migrate,
    /// Check the ledger's invariants and report findings; --confirm repairs them.
    Doctor(DoctorArgs),
    /// Write a small demo history into the ledger (for trying doctor and the CLI).
    DemoSeed,
    /// Show the effective settings, secrets redacted.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the Binance USDⓈ-M Futures simulator on one listener (REST + WebSocket).
    Sim(SimArgs),
    /// Print the symbol rules the adapter parsed from exchangeInfo (read-only).
    ExchangeInfo(ExchangeInfoArgs),
    /// Print the account, balances and positions as the exchange reports them (read-only).
    Account(JsonFlag),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Trade against an in-process simulator instead of the configured exchange.
    #[arg(long)]
    pub paper: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
    /// Repair the repairable findings (one ledger_adjustments row per change).
    #[arg(long)]
    pub confirm: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings as TOML, secrets redacted.
    Show,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// Scenario TOML (symbols, accounts, faults); the demo scenario when omitted.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExchangeInfoArgs {
    /// Only this symbol.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}
