//! The Binance USDⓈ-M adapter: a raw client shaped like the venue (`rest/`, `ws/`)
//! and a translation layer shaped like the domain (`parse.rs`, and the `Exchange`
//! impl here). Hosts are configuration; the same code runs against `sluice sim`,
//! testnet and mainnet.
//!
//! Invariants: nothing is re-sent while an earlier send may be live (the adapter never
//! retries an order itself except after a clock rejection, which is a certain failure);
//! every REST attempt is audited; the API secret or private key never leaves
//! [`sign::Signer`].

mod algo;
pub(crate) mod audit;
mod batch;
pub(crate) mod classify;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod keyfile;
pub(crate) mod parse;
pub(crate) mod ratelimit;
pub(crate) mod resolve;
pub(crate) mod rest;
pub mod samples;
pub(crate) mod sign;
mod transport;
pub(crate) mod ws;
pub(crate) mod wsapi;

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use audit::{run_audit_writer, AttemptSink, AuditBuffer};
pub use clock::Clock;
pub use config::{BinanceConfig, SharedIp};
pub use keyfile::{signer_from_material, KeyError};
pub use parse::{account_events, symbol_rules};
pub use rest::algo::AlgoUpdateWire;
pub use rest::endpoints::order_params;
pub use rest::history::retained_trades;
pub use rest::wire::{ExchangeInfo, RateLimit, SymbolInfo, UserTrade};
pub use rest::RestClient;
pub use sign::{signed_query, KeyKind, SignError, Signer};
pub use ws::events::{AccountUpdate, LeverageConfig, MultiAssetsConfig, UserEvent};
pub use ws::user::StreamTiming;
pub use wsapi::{Logon, OrderTransport};

use crate::domain::{
    ClientOrderId, FilterChecked, OrderRequest, PositionMode, Symbol, SymbolRules,
};
use crate::exchange::{
    AccountEvent, AccountSnapshot, Exchange, ExchangeError, ExchangePosition, LeverageBracket,
    MarkPrice, OrderReport, OrderResolution, Purpose, TradingStatus,
};
use ratelimit::Budget;
use rest::wire;
use ws::market::MarkCache;
use ws::user::{StreamCtx, Tracker};

/// How often the clock offset is re-measured in the background.
const CLOCK_RESYNC_EVERY: Duration = Duration::from_secs(300);

/// The adapter. Hold it as `Arc<dyn Exchange>`.
pub struct BinanceFutures {
    cfg: BinanceConfig,
    rest: Arc<RestClient>,
    tracker: Arc<Tracker>,
    marks: Arc<MarkCache>,
    timing: StreamTiming,
    /// Asks the running user-stream session to end so a new one is opened.
    reopen: Arc<tokio::sync::Notify>,
    /// The WS API order transport (`order_transport = "ws"`), None for REST only.
    ws: Option<wsapi::WsApi>,
}

impl std::fmt::Debug for BinanceFutures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceFutures")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl BinanceFutures {
    /// Measure the clock, load the rate limits from exchangeInfo, start the periodic
    /// clock re-measure.
    pub async fn connect(
        cfg: BinanceConfig,
        audit: AuditBuffer,
    ) -> Result<Arc<Self>, ExchangeError> {
        Self::connect_with(cfg, audit, StreamTiming::default()).await
    }

    /// As [`connect`](Self::connect) with explicit stream timers (tests scale them down).
    pub async fn connect_with(
        cfg: BinanceConfig,
        audit: AuditBuffer,
        timing: StreamTiming,
    ) -> Result<Arc<Self>, ExchangeError> {
        let rest = Arc::new(RestClient::new(&cfg, audit.clone())?);
        rest.sync_clock(Purpose::Routine).await?;
        let info = rest.exchange_info(Purpose::Routine).await?;
        let budget = Budget::from_rate_limits(&info.rate_limits);
        rest.limiter.set_budget(budget);
        let ws = transport::start_ws_api(&cfg, &rest, audit).await;
        let me = Arc::new(Self {
            cfg,
            rest,
            tracker: Arc::new(Tracker::default()),
            marks: Arc::new(MarkCache::default()),
            timing,
            reopen: Arc::new(tokio::sync::Notify::new()),
            ws,
        });
        tokio::spawn(clock_loop(Arc::downgrade(&me.rest)));
        Ok(me)
    }

    /// The raw client, for endpoints the `Exchange` trait does not cover.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// The WS API transport, when `order_transport = "ws"`.
    pub fn ws_api(&self) -> Option<&wsapi::WsApi> {
        self.ws.as_ref()
    }

    /// The account's position mode and whether it is in multi-assets mode, from one
    /// `accountConfig` read (weight 5).
    pub async fn account_modes(&self) -> Result<(PositionMode, bool), ExchangeError> {
        let c = self.rest.account_config().await?;
        Ok((
            position_mode_of(c.dual_side_position),
            c.multi_assets_margin,
        ))
    }
}

#[cfg(test)]
pub(crate) mod reserve_loopback_tests;

async fn clock_loop(rest: Weak<RestClient>) {
    let mut tick = tokio::time::interval(CLOCK_RESYNC_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(rest) = rest.upgrade() else { return };
        if let Err(e) = rest.sync_clock(Purpose::Routine).await {
            tracing::warn!(error = %e, "periodic clock re-measure failed");
        }
    }
}

fn position_mode_of(dual_side_position: bool) -> PositionMode {
    if dual_side_position {
        PositionMode::Hedge
    } else {
        PositionMode::OneWay
    }
}

fn positions_of(rows: &[wire::PositionRisk]) -> Result<Vec<ExchangePosition>, ExchangeError> {
    rows.iter().map(parse::position).collect()
}

#[async_trait]
impl Exchange for BinanceFutures {
    fn venue(&self) -> &str {
        &self.cfg.venue_name
    }

    async fn ping(&self, purpose: Purpose) -> Result<Duration, ExchangeError> {
        let start = tokio::time::Instant::now();
        self.rest.ping(purpose).await?;
        Ok(start.elapsed())
    }

    async fn clock_offset_ms(&self) -> Result<i64, ExchangeError> {
        Ok(self.rest.clock.offset_ms())
    }

    async fn symbol_rules(&self, purpose: Purpose) -> Result<Vec<SymbolRules>, ExchangeError> {
        let info = self.rest.exchange_info(purpose).await?;
        info.symbols.iter().map(parse::symbol_rules).collect()
    }

    async fn mark_price(
        &self,
        symbol: &Symbol,
        purpose: Purpose,
    ) -> Result<MarkPrice, ExchangeError> {
        let stream = format!("{}@markPrice@1s", symbol.as_str().to_lowercase());
        ws::market::ensure_stream(&self.marks, self.cfg.ws_endpoint("market", &stream), symbol);
        if let Some(mark) = self.marks.fresh(symbol) {
            return Ok(mark);
        }
        let p = self.rest.premium_index(symbol, purpose).await?;
        let mark = MarkPrice {
            symbol: symbol.clone(),
            mark_price: crate::domain::Price::new("markPrice", p.mark_price)
                .map_err(|e| parse::bad(&e.field, e.reason))?,
            time: parse::time_ms("time", p.time)?,
        };
        self.marks.store(mark.clone());
        Ok(mark)
    }

    async fn leverage_brackets(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<LeverageBracket>, ExchangeError> {
        parse::leverage_brackets(self.rest.leverage_brackets(symbol).await?, symbol)
    }

    /// Preflight's and the operator's view: routine.
    async fn account(&self) -> Result<AccountSnapshot, ExchangeError> {
        let acct = self.rest.account_v2().await?;
        let mode = self.position_mode().await?;
        let positions = self.positions(Purpose::Routine).await?;
        Ok(AccountSnapshot {
            can_trade: acct.can_trade,
            can_withdraw: acct.can_withdraw,
            multi_assets_margin: acct.multi_assets_margin,
            position_mode: mode,
            total_wallet_balance: acct.total_wallet_balance,
            available_balance: acct.available_balance,
            balances: acct.assets.iter().map(parse::balance).collect(),
            positions,
        })
    }

    async fn positions(&self, purpose: Purpose) -> Result<Vec<ExchangePosition>, ExchangeError> {
        positions_of(&self.rest.position_risk_v3(purpose).await?)
    }

    async fn position_mode(&self) -> Result<PositionMode, ExchangeError> {
        let c = self.rest.account_config().await?;
        Ok(position_mode_of(c.dual_side_position))
    }

    async fn trading_status(&self, purpose: Purpose) -> Result<TradingStatus, ExchangeError> {
        parse::trading_status(&self.rest.api_trading_status(None, purpose).await?)
    }

    async fn reauthenticate(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<(), ExchangeError> {
        if let Some(source) = &self.cfg.credential_source {
            let loaded = source.load().and_then(|(key, material)| {
                keyfile::signer_from_material(secrecy::ExposeSecret::expose_secret(&material))
                    .map(|signer| (key, signer))
                    .map_err(|e| format!("the key file holds no usable key: {e}"))
            });
            match loaded {
                Ok((key, signer)) => {
                    if key != self.rest.api_key() {
                        tracing::warn!(api_key = %config::redact_key(&key), key_type = %signer.kind(), "using a replaced API key");
                    }
                    self.rest.set_credentials(key, signer);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not re-read the API key pair; probing with the current one")
                }
            }
        }
        // The same signed probe as the trait's default, now with the fresh pair; scoped to
        // `symbol` when given, which costs IP weight 1 instead of 10. Any answer the venue
        // parses as a trading status means it accepts the key.
        self.rest
            .api_trading_status(symbol, purpose)
            .await
            .and_then(|s| parse::trading_status(&s))
            .map(|_| ())
    }

    async fn open_orders(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<Vec<OrderReport>, ExchangeError> {
        self.rest
            .open_orders(symbol, purpose)
            .await?
            .iter()
            .map(parse::order_report)
            .collect()
    }

    async fn user_trades(
        &self,
        symbol: &Symbol,
        from_id: Option<i64>,
    ) -> Result<Vec<crate::domain::Fill>, ExchangeError> {
        let trades = match self
            .rest
            .user_trades(symbol, from_id, None, Purpose::Routine)
            .await
        {
            // A fromId older than userTrades' 3-month retention may be refused
            // (docs/binance-fapi.md §0): ask for what is retained instead; older trades
            // are the ledger's record alone.
            Err(e) if e.code == Some(-1130) && from_id.is_some() => {
                tracing::warn!(%symbol, ?from_id, "userTrades refused an old fromId; reading the retained 3 months only");
                let now = self.rest.clock.server_now_ms();
                rest::history::retained_trades(&self.rest, symbol, from_id, now).await?
            }
            other => other?,
        };
        trades.iter().map(parse::fill_from_trade).collect()
    }

    #[tracing::instrument(skip(self, order), fields(symbol = %order.inner().symbol, client_order_id = %order.inner().client_order_id))]
    async fn place_order(
        &self,
        order: &FilterChecked<OrderRequest>,
    ) -> Result<OrderReport, ExchangeError> {
        self.place_one(order).await
    }

    /// Over REST one `batchOrders`; over the WS API (while up) one `order.place` each.
    async fn place_orders(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Result<Vec<Result<OrderReport, ExchangeError>>, ExchangeError> {
        if self.orders_over_ws() && (1..=rest::endpoints::MAX_BATCH).contains(&orders.len()) {
            return Ok(self.place_each_over_ws(orders).await);
        }
        self.place_batch(orders).await
    }

    async fn test_order(&self, order: &FilterChecked<OrderRequest>) -> Result<(), ExchangeError> {
        self.rest.test_order(order).await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        let req = rest::endpoints::cancel_order_request(symbol, id);
        match self.order_call::<wire::Order>(&req).await {
            Ok(w) => parse::order_report(&w),
            Err(e) if e.code == Some(-2011) => Err(self.explain_cancel_reject(symbol, id, e).await),
            Err(e) => Err(e),
        }
    }

    async fn resolve_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
        purpose: Purpose,
    ) -> Result<OrderResolution, ExchangeError> {
        resolve::resolve(&self.rest, symbol, id, purpose).await
    }

    async fn resolve_orders(
        &self,
        symbol: &Symbol,
        ids: &[ClientOrderId],
        sent_since: chrono::DateTime<chrono::Utc>,
        purpose: Purpose,
    ) -> Vec<Result<OrderResolution, ExchangeError>> {
        resolve::resolve_many(&self.rest, symbol, ids, sent_since, purpose).await
    }

    async fn place_algo_order(
        &self,
        order: &crate::exchange::AlgoOrderRequest,
    ) -> Result<crate::exchange::AlgoOrderReport, ExchangeError> {
        algo::place(&self.rest, order).await
    }

    async fn algo_order(
        &self,
        client_algo_id: &str,
        purpose: Purpose,
    ) -> Result<Option<crate::exchange::AlgoOrderReport>, ExchangeError> {
        algo::lookup(&self.rest, client_algo_id, purpose).await
    }

    async fn cancel_algo_order(&self, client_algo_id: &str) -> Result<bool, ExchangeError> {
        algo::cancel(&self.rest, client_algo_id).await
    }

    async fn open_algo_orders(
        &self,
    ) -> Result<Vec<crate::exchange::AlgoOrderReport>, ExchangeError> {
        algo::open(&self.rest, None).await
    }

    async fn open_algo_orders_of(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<crate::exchange::AlgoOrderReport>, ExchangeError> {
        algo::open(&self.rest, Some(symbol)).await
    }

    async fn order_by_id(
        &self,
        symbol: &Symbol,
        order_id: i64,
    ) -> Result<(OrderReport, Vec<crate::domain::Fill>), ExchangeError> {
        algo::order_by_id(&self.rest, symbol, order_id).await
    }

    async fn countdown_cancel_all(
        &self,
        symbol: &Symbol,
        countdown: Duration,
    ) -> Result<(), ExchangeError> {
        let ms = u64::try_from(countdown.as_millis()).unwrap_or(u64::MAX);
        self.rest.countdown_cancel_all(symbol, ms).await.map(|_| ())
    }

    async fn subscribe_account(
        &self,
        in_flight: &[(Symbol, ClientOrderId)],
    ) -> Result<mpsc::Receiver<AccountEvent>, ExchangeError> {
        for (symbol, id) in in_flight {
            self.tracker.order_sent(symbol, id);
        }
        let (tx, rx) = mpsc::channel(10_000);
        let ctx = Arc::new(StreamCtx {
            cfg: self.cfg.clone(),
            rest: self.rest.clone(),
            tracker: self.tracker.clone(),
            timing: self.timing,
            reopen: self.reopen.clone(),
        });
        tokio::spawn(ws::user::run_user_stream(ctx, tx));
        Ok(rx)
    }

    fn background_read_fits(&self, weight: u32) -> bool {
        self.rest.limiter.background_fits(weight)
    }

    fn reopen_user_stream(&self) {
        // A permit is kept if no session is waiting (mid-reconnect): the next one ends
        // at once, which the caller's spacing of requests bounds.
        self.reopen.notify_one();
    }
}
