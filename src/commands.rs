//! Dispatch of CLI commands: load settings, start telemetry, run the command,
//! turn its outcome into an exit code (0 ok, 1 findings/failed checks, 2 error).

use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand, LogFormatArg};
use crate::settings::{LogFormat, Settings};

/// What a command concluded, before it becomes an exit code.
pub enum Outcome {
    Ok,
    /// The command ran and found something (doctor findings, a failed preflight check).
    Findings,
}

pub async fn dispatch(cli: Cli) -> ExitCode {
    let format_override = cli.log_format.map(|f| match f {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    match run_command(cli, format_override).await {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Settings plus telemetry, for every command that needs them.
fn load(cli: &Cli, format_override: Option<LogFormat>) -> anyhow::Result<Settings> {
    let settings = Settings::load(&cli.config_dir);
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
        _ => anyhow::bail!("this command is not available in this build yet"),
    }
}
