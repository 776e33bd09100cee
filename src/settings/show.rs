//! `sluice config show`: the effective settings as TOML, every secret redacted, with the
//! hosts the adapter will use after the venue preset.
//!
//! Invariant: secrets print as `[redacted]`, the database URL only as scheme, host and
//! port, and the API key as the same fragment the adapter logs.

use url::Url;

use super::Settings;
use crate::exchange::binance::config::{redact_key, user_stream_form};

impl Settings {
    /// The effective settings as TOML, secrets redacted (`sluice config show`).
    pub(crate) fn to_redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        // The API key is not a secret by Binance's model but identifies the account: show
        // the same fragment the adapter logs, so an operator can match the two.
        shown.exchange.api_key = self.exchange.api_key.as_deref().map(redact_key);
        let mut out = toml::to_string_pretty(&shown)?;
        out.push_str(&self.effective_hosts());
        Ok(out)
    }

    /// TOML comments naming the hosts the adapter will use, after the venue preset.
    fn effective_hosts(&self) -> String {
        let rest = host_text(self.exchange.effective_rest_url());
        let ws = host_text(self.exchange.effective_ws_url());
        format!(
            "\n# effective hosts (venue preset or explicit URLs)\n\
             # rest        = {rest}\n# ws          = {ws}\n# user stream = {}\n",
            user_stream_form(&ws)
        )
    }
}

/// A host URL as an operator writes it (no trailing `/` after a bare host).
fn host_text(url: Option<Url>) -> String {
    url.map_or_else(String::new, |u| {
        u.as_str().trim_end_matches('/').to_string()
    })
}
