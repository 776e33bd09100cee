//! Logging with `tracing`: readable text by default, JSON lines with `--log-format json`.
//!
//! Logs go to stderr so that stdout stays for command output (tables, JSON reports,
//! the simulator's `listening on` line). Secrets never reach a log line: they are
//! held in redacting types (`settings::Secret`) and never passed as fields.

use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::LogFormat;

/// Install the global subscriber. `RUST_LOG` wins over `filter` when set.
/// Calling it twice is harmless (the second call is ignored), which tests rely on.
pub(crate) fn init(format: LogFormat, filter: &str) {
    let env_filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
