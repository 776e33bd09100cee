//! The CLI's HTTP client for the daemon's control API.
//!
//! It finds the daemon through the same settings (`api.listen`, `api.token`, else the
//! token file the daemon generated: `api.token_file`, default `<state dir>/control.token`,
//! so a newcomer never copies a token by hand), speaks
//! the API's JSON read models ([`crate::api::views`]), and turns every failure into a
//! sentence: the daemon is not running, the token is wrong, or the API's own error
//! (field + reason, and the refused intent's id when one was stored).

pub(crate) mod render;

pub use render::positions as render_positions;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::cancel::CancelResponse;
use crate::api::control::ControlBody;
use crate::api::intent_request::IntentBody;
use crate::api::read::PositionsResponse;
use crate::api::views::{HaltResponse, IntentList, IntentResponse};
use crate::ledger::Budget;
use crate::settings::{Secret, Settings};

/// The API's error body, as the client reads it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct RemoteError {
    pub(crate) code: String,
    pub(crate) field: Option<String>,
    pub(crate) reason: String,
    pub(crate) intent_id: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("the sluice daemon is not running at {url} ({detail}); start it with `sluice run`")]
    NotRunning { url: String, detail: String },
    #[error("{}", describe(*status, error))]
    Api {
        status: StatusCode,
        error: RemoteError,
    },
    #[error("request to {url} failed: {detail}")]
    Http { url: String, detail: String },
    #[error(
        "intent #{id} is still {state} after {seconds}s; follow it with `sluice intent show {id}`"
    )]
    WaitTimeout {
        id: i64,
        state: String,
        seconds: u64,
    },
}

fn describe(status: StatusCode, e: &RemoteError) -> String {
    let mut text = match &e.field {
        Some(field) => format!("{field}: {}", e.reason),
        None => e.reason.clone(),
    };
    if let Some(id) = e.intent_id {
        text.push_str(&format!(" (intent #{id})"));
    }
    format!("{text} [HTTP {}, {}]", status.as_u16(), e.code)
}

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
    /// Where the token came from (or should be), added to a 401's message.
    token_hint: String,
    /// `--account` / `exchange.account`: sent as `?account=` with every request, so a
    /// daemon serving several accounts answers for this one, and one that does not serve
    /// it refuses a write instead of applying it to its own account.
    account: Option<String>,
}

impl Client {
    pub(crate) fn from_settings(settings: &Settings) -> Result<Client, ClientError> {
        let base = format!("http://{}", settings.api.listen);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Http {
                url: base.clone(),
                detail: e.to_string(),
            })?;
        let file = settings
            .api
            .token_file
            .as_ref()
            .map(|p| p.display().to_string());
        let token_hint = match (&settings.api.token, file) {
            (None, Some(f)) => format!("; no token found: set SLUICE__API__TOKEN, or run the daemon once so it creates {f}"),
            (None, None) => "; no token found: set SLUICE__API__TOKEN or api.token_file".into(),
            (Some(_), Some(f)) => format!("; the CLI sent the token from SLUICE__API__TOKEN or {f}"),
            (Some(_), None) => "; the CLI sent the token from SLUICE__API__TOKEN".into(),
        };
        Ok(Client {
            http,
            base,
            token: settings.api.token.clone(),
            token_hint,
            account: settings.exchange.account.clone(),
        })
    }

    pub(crate) async fn submit_intent(
        &self,
        body: &IntentBody,
    ) -> Result<IntentResponse, ClientError> {
        self.call(Method::POST, "/v1/intents", Some(body)).await
    }
    pub(crate) async fn intent(&self, id: i64) -> Result<IntentResponse, ClientError> {
        self.call::<(), _>(Method::GET, &format!("/v1/intents/{id}"), None)
            .await
    }
    /// `POST /v1/intents/{id}/cancel` on behalf of `actor`.
    pub(crate) async fn cancel_intent(
        &self,
        id: i64,
        actor: &str,
    ) -> Result<CancelResponse, ClientError> {
        let body = serde_json::json!({ "actor": actor });
        self.call(
            Method::POST,
            &format!("/v1/intents/{id}/cancel"),
            Some(&body),
        )
        .await
    }
    pub(crate) async fn intents(&self, limit: i64) -> Result<IntentList, ClientError> {
        self.call::<(), _>(Method::GET, &format!("/v1/intents?limit={limit}"), None)
            .await
    }
    /// `account` must be a valid account name (the CLI checks it), so it needs no escaping.
    pub(crate) async fn positions(
        &self,
        all: bool,
        account: Option<&str>,
    ) -> Result<PositionsResponse, ClientError> {
        let mut query = Vec::new();
        if all {
            query.push("all=true".to_string());
        }
        if let Some(name) = account {
            query.push(format!("account={name}"));
        }
        let path = match query.is_empty() {
            true => "/v1/positions".to_string(),
            false => format!("/v1/positions?{}", query.join("&")),
        };
        self.call::<(), _>(Method::GET, &path, None).await
    }
    pub(crate) async fn budget(&self) -> Result<Budget, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/budget", None).await
    }
    pub(crate) async fn halt_status(&self) -> Result<HaltResponse, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/halt", None).await
    }
    pub(crate) async fn halt(&self, body: &ControlBody) -> Result<HaltResponse, ClientError> {
        self.call(Method::POST, "/v1/halt", Some(body)).await
    }
    pub(crate) async fn resume(&self, body: &ControlBody) -> Result<HaltResponse, ClientError> {
        self.call(Method::POST, "/v1/resume", Some(body)).await
    }
    pub(crate) async fn flatten(&self, body: &ControlBody) -> Result<HaltResponse, ClientError> {
        self.call(Method::POST, "/v1/flatten", Some(body)).await
    }

    /// Poll intent `id` until it reaches a final state, calling `progress` on every
    /// answer. Bounded by `timeout`; the poll interval grows from 200 ms to 2 s.
    pub(crate) async fn wait(
        &self,
        id: i64,
        timeout: Duration,
        mut progress: impl FnMut(&IntentResponse),
    ) -> Result<IntentResponse, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut interval = Duration::from_millis(200);
        loop {
            let intent = self.intent(id).await?;
            progress(&intent);
            if intent.state.is_terminal() {
                return Ok(intent);
            }
            if tokio::time::Instant::now() + interval > deadline {
                return Err(ClientError::WaitTimeout {
                    id,
                    state: intent.state.as_str().to_string(),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 3 / 2).min(Duration::from_secs(2));
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let url = format!(
            "{}{}",
            self.base,
            with_account(path, self.account.as_deref())
        );
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&self.base, e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&self.base, e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Http {
                url,
                detail: format!("unreadable answer: {e}"),
            });
        }
        let mut error = api_error(status, &bytes);
        if let ClientError::Api { status, error } = &mut error {
            if *status == StatusCode::UNAUTHORIZED {
                error.reason.push_str(&self.token_hint);
            }
        }
        Err(error)
    }
}

/// `path` with `account=<name>` in its query unless it names an account already (a valid
/// account name needs no escaping: the settings check it).
fn with_account(path: &str, account: Option<&str>) -> String {
    match account {
        Some(name) if !path.contains("account=") => {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}account={name}")
        }
        _ => path.to_string(),
    }
}

fn transport_error(base: &str, e: reqwest::Error) -> ClientError {
    if e.is_connect() {
        return ClientError::NotRunning {
            url: base.to_string(),
            detail: "connection refused".into(),
        };
    }
    ClientError::Http {
        url: base.to_string(),
        detail: e.without_url().to_string(),
    }
}

fn api_error(status: StatusCode, bytes: &[u8]) -> ClientError {
    #[derive(Deserialize)]
    struct Envelope {
        error: RemoteError,
    }
    let error = serde_json::from_slice::<Envelope>(bytes)
        .map(|e| e.error)
        .unwrap_or_else(|_| RemoteError {
            code: "http".into(),
            field: None,
            reason: String::from_utf8_lossy(bytes).chars().take(300).collect(),
            intent_id: None,
        });
    ClientError::Api { status, error }
}

#[cfg(test)]
mod tests {
    use super::with_account;

    #[test]
    fn the_cli_names_its_account_on_every_request_once() {
        assert_eq!(with_account("/v1/halt", Some("b")), "/v1/halt?account=b");
        assert_eq!(
            with_account("/v1/intents?limit=5", Some("b")),
            "/v1/intents?limit=5&account=b"
        );
        assert_eq!(
            with_account("/v1/positions?account=b", Some("b")),
            "/v1/positions?account=b"
        );
        assert_eq!(with_account("/v1/halt", None), "/v1/halt");
    }
}
