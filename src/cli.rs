//! The command line: one subcommand per job, each with a one-line purpose.
//!
//! Commands that talk to the daemon, the ledger or the exchange find them through
//! the same settings the daemon uses (`config/`, `SLUICE__*`, `DATABASE_URL`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Order-execution daemon for Binance USDⓈ-M Futures, with its own exchange simulator"
)]
#[allow(
    missing_docs,
    reason = "a doc comment on a clap type becomes its help text; `about` above says it"
)]
pub struct Cli {
    /// Directory whose default.toml and $SLUICE_ENV.toml override the built-in defaults
    /// (default: ./config when it exists; without one the built-in defaults apply).
    #[arg(long, global = true, env = "SLUICE_CONFIG_DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// Log format (overrides telemetry.log_format).
    #[arg(long, global = true, value_enum)]
    pub(crate) log_format: Option<LogFormatArg>,
    /// The ledger account to work on (overrides exchange.account; README "Many accounts").
    #[arg(long, global = true, value_name = "NAME", value_parser = account_name)]
    pub(crate) account: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
    Sim(sluice_sim::SimArgs),
    /// Print the symbol rules the adapter parsed from exchangeInfo (read-only).
    ExchangeInfo(ExchangeInfoArgs),
    /// Print the account, balances and positions as the exchange reports them (read-only).
    Account(JsonFlag),
    /// Check the key, permissions, clock, account modes, leverage, balance, filters, test
    /// orders and the user stream before trading (exit 0 ready, 1 a check failed).
    Preflight(JsonFlag),
    /// Compare the ledger with the exchange; dry-run unless --fix --confirm (never trades).
    Reconcile(crate::ops::reconcile::ReconcileArgs),
    /// The evidence report: attempts, rejections by code, latency, per bucket and symbol.
    Report(crate::ops::report::ReportArgs),
    /// Prove the deployment trades: preflight, open the smallest allowed position on one
    /// symbol, close it, check ledger == exchange and doctor (exit 0 pass, 1 fail).
    Smoke(SmokeArgs),
    /// Submit intents to the running daemon, or show one.
    #[command(subcommand)]
    Intent(IntentCommand),
    /// Show the ledger's positions (from the running daemon).
    Positions(PositionsArgs),
    /// Show the budget: allocation, used, reserved by pending opens, available.
    Budget(JsonFlag),
    /// Kill switch: halt, cancel sluice's open orders and close every position.
    Flatten(FlattenArgs),
    /// Halt: refuse every open until `sluice resume` (survives restarts).
    Halt(HaltArgs),
    /// Clear the halt (refused while a flatten is still being carried out).
    Resume(ResumeArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum IntentCommand {
    /// Open or add to a position: a quantity or a USDT notional.
    Open(OpenArgs),
    /// Close a position, all of it or --quantity of it.
    Close(CloseArgs),
    /// Reduce a position by --quantity.
    Reduce(CloseArgs),
    /// Show an intent: state, chunks, fills, errors, timings.
    Show(ShowArgs),
    /// List the most recent intents.
    List(ListArgs),
    /// Cancel an intent: one not started is cancelled at once; a working one sends no
    /// new chunk and ends `cancelled` once what is out has settled (fills kept).
    Cancel(CancelArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The intent id.
    pub(crate) id: i64,
    /// Wait until a working intent has ended.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) timeout: u64,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// How many (1 to 1000).
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: i64,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Symbol, e.g. SOLUSDT.
    pub(crate) symbol: String,
    /// long or short.
    pub(crate) side: String,
    /// Base-asset quantity (decimal).
    #[arg(
        long,
        conflicts_with = "notional",
        required_unless_present = "notional"
    )]
    pub(crate) quantity: Option<String>,
    /// USDT notional (decimal).
    #[arg(long)]
    pub(crate) notional: Option<String>,
    #[command(flatten)]
    pub(crate) limit: LimitArgs,
    #[command(flatten)]
    pub(crate) submit: SubmitArgs,
}

/// LIMIT instead of MARKET: a price (or a venue price match) and a time in force.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// LIMIT price (decimal, on the symbol's tick grid); omitted = MARKET.
    #[arg(long = "limit", value_name = "PRICE", conflicts_with = "price_match")]
    pub(crate) price: Option<String>,
    /// LIMIT priced by the venue: OPPONENT, OPPONENT_5, QUEUE, QUEUE_5, QUEUE_10, QUEUE_20.
    #[arg(long, value_name = "MODE")]
    pub(crate) price_match: Option<String>,
    /// Time in force of a LIMIT intent: GTC (default), IOC, GTX (post-only) or GTD.
    #[arg(long = "tif", value_name = "TIF")]
    pub(crate) time_in_force: Option<String>,
    /// A GTD's expiry, ms since the epoch (at least 660 s ahead).
    #[arg(long, value_name = "MS")]
    pub(crate) good_till: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct CloseArgs {
    /// Symbol of the open position (with SIDE), instead of --position.
    #[arg(requires = "side", conflicts_with = "position")]
    pub(crate) symbol: Option<String>,
    /// long or short: which open position of SYMBOL.
    pub(crate) side: Option<String>,
    /// The ledger position id.
    #[arg(long, required_unless_present = "symbol")]
    pub(crate) position: Option<i64>,
    /// How much to close (omitted on a close = all of it).
    #[arg(long)]
    pub(crate) quantity: Option<String>,
    #[command(flatten)]
    pub(crate) limit: LimitArgs,
    #[command(flatten)]
    pub(crate) submit: SubmitArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// Idempotency key: re-running with the same key returns the first intent.
    /// A fresh one is generated (and printed) when omitted.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Why (stored with the intent).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Follow the intent until it is done, failed or cancelled.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) timeout: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The intent id.
    pub(crate) id: i64,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PositionsArgs {
    /// Include closed positions.
    #[arg(long)]
    pub(crate) all: bool,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FlattenArgs {
    /// Only this symbol (the halt is global either way).
    #[arg(long)]
    pub(crate) symbol: Option<String>,
    /// Why (stored with the halt and the flatten intent).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Idempotency key for the flatten intent.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HaltArgs {
    /// Why (shown with every refused open).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Only show whether trading is halted.
    #[arg(long)]
    pub(crate) status: bool,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// Also cancel flatten intents that never started.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Trade against an in-process simulator instead of the configured exchange.
    #[arg(long)]
    pub(crate) paper: bool,
    /// Start trading without the preflight checks (logged loudly, naming every skipped check).
    #[arg(long)]
    pub(crate) skip_preflight: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Repair the repairable findings (one ledger_adjustments row per change).
    #[arg(long)]
    pub(crate) confirm: bool,
    /// Acknowledge this external fill (its id, as doctor names it) as a genuine manual
    /// trade: doctor then lists it as acknowledged and no longer fails on it. Needs
    /// --reason and --actor.
    #[arg(long, value_name = "FILL_ID", requires_all = ["reason", "actor"], conflicts_with = "confirm")]
    pub(crate) acknowledge_external_fill: Option<i64>,
    /// Why the acknowledged fill needs no repair (stored with it).
    #[arg(long, requires = "acknowledge_external_fill")]
    pub(crate) reason: Option<String>,
    /// Who acknowledges it (stored with it).
    #[arg(long, requires = "acknowledge_external_fill")]
    pub(crate) actor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective settings as TOML, secrets redacted.
    Show,
}

#[derive(Debug, Args)]
pub(crate) struct ExchangeInfoArgs {
    /// Only this symbol.
    #[arg(long)]
    pub(crate) symbol: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SmokeArgs {
    /// The symbol to trade (default: the first of exchange.symbols).
    #[arg(long)]
    pub(crate) symbol: Option<String>,
    /// Seconds each intent (the open, the close) may take before the step fails.
    #[arg(long, default_value_t = 60)]
    pub(crate) timeout_s: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// An account name as the ledger accepts it (1-32 of a-z 0-9 _ -).
fn account_name(s: &str) -> Result<String, String> {
    if crate::ledger::valid_account_name(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not an account name (1-32 of a-z 0-9 _ -, starting with a letter or digit)"
        ))
    }
}
