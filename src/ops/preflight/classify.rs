//! Why a preflight check failed: the account or settings are wrong (*configuration*), or
//! the venue is in distress (*exchange weather*). The daemon's gate treats them apart
//! (docs/incidents.md (seed 003): a gate that refuses to start during an incident locks
//! the fire escape): configuration refuses opens, distress only opens the breaker.
//!
//! Invariant: a failure is configuration unless the venue's answer is one that says
//! nothing about the account — 5xx, 429/418, -1000/-1001/-1003/-1007/-1008/-2010, no answer
//! in time, or no HTTP answer at all (connection refused/reset, DNS, TLS).

use serde::Serialize;

use super::observe::ProbeError;

/// What a failed line says about the setup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// The key, the account or the settings are wrong; a filter refused our own order.
    #[default]
    Configuration,
    /// The venue could not answer properly; retrying later can pass.
    Distress,
    /// Not judged: a check it depends on failed (that line carries the cause).
    Dependent,
}

/// Exchange codes that describe the venue's load or health, never the account
/// (docs/binance-fapi.md, error table): -1000 unknown, -1001 disconnected, -1003 too many
/// requests, -1007 backend timeout, -1008 server overloaded; and -2010 NEW_ORDER_REJECTED
/// without a filter code, which the venue answered to nearly every order during seed 003
/// (docs/incidents.md (seed 003)). Filter codes (-1013, -1111, -4164...) stay configuration.
const DISTRESS_CODES: [i64; 6] = [-1000, -1001, -1003, -1007, -1008, -2010];

/// The cause a probe's error shows.
pub(super) fn of_probe(e: &ProbeError) -> Cause {
    match e {
        ProbeError::Timeout { .. } | ProbeError::Transport(_) => Cause::Distress,
        ProbeError::NotChecked(_) => Cause::Dependent,
        ProbeError::Local(_) => Cause::Configuration,
        ProbeError::Exchange {
            http_status, code, ..
        } => {
            let http_distress = http_status.is_some_and(|s| s >= 500 || s == 429 || s == 418);
            let code_distress = code.is_some_and(|c| DISTRESS_CODES.contains(&c));
            if http_distress || code_distress {
                Cause::Distress
            } else {
                Cause::Configuration
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::ErrorClass;

    fn exchange(http: Option<u16>, code: Option<i64>) -> ProbeError {
        ProbeError::Exchange {
            class: ErrorClass::Retry,
            http_status: http,
            code,
            msg: "m".into(),
        }
    }

    #[test]
    fn venue_weather_is_distress() {
        for e in [
            exchange(Some(503), Some(-1008)),
            exchange(Some(503), Some(-1000)),
            exchange(Some(200), Some(-1001)),
            exchange(Some(429), Some(-1003)),
            exchange(Some(418), None),
            exchange(Some(502), None),
            ProbeError::Timeout { after_ms: 5000 },
            ProbeError::Transport("connection refused".into()),
        ] {
            assert_eq!(of_probe(&e), Cause::Distress, "{e:?}");
        }
    }

    #[test]
    fn account_and_filter_answers_are_configuration() {
        for e in [
            exchange(Some(401), Some(-2015)),
            exchange(Some(400), Some(-1022)),
            exchange(Some(400), Some(-1111)),
            exchange(Some(400), Some(-4164)),
            exchange(Some(400), Some(-1121)),
            exchange(Some(400), Some(-1021)),
            ProbeError::Local("filters refused".into()),
        ] {
            assert_eq!(of_probe(&e), Cause::Configuration, "{e:?}");
        }
        assert_eq!(
            of_probe(&ProbeError::NotChecked("x".into())),
            Cause::Dependent
        );
    }
}
