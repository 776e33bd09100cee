//! Dispatch of CLI commands: load settings, start telemetry, run the command,
//! turn its outcome into an exit code (0 ok, 1 findings/failed checks, 2 error).

use std::process::ExitCode;

use std::time::Duration;

use anyhow::Context;

use crate::cli::{Cli, Command, ConfigCommand, LogFormatArg, RunArgs};
use crate::client::{render, Client};
use crate::settings::{LogFormat, Settings};
use crate::startup::ledger_wait::ConfigurationError;

mod remote;

use remote::{control_command, intent_command, print_as};

/// What a command concluded, before it becomes an exit code.
pub enum Outcome {
    /// The command did what it was asked and found nothing wrong.
    Ok,
    /// The command ran and found something (doctor findings, a failed preflight check).
    Findings,
}

/// Run the parsed command line and map its outcome to the process exit code (0 done,
/// 1 findings, `EXIT_CONFIG` for a configuration error, 2 any other error); the one entry
/// point `main` calls.
pub async fn dispatch(cli: Cli) -> ExitCode {
    let format_override = cli.log_format.map(|f| match f {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    match run_command(cli, format_override).await {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) if e.chain().any(|c| c.is::<ConfigurationError>()) => {
            eprintln!("error: {e:#}");
            ExitCode::from(crate::startup::ledger_wait::EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Settings plus telemetry, for every command that needs them.
fn load(cli: &Cli, format_override: Option<LogFormat>) -> anyhow::Result<Settings> {
    // `--account NAME`: that account alone, with its own key from `[accounts.NAME]` if any.
    let settings = Settings::load(cli.config_dir.as_deref()).map(|s| match &cli.account {
        Some(name) => s.only_account(name),
        None => s,
    });
    let (format, filter) = match &settings {
        Ok(s) => (
            format_override.unwrap_or(s.telemetry.log_format),
            s.telemetry.log_filter.clone(),
        ),
        Err(_) => (
            format_override.unwrap_or(LogFormat::Text),
            "info".to_string(),
        ),
    };
    crate::telemetry::init(format, &filter);
    settings
}

async fn run_command(cli: Cli, format_override: Option<LogFormat>) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Config(ConfigCommand::Show) => {
            let settings = load(&cli, format_override)?;
            print!("{}", settings.to_redacted_toml()?);
            Ok(Outcome::Ok)
        }
        Command::Run(args) => {
            // For the daemon a bad setting is a configuration exit (no restart loop).
            let settings =
                load(&cli, format_override).map_err(|e| ConfigurationError(format!("{e:#}")))?;
            run_daemon(settings, args).await
        }
        Command::Intent(cmd) => intent_command(&client(&cli, format_override)?, cmd).await,
        Command::Positions(args) => {
            let list = client(&cli, format_override)?
                .positions(args.all, cli.account.as_deref())
                .await?;
            print_as(args.json, &list, || render::positions(&list))
        }
        Command::Budget(args) => {
            let budget = client(&cli, format_override)?.budget().await?;
            print_as(args.json, &budget, || render::budget(&budget))
        }
        Command::Flatten(_) | Command::Halt(_) | Command::Resume(_) => {
            control_command(&client(&cli, format_override)?, &cli.command).await
        }
        Command::Migrate => {
            let settings = load(&cli, format_override)?;
            let ledger = crate::ops::connect_ledger(&settings).await?;
            println!("migrations applied");
            drop(ledger);
            Ok(Outcome::Ok)
        }
        Command::Doctor(args) => doctor(&load(&cli, format_override)?, args).await,
        Command::DemoSeed => {
            let settings = load(&cli, format_override)?;
            let ledger = crate::ops::connect_ledger(&settings).await?;
            let summary = crate::ops::demo::seed_demo_ledger(&ledger).await?;
            if summary.already_seeded {
                println!("demo ledger already seeded: nothing written");
            } else {
                println!(
                    "demo ledger seeded: a SOLUSDT LONG opened and closed by a MARKET SELL, an ETHUSDT LONG still open"
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Sim(args) => {
            // The simulator needs no settings; logs go to stderr so that the first
            // stdout line stays `listening on http://ADDR`.
            crate::telemetry::init(format_override.unwrap_or(LogFormat::Text), "info");
            sluice_sim::run_cli(args).await?;
            Ok(Outcome::Ok)
        }
        Command::ExchangeInfo(args) => {
            let settings = load(&cli, format_override)?;
            let exchange = crate::startup::connect_exchange_readonly(&settings).await?;
            let symbol = args
                .symbol
                .as_deref()
                .map(crate::domain::Symbol::new)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--symbol: {e}"))?;
            let report = crate::ops::exchange_info::run(exchange.as_ref(), symbol.as_ref()).await?;
            print_report(&report, args.json)?;
            Ok(Outcome::Ok)
        }
        Command::Account(args) => {
            let settings = load(&cli, format_override)?;
            let exchange = crate::startup::connect_exchange_readonly(&settings).await?;
            let report = crate::ops::account::run(exchange.as_ref()).await?;
            print_report(&report, args.json)?;
            Ok(Outcome::Ok)
        }
        Command::Preflight(args) => {
            let settings = load(&cli, format_override)?;
            let report = crate::ops::preflight::run(&settings).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report.lines)?);
            } else {
                println!("{report}");
            }
            Ok(if report.passed() {
                Outcome::Ok
            } else {
                Outcome::Findings
            })
        }
        Command::Reconcile(args) => {
            let settings = load(&cli, format_override)?;
            let ledger = crate::ops::connect_ledger(&settings).await?;
            let exchange = crate::startup::connect_exchange_readonly(&settings).await?;
            let is_sluice = |id: &str| crate::router::SluiceOrderId::parse(id).is_ok();
            let (text, code) =
                crate::ops::reconcile::command(&ledger, exchange.as_ref(), *args, &is_sluice).await;
            println!("{text}");
            match code {
                0 => Ok(Outcome::Ok),
                1 => Ok(Outcome::Findings),
                _ => Err(anyhow::anyhow!("reconcile failed")),
            }
        }
        Command::Smoke(args) => {
            let settings = load(&cli, format_override)?;
            let opts = crate::ops::smoke::SmokeOptions {
                symbol: args.symbol.clone(),
                timeout: Duration::from_secs(args.timeout_s.max(1)),
            };
            let report = crate::ops::smoke::run(&settings, &opts).await?;
            print_report(&report, args.json)?;
            Ok(if report.passed() {
                Outcome::Ok
            } else {
                Outcome::Findings
            })
        }
        Command::Report(args) => {
            let settings = load(&cli, format_override)?;
            let ledger = crate::ops::connect_ledger(&settings).await?;
            let about = crate::ops::report::About::new(Some(&settings));
            let text = crate::ops::report::command(&ledger, args, &about).await?;
            println!("{text}");
            Ok(Outcome::Ok)
        }
    }
}

/// `sluice run`: preflight, then migrate and serve the control API (and trade, with
/// credentials) until SIGINT/SIGTERM. A failed preflight check holds opens only.
async fn run_daemon(mut settings: Settings, args: &RunArgs) -> anyhow::Result<Outcome> {
    let (trigger, shutdown) = crate::shutdown::channel();
    tokio::spawn(async move {
        crate::shutdown::os_signal().await;
        trigger.trigger();
    });
    let sim = if args.paper {
        Some(crate::paper::prepare(&mut settings).await?)
    } else {
        None
    };
    let outcome = start_if_preflight_passes(settings, args, shutdown).await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    outcome
}

/// The gate in front of the executor: without credentials the daemon serves the control
/// API only (nothing to check); otherwise the ledger must be reachable, and preflight
/// decides what opens may do — never whether the daemon starts (see
/// `ops::preflight::gate`): closes, reduces and flatten always run.
async fn start_if_preflight_passes(
    mut settings: Settings,
    args: &RunArgs,
    shutdown: crate::shutdown::Shutdown,
) -> anyhow::Result<Outcome> {
    settings.api.ensure_token()?;
    // Several accounts (`daemon.accounts`): the first is run as the one account was, the
    // others are added below (`startup::units`); all share one IP share of weight.
    let full = settings.clone();
    let accounts = full.served_accounts().to_vec();
    if let Some(first) = accounts.first() {
        let mut shared = full.clone();
        shared.exchange.shared_ip = Some(crate::exchange::binance::SharedIp::new());
        settings = shared.for_account(first);
    }
    let shared_ip = settings.exchange.shared_ip.clone();
    let has_credentials = settings.exchange.has_credentials();
    crate::api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
    // The API socket first: `/healthz` answers and `/readyz` says what start waits for.
    let waiting = crate::startup::waiting_api::WaitingApi::start(
        &settings.api,
        "starting: connecting to the ledger database",
    )?;
    // The ledger: a database not up yet is waited for; one that refuses this
    // configuration ends the start with exit code 78 (see `startup::ledger_wait`).
    let report = waiting.reporter();
    let (db, account) = (&settings.database, settings.exchange.account.as_deref());
    let Some(ledger) =
        crate::startup::ledger_wait::connect_when_up(db, account, shutdown.clone(), &report)
            .await?
    else {
        return Ok(Outcome::Ok);
    };
    ledger
        .migrate()
        .await
        .context("failed to apply migrations")?;
    let mut held = None;
    if has_credentials {
        use crate::ops::preflight::{gate, Gate};
        waiting.set_reason("starting: running the preflight checks");
        if let Gate::Held(h, report) = gate(&settings, args.skip_preflight).await? {
            crate::ops::preflight::gate::log_held(&h, &report);
            held = Some(h);
        }
    }
    let recheck_settings = settings.clone();
    let listener = waiting.finish().await;
    let listen = crate::startup::Listen::Socket(listener);
    let mut app = crate::startup::Application::build_on(settings, ledger, listen).await?;
    if args.paper {
        // The simulator is this process's own: no earlier leader can have reached it.
        app = app.without_takeover_grace();
    }
    if has_credentials {
        let hold = std::sync::Arc::new(crate::router::OpensHold::new(held.clone()));
        app = app.with_opens_hold(hold.clone());
        if let Some(h) = held {
            let readiness = app.readiness();
            readiness.set_degraded(crate::ops::preflight::gate::COMPONENT, h.reason);
            tokio::spawn(crate::ops::preflight::gate::recheck(
                recheck_settings,
                hold,
                readiness,
            ));
        }
    }
    if accounts.len() > 1 {
        let mut shared = full;
        shared.exchange.shared_ip = shared_ip;
        let (skip, paper) = (args.skip_preflight, args.paper);
        app = app
            .with_units(&shared, &accounts[1..], skip, paper, &shutdown)
            .await?;
    }
    app.run_until_stopped(shutdown).await?;
    Ok(Outcome::Ok)
}

fn client(cli: &Cli, format_override: Option<LogFormat>) -> anyhow::Result<Client> {
    Ok(Client::from_settings(&load(cli, format_override)?)?)
}

async fn doctor(settings: &Settings, args: &crate::cli::DoctorArgs) -> anyhow::Result<Outcome> {
    let ledger = crate::ops::connect_ledger(settings).await?;
    if let Some(fill_id) = args.acknowledge_external_fill {
        let ack = crate::ops::doctor::acknowledge_external_fill(
            &ledger,
            fill_id,
            args.actor.as_deref().unwrap_or_default(),
            args.reason.as_deref().unwrap_or_default(),
        )
        .await
        .context("the acknowledgement was refused; nothing was written")?;
        if !args.json {
            println!(
                "acknowledged external fill #{} (anomaly #{}) by {} at {}",
                ack.fill_id,
                ack.anomaly_id,
                ack.actor,
                ack.at.to_rfc3339()
            );
        }
    }
    let opts = crate::ops::doctor::DoctorOptions {
        confirm: args.confirm,
        allocation: settings.budget.allocation_usdt,
    };
    let report = crate::ops::doctor::run(&ledger, opts).await?;
    print_report(&report, args.json)?;
    Ok(if report.is_clean() {
        Outcome::Ok
    } else {
        Outcome::Findings
    })
}

/// A report as JSON (machines) or its `Display` table (people).
fn print_report<T: serde::Serialize + std::fmt::Display>(
    report: &T,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}
