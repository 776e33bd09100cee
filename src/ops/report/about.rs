//! What the HTML report says about the sluice that made it: the version, when, and the
//! settings that shape what the exchange saw (venue, hosts, timeouts, budget, the
//! LIMIT IOC fallback), so a support ticket carries them.
//!
//! Invariant: settings are copied by an allow-list, never by serialising `Settings`:
//! no API key or secret, no control token, no database URL (it holds a password in
//! many deployments), no file paths. URLs lose any user, password, query and fragment.

use chrono::{DateTime, Utc};

use crate::settings::Settings;

/// The version, the time of writing and the redacted settings of one report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct About {
    /// `sluice 0.1.0`.
    pub version: String,
    pub(crate) generated_at: DateTime<Utc>,
    /// (key, value) in the `section.key` form of the config files. Empty when the
    /// report was rendered without settings (say so rather than guess).
    pub settings: Vec<(String, String)>,
}

impl About {
    /// This build's version, now, and the allow-listed settings when given.
    pub fn new(settings: Option<&Settings>) -> About {
        About {
            version: format!("sluice {}", env!("CARGO_PKG_VERSION")),
            generated_at: Utc::now(),
            settings: settings.map(shown).unwrap_or_default(),
        }
    }
}

/// A URL without credentials, query or fragment; a value that does not parse as a
/// URL is not shown at all (it might be anything).
pub(super) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "[not shown: not a URL]".to_string(),
    }
}

fn url_or_preset(v: Option<&url::Url>) -> String {
    v.map_or_else(|| "venue preset".to_string(), |u| redact_url(u.as_str()))
}

fn ms(d: std::time::Duration) -> String {
    d.as_millis().to_string()
}

/// The allow-listed settings, in a fixed order.
fn shown(s: &Settings) -> Vec<(String, String)> {
    let e = &s.exchange;
    let d = &s.daemon;
    let fixed: [(&str, String); 15] = [
        ("exchange.venue", format!("{:?}", e.venue).to_lowercase()),
        ("exchange.rest_url", url_or_preset(e.rest_url.as_ref())),
        ("exchange.ws_url", url_or_preset(e.ws_url.as_ref())),
        ("exchange.recv_window_ms", ms(e.recv_window)),
        ("exchange.request_timeout_ms", ms(e.request_timeout)),
        (
            "exchange.risk_reserve_share",
            e.risk_reserve_share.to_string(),
        ),
        ("exchange.position_mode", e.position_mode.as_str().into()),
        (
            "exchange.multi_assets_margin",
            e.multi_assets_margin.to_string(),
        ),
        (
            "exchange.symbols",
            e.symbols
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "budget.allocation_usdt",
            s.budget.allocation_usdt.to_string(),
        ),
        (
            "daemon.adopt_unknown_positions",
            d.adopt_unknown_positions.to_string(),
        ),
        (
            "daemon.limit_ioc_fallback",
            d.limit_ioc_fallback.to_string(),
        ),
        (
            "daemon.limit_ioc_fallback_after",
            d.limit_ioc_fallback_after.to_string(),
        ),
        (
            "daemon.reconcile_interval_s",
            d.reconcile_interval.map_or(0, |i| i.as_secs()).to_string(),
        ),
        ("daemon.reconcile_fix", d.reconcile_fix.to_string()),
    ];
    let mut out: Vec<(String, String)> =
        fixed.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (symbol, v) in &s.symbols {
        let key = |field: &str| format!("symbols.{symbol}.{field}");
        if let Some(l) = v.leverage {
            out.push((key("leverage"), l.to_string()));
        }
        if let Some(m) = v.margin_type {
            out.push((key("margin_type"), format!("{m:?}")));
        }
        if let Some(cap) = v.max_position_usdt {
            out.push((key("max_position_usdt"), cap.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_loses_its_credentials_query_and_fragment() {
        assert_eq!(
            redact_url("https://user:hunter2@fapi.example.com:8443/x?apiKey=k#f"),
            "https://fapi.example.com:8443/x"
        );
        assert_eq!(redact_url("not a url hunter2"), "[not shown: not a URL]");
    }
}
