//! Gathering the facts preflight judges, from the venue, through the real adapter.
//!
//! Every probe runs under the same deadline; a probe past it is
//! [`ProbeError::Timeout`]. Probes that depend on an earlier one that failed are not
//! sent ([`ProbeError::NotChecked`]): an unreachable venue is one failed line and a
//! list of "not checked", not twenty timeouts. Independent probes run concurrently, in
//! five bounded stages (connect, ping, {clock, account, key, rules}, the account-level
//! probes, the per-symbol probes), so a venue that hangs costs at most five deadlines and,
//! when only keyed calls hang, three.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Serialize;

use super::expect::{probe_order, Expectations, SymbolExpectation};
use crate::domain::{ClientOrderId, PositionMode, Price, Symbol, SymbolRules};
use crate::exchange::binance::rest::RestClient;
use crate::exchange::binance::{AuditBuffer, BinanceConfig, BinanceFutures};
use crate::exchange::{
    ErrorClass, Exchange, ExchangeError, LeverageBracket, Purpose, TradingStatus,
};

/// Why a fact is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum ProbeError {
    /// No answer within the check's deadline.
    Timeout { after_ms: u64 },
    /// The venue (or the transport) answered with an error, kept verbatim.
    Exchange {
        class: ErrorClass,
        http_status: Option<u16>,
        code: Option<i64>,
        msg: String,
    },
    /// No HTTP answer at all (connection refused, TLS, WebSocket handshake).
    Transport(String),
    /// Not attempted because a check it depends on failed (the reason says which).
    NotChecked(String),
    /// Sluice could not build the probe (its own filters refused it, an unreadable value).
    Local(String),
}

impl From<ExchangeError> for ProbeError {
    fn from(e: ExchangeError) -> Self {
        ProbeError::Exchange {
            class: e.class,
            http_status: e.http_status,
            code: e.code,
            msg: e.msg,
        }
    }
}

pub(crate) type Probe<T> = Result<T, ProbeError>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccountFacts {
    pub can_trade: bool,
    pub(crate) can_withdraw: bool,
    /// The USDT asset's available balance; None when the account lists no USDT.
    pub(crate) usdt_available: Option<Decimal>,
}

/// The key's own settings (`/sapi/v1/account/apiRestrictions`, spot host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyFacts {
    pub(crate) enable_futures: bool,
    pub(crate) enable_withdrawals: bool,
    pub(crate) ip_restrict: bool,
}

/// `symbolConfig`: margin type (`CROSSED`/`ISOLATED`) and leverage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SymbolConfigFacts {
    pub(crate) margin_type: String,
    pub leverage: u32,
}

/// The order sent to `/order/test` and accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TestOrderFacts {
    pub side: String,
    pub quantity: Decimal,
    pub price: Decimal,
    pub mark: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SymbolObservation {
    pub symbol: Symbol,
    pub config: Probe<SymbolConfigFacts>,
    pub brackets: Probe<Vec<LeverageBracket>>,
    pub test_order: Probe<TestOrderFacts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Observations {
    /// Round trip of `GET /fapi/v1/ping`.
    pub(crate) rest_latency: Probe<Duration>,
    /// Local minus server, from a fresh `/time` round trip.
    pub clock_offset_ms: Probe<i64>,
    pub account: Probe<AccountFacts>,
    /// None when `preflight.key_permissions_url` is unset (nothing to ask).
    pub key: Option<Probe<KeyFacts>>,
    pub trading_status: Probe<TradingStatus>,
    pub position_mode: Probe<PositionMode>,
    pub multi_assets: Probe<bool>,
    /// exchangeInfo, every symbol.
    pub rules: Probe<Vec<SymbolRules>>,
    pub symbols: Vec<SymbolObservation>,
    pub listen_key: Probe<()>,
    pub user_stream: Probe<()>,
}

impl Observations {
    /// Every fact "not checked: `why`"; the probes fill in what they learn.
    pub(crate) fn not_checked(why: &str, expect: &Expectations) -> Observations {
        let nc = || ProbeError::NotChecked(why.to_string());
        Observations {
            rest_latency: Err(nc()),
            clock_offset_ms: Err(nc()),
            account: Err(nc()),
            key: expect.key_permissions_url.as_ref().map(|_| Err(nc())),
            trading_status: Err(nc()),
            position_mode: Err(nc()),
            multi_assets: Err(nc()),
            rules: Err(nc()),
            symbols: expect
                .symbols
                .iter()
                .map(|s| SymbolObservation {
                    symbol: s.symbol.clone(),
                    config: Err(nc()),
                    brackets: Err(nc()),
                    test_order: Err(nc()),
                })
                .collect(),
            listen_key: Err(nc()),
            user_stream: Err(nc()),
        }
    }
}

/// Run `fut` under `deadline`.
pub(super) async fn timed<T, F>(deadline: Duration, fut: F) -> Probe<T>
where
    F: Future<Output = Result<T, ProbeError>>,
{
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::Timeout {
            after_ms: deadline.as_millis() as u64,
        }),
    }
}

const UNREACHABLE: &str = "the REST API is unreachable (see rest_reachable)";
const KEY_REFUSED: &str = "the API key was refused (see api_key)";

/// Connect the adapter and gather every fact.
pub(crate) async fn observe(
    cfg: BinanceConfig,
    expect: &Expectations,
    deadline: Duration,
) -> Observations {
    let unreachable = |e: ProbeError| {
        let mut o = Observations::not_checked(UNREACHABLE, expect);
        o.rest_latency = Err(e);
        o
    };
    let connect = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1024));
    let ex = match timed(deadline, async { connect.await.map_err(ProbeError::from) }).await {
        Ok(ex) => ex,
        Err(e) => return unreachable(e),
    };
    let rest_latency = timed(deadline, async {
        ex.ping(crate::exchange::Purpose::Routine)
            .await
            .map_err(ProbeError::from)
    })
    .await;
    if let Err(e) = rest_latency {
        return unreachable(e);
    }
    // From here on, a fact nobody could ask for is missing because the key was refused.
    let mut o = Observations::not_checked(KEY_REFUSED, expect);
    o.rest_latency = rest_latency;
    // The adapter measured the clock when it connected: the key probe may sign meanwhile.
    let key = async {
        match &expect.key_permissions_url {
            Some(url) => Some(timed(deadline, key_facts(&ex, &cfg, url)).await),
            None => None,
        }
    };
    (o.clock_offset_ms, o.account, o.key, o.rules) = tokio::join!(
        timed(deadline, async {
            ex.rest()
                .sync_clock(crate::exchange::Purpose::Routine)
                .await
                .map_err(ProbeError::from)
        }),
        timed(deadline, account_facts(&ex)),
        key,
        timed(deadline, async {
            ex.symbol_rules(Purpose::Routine).await.map_err(Into::into)
        }),
    );
    if !o.account.as_ref().is_err_and(is_auth) {
        signed_facts(&ex, &cfg, expect, deadline, &mut o).await;
    }
    o
}

fn is_auth(e: &ProbeError) -> bool {
    matches!(
        e,
        ProbeError::Exchange {
            class: ErrorClass::Auth,
            ..
        }
    )
}

async fn account_facts(ex: &BinanceFutures) -> Probe<AccountFacts> {
    let a = ex.rest().account_v2().await?;
    Ok(AccountFacts {
        can_trade: a.can_trade,
        can_withdraw: a.can_withdraw,
        usdt_available: a
            .assets
            .iter()
            .find(|b| b.asset == "USDT")
            .map(|b| crate::exchange::binance::parse::balance(b).available_balance),
    })
}

/// The key's settings from the spot host, signed with the same key and clock offset.
async fn key_facts(ex: &BinanceFutures, cfg: &BinanceConfig, url: &url::Url) -> Probe<KeyFacts> {
    let mut spot = cfg.clone();
    spot.rest_url = url.clone();
    let client = RestClient::new(&spot, AuditBuffer::new(64))?;
    client.clock.set_offset_ms(ex.rest().clock.offset_ms());
    let r = client.api_restrictions().await?;
    Ok(KeyFacts {
        enable_futures: r.enable_futures,
        enable_withdrawals: r.enable_withdrawals,
        ip_restrict: r.ip_restrict,
    })
}

/// Everything keyed after the account answered, concurrently.
async fn signed_facts(
    ex: &Arc<BinanceFutures>,
    cfg: &BinanceConfig,
    expect: &Expectations,
    deadline: Duration,
    o: &mut Observations,
) {
    // One accountConfig read (weight 5) answers both modes (docs/binance-fapi.md §2.3).
    let (trading_status, modes, stream) = tokio::join!(
        timed(deadline, async {
            ex.trading_status(Purpose::Routine)
                .await
                .map_err(Into::into)
        }),
        timed(deadline, async {
            ex.account_modes().await.map_err(ProbeError::from)
        }),
        super::observe_stream::listen_and_connect(ex, cfg, deadline),
    );
    let position_mode = modes.clone().map(|(mode, _)| mode);
    let multi_assets = modes.map(|(_, on)| on);
    // The probe order follows the account's actual mode: a wrong mode is position_mode's
    // failure, not a second one on every test order.
    let mode = position_mode.clone().unwrap_or(expect.position_mode);
    let rules = o.rules.as_ref().ok();
    o.symbols = futures_util::future::join_all(
        expect
            .symbols
            .iter()
            .map(|s| symbol_facts(ex, s, rules, mode, deadline)),
    )
    .await;
    o.trading_status = trading_status;
    o.position_mode = position_mode;
    o.multi_assets = multi_assets;
    (o.listen_key, o.user_stream) = stream;
}

async fn symbol_facts(
    ex: &BinanceFutures,
    s: &SymbolExpectation,
    rules: Option<&Vec<SymbolRules>>,
    mode: PositionMode,
    deadline: Duration,
) -> SymbolObservation {
    if rules.is_some_and(|all| !all.iter().any(|r| r.symbol == s.symbol)) {
        let nc =
            || ProbeError::NotChecked("the venue does not list the symbol (see filters)".into());
        return SymbolObservation {
            symbol: s.symbol.clone(),
            config: Err(nc()),
            brackets: Err(nc()),
            test_order: Err(nc()),
        };
    }
    let config = timed(deadline, symbol_config(ex, &s.symbol));
    // Brackets only matter against a configured max position.
    let brackets = timed(deadline, async {
        match s.max_position_usdt {
            Some(_) => ex.leverage_brackets(&s.symbol).await.map_err(Into::into),
            None => Err(ProbeError::NotChecked("no max_position_usdt".into())),
        }
    });
    let rules = rules.and_then(|all| all.iter().find(|r| r.symbol == s.symbol));
    let test_order = timed(deadline, test_order(ex, rules, mode));
    let (config, brackets, test_order) = tokio::join!(config, brackets, test_order);
    SymbolObservation {
        symbol: s.symbol.clone(),
        config,
        brackets,
        test_order,
    }
}

async fn symbol_config(ex: &BinanceFutures, symbol: &Symbol) -> Probe<SymbolConfigFacts> {
    let rows = ex.rest().symbol_config(symbol).await?;
    rows.into_iter()
        .find(|r| r.symbol == symbol.as_str())
        .map(|r| SymbolConfigFacts {
            margin_type: r.margin_type,
            leverage: r.leverage,
        })
        .ok_or_else(|| ProbeError::Local(format!("symbolConfig has no row for {symbol}")))
}

async fn test_order(
    ex: &BinanceFutures,
    rules: Option<&SymbolRules>,
    mode: PositionMode,
) -> Probe<TestOrderFacts> {
    let Some(rules) = rules else {
        return Err(ProbeError::NotChecked(
            "no trading rules for the symbol (see filters)".into(),
        ));
    };
    let p = ex
        .rest()
        .premium_index(&rules.symbol, crate::exchange::Purpose::Routine)
        .await?;
    let mark =
        Price::new("markPrice", p.mark_price).map_err(|e| ProbeError::Local(e.to_string()))?;
    let id = format!("pf-{}", uuid::Uuid::new_v4().simple());
    let id: String = id.chars().take(ClientOrderId::MAX_LEN).collect();
    let id = ClientOrderId::new(&id).map_err(|e| ProbeError::Local(e.to_string()))?;
    let order = probe_order(rules, mark, mode, id).map_err(|v| {
        ProbeError::Local(format!("sluice's own filters refused the probe order: {v}"))
    })?;
    ex.test_order(&order).await?;
    let o = order.inner();
    Ok(TestOrderFacts {
        side: o.side.as_wire().to_string(),
        quantity: o.quantity.get(),
        price: o.price.map(|p| p.get()).unwrap_or_default(),
        mark: mark.get(),
    })
}
