//! The executor in process for end-to-end tests: a simulator on port 0, the real
//! Binance adapter pointed at it, a fresh ledger, the audit writer and the executor.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use sluice::domain::{
    Direction, IntentKind, IntentSpec, IntentState, OpenSize, PositionMode, Qty, Usdt,
};
use sluice::exchange::binance::{run_audit_writer, AuditBuffer, BinanceFutures};
use sluice::exchange::Exchange;
use sluice::ledger::{IntentId, IntentRow, Ledger, NewIntent, PositionId};
use sluice::router::{Executor, ExecutorConfig, ExecutorDeps, ExecutorHandle};
use sluice::shutdown::{channel, ShutdownTrigger};
use sqlx::PgPool;

use crate::account::{start_sim, Scenario, SimHandle, KEY, SECRET};
use crate::adapter::{config, fast_timing};
use crate::poll::poll_seen;

pub use crate::account::scenario;
pub use crate::ledger::{sym, VENUE};
pub use crate::poll::{until, until_ok, until_some};
pub use crate::wsapi::Wire;

pub struct Daemon {
    /// Reconcile reports (remaining differences) run on recovery from key loss.
    pub recoveries: Arc<std::sync::Mutex<Vec<usize>>>,
    /// The key pair the adapter re-reads on key loss (a test rotates it).
    pub creds: Arc<TestCredentials>,
    pub sim: SimHandle,
    pub ledger: Ledger,
    pub exchange: Arc<BinanceFutures>,
    pub executor: Option<ExecutorHandle>,
    pub trigger: ShutdownTrigger,
    pub http: reqwest::Client,
}

/// A key pair a test can replace while the daemon runs, as an operator replaces the
/// key files after deleting a key.
#[derive(Debug)]
pub struct TestCredentials(std::sync::Mutex<(String, String)>);

impl TestCredentials {
    pub fn set(&self, key: &str, secret: &str) {
        *self.0.lock().expect("credentials lock") = (key.to_string(), secret.to_string());
    }
}

impl sluice::exchange::CredentialSource for TestCredentials {
    fn load(&self) -> Result<(String, SecretString), String> {
        let (k, s) = self.0.lock().map_err(|e| e.to_string())?.clone();
        Ok((k, SecretString::from(s)))
    }
}

pub fn fast_config() -> ExecutorConfig {
    let mut cfg = ExecutorConfig {
        // Long: new intents must arrive by notification, not by this safety-net poll.
        poll_interval: Duration::from_secs(5),
        ..ExecutorConfig::default()
    };
    cfg.backoff.base = Duration::from_millis(20);
    cfg.backoff.max = Duration::from_millis(200);
    cfg.reauth_backoff.base = Duration::from_millis(50);
    cfg.reauth_backoff.max = Duration::from_millis(400);
    cfg
}

pub async fn start(pool: PgPool, scenario: Scenario, cfg: ExecutorConfig) -> Daemon {
    start_on(pool, start_sim(scenario).await, cfg).await
}

/// Logs for the daemon tests, captured per test by the harness (shown on failure);
/// `RUST_LOG` picks the level, `info` by default.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

pub async fn start_on(pool: PgPool, sim: SimHandle, cfg: ExecutorConfig) -> Daemon {
    start_wired(pool, sim, cfg, Wire::RestHmac).await
}

/// As [`start`], with orders on `wire`.
pub async fn start_over(
    pool: PgPool,
    scenario: Scenario,
    cfg: ExecutorConfig,
    wire: Wire,
) -> Daemon {
    start_wired(pool, start_sim(scenario).await, cfg, wire).await
}

/// As [`start_on`], with orders on `wire` (an Ed25519 key is registered on the test
/// account first when the wire needs one).
pub async fn start_wired(pool: PgPool, sim: SimHandle, cfg: ExecutorConfig, wire: Wire) -> Daemon {
    init_logs();
    let ledger = Ledger::from_pool(pool);
    let (mut bcfg, key, secret) = match wire {
        Wire::RestHmac => (config(&sim), KEY.to_string(), SECRET.to_string()),
        Wire::WsEd25519 => {
            let bcfg = crate::wsapi::ws_config_ed25519(&sim).await;
            let pem = crate::keys::TestKey::Ed25519.private_pem();
            (bcfg, crate::wsapi::ED25519_KEY.to_string(), pem)
        }
    };
    let creds = Arc::new(TestCredentials(std::sync::Mutex::new((key, secret))));
    bcfg.credential_source = Some(creds.clone());
    let audit = AuditBuffer::new(100_000);
    let exchange = BinanceFutures::connect_with(bcfg, audit.clone(), fast_timing())
        .await
        .expect("adapter connects");
    let (trigger, shutdown) = channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sink: Arc<dyn sluice::exchange::binance::AttemptSink> = Arc::new(ledger.clone());
    tokio::spawn(run_audit_writer(audit, sink, stop_rx));
    std::mem::forget(stop_tx); // the writer lives as long as the test runtime
    let recoveries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let deps = ExecutorDeps {
        ledger: ledger.clone(),
        exchange: exchange.clone() as Arc<dyn Exchange>,
        venue: VENUE.into(),
        config: cfg,
        on_key_recovered: Some(reconcile_hook(
            ledger.clone(),
            exchange.clone() as Arc<dyn Exchange>,
            recoveries.clone(),
        )),
    };
    let executor = Executor::spawn(deps, shutdown)
        .await
        .expect("executor starts");
    Daemon {
        recoveries,
        creds,
        sim,
        ledger,
        exchange,
        executor: Some(executor),
        trigger,
        http: reqwest::Client::new(),
    }
}

/// The daemon's recovery hook: a dry-run reconcile, its remaining differences recorded.
fn reconcile_hook(
    ledger: Ledger,
    exchange: Arc<dyn Exchange>,
    seen: Arc<std::sync::Mutex<Vec<usize>>>,
) -> sluice::router::RecoveryHook {
    Arc::new(move || {
        let (ledger, exchange, seen) = (ledger.clone(), exchange.clone(), seen.clone());
        Box::pin(async move {
            let is_sluice = |id: &str| sluice::router::SluiceOrderId::parse(id).is_ok();
            let report = sluice::ops::reconcile::run(
                &ledger,
                exchange.as_ref(),
                Default::default(),
                &is_sluice,
            )
            .await?;
            seen.lock().expect("lock").push(report.remaining.len());
            Ok(format!("{} difference(s)", report.remaining.len()))
        })
    })
}

pub fn allocation() -> Usdt {
    Usdt::new(Decimal::new(1_000_000, 0))
}

pub fn close_all(position: PositionId, key: &str) -> NewIntent {
    crate::ledger::close_intent(key, IntentKind::Close, position, PositionMode::OneWay)
}

pub fn open(symbol: &str, direction: Direction, qty: &str, key: &str) -> NewIntent {
    NewIntent {
        spec: IntentSpec::Open {
            symbol: sym(symbol),
            direction,
            size: OpenSize::Quantity(Qty::parse("quantity", qty).expect("qty")),
        },
        venue: VENUE.into(),
        position_mode: PositionMode::OneWay,
        reference_price: Some(sluice::domain::Price::parse("p", "180").expect("price")),
        idempotency_key: key.into(),
        reason: "test".into(),
    }
}

impl Daemon {
    pub async fn submit(&self, intent: NewIntent) -> IntentId {
        let created = self
            .ledger
            .create_intent(&intent, allocation())
            .await
            .expect("intent stored");
        if let Some(e) = &self.executor {
            e.poke();
        }
        created.intent.id
    }

    /// Poll the ledger until the intent is terminal (bounded: a stuck executor fails the test).
    pub async fn until_terminal(&self, id: IntentId, within: Duration) -> IntentRow {
        let read = || async {
            let row = self.ledger.intent(id).await.expect("read").expect("intent");
            if row.state.is_terminal() {
                Ok(row)
            } else {
                Err(row.state)
            }
        };
        match poll_seen(within, read).await {
            Ok(row) => row,
            Err(state) => panic!("intent #{id} still {state:?} after {within:?}"),
        }
    }

    /// Poll the ledger until some of the intent's quantity has filled (bounded).
    pub async fn until_filled_some(&self, id: IntentId) {
        crate::poll::until(
            format!("intent #{id}: something filled"),
            Duration::from_secs(30),
            || async {
                let orders = self.ledger.orders_of_intent(id).await.expect("orders");
                orders.iter().any(|o| !o.filled_quantity.is_zero())
            },
        )
        .await;
    }

    /// POST a JSON body to the simulator's admin API; it must succeed.
    pub async fn admin_post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    /// `DELETE /sim/faults`: every fault window ends.
    pub async fn admin_delete_faults(&self) {
        let r = self
            .http
            .delete(format!("{}/sim/faults", self.sim.base_url()))
            .send()
            .await
            .expect("admin request");
        assert!(
            r.status().is_success(),
            "DELETE /sim/faults: {}",
            r.status()
        );
    }

    pub async fn sim_state(&self) -> Value {
        crate::account::sim_state(&self.sim).await
    }

    /// Non-zero positions the simulator holds for the test account.
    pub async fn sim_positions(&self) -> Vec<Value> {
        let s = self.sim_state().await;
        s["accounts"][0]["positions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn sim_orders(&self) -> Vec<Value> {
        let s = self.sim_state().await;
        s["accounts"][0]["orders"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn fault(&self, window: Value) {
        let r = self
            .http
            .post(format!("{}/sim/faults", self.sim.base_url()))
            .json(&window)
            .send()
            .await
            .expect("fault");
        assert!(r.status().is_success(), "fault: {}", r.status());
    }

    pub async fn stop(mut self) -> SimHandle {
        self.trigger.trigger();
        if let Some(e) = self.executor.take() {
            e.stopped().await;
        }
        self.sim
    }
}

pub fn dec(v: &Value) -> Decimal {
    v.as_str()
        .map(|s| s.parse().expect("decimal"))
        .unwrap_or_else(|| v.to_string().parse().expect("decimal"))
}

pub fn state_is(row: &IntentRow, s: IntentState) -> bool {
    row.state == s
}

/// Serve the control API over `ledger` on a loopback port, with the process's metrics
/// recorder; returns its base URL. The server lives as long as the test runtime.
pub async fn serve_api(ledger: &Ledger) -> String {
    serve_api_with(ledger, None).await
}

/// As [`serve_api`], valuing opens and checking sizes against `exchange` (as the daemon).
pub async fn serve_api_on(ledger: &Ledger, exchange: Arc<BinanceFutures>) -> String {
    let prices = sluice::api::ExchangeMarkPrices::new(exchange as Arc<dyn Exchange>);
    serve_api_with(ledger, Some(Arc::new(prices))).await
}

async fn serve_api_with(
    ledger: &Ledger,
    mark_prices: Option<Arc<dyn sluice::api::MarkPrices>>,
) -> String {
    let readiness = Arc::new(sluice::api::Readiness::default());
    // The executor of this test leads: the API takes writes.
    readiness.set_role(sluice::api::Role::Active);
    let state = sluice::api::ApiState {
        readiness,
        token: None,
        ledger: ledger.clone(),
        venue: VENUE.into(),
        position_mode: PositionMode::OneWay,
        symbols: Vec::new(),
        allocation: allocation(),
        mark_prices,
        metrics: Some(sluice::metrics::install().expect("metrics recorder")),
        reconcile: Default::default(),
        protection_defaults: Default::default(),
        events: sluice::api::EventHub::start(ledger.clone(), None),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("api binds");
    let addr = listener.local_addr().expect("api addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, sluice::api::router(state)).await;
    });
    format!("http://{addr}")
}
