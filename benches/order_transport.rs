//! Order round trip over the WS API against REST, on loopback against the simulator with
//! its order limits lifted: one MARKET order placed and answered (`place_order` through the
//! real adapter), alternating BUY and SELL so the position stays small. Measured one at a
//! time and with 8 in flight at once, for REST (HMAC), the WS API with per-request HMAC
//! signatures, and the WS API after `session.logon` (Ed25519, unsigned frames).
//!
//! Prints per transport: orders, wall time, orders/s, and the round trip's p50/p90/p99.
//! Run (release): `CARGO_TARGET_DIR=target-release cargo bench --bench order_transport`;
//! an argument after `--` sets the orders per case (default 2000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::domain::{
    validate, ClientOrderId, FilterChecked, OrderRequest, OrderType, PositionSide, Price, Qty,
    Side, Symbol, SymbolRules,
};
use sluice::exchange::binance::{BinanceConfig, BinanceFutures};
use sluice::exchange::Exchange;
use sluice_testkit::account::{scenario, start_sim, SimHandle};
use sluice_testkit::adapter::{config, start_with};
use sluice_testkit::wsapi::{ws_config_ed25519, ws_config_hmac};

const CONCURRENCY: usize = 8;

/// The adapter's settings for one transport, on a running simulator.
type Settings<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = BinanceConfig> + 'a>>;

struct Case {
    name: &'static str,
    make: fn(&SimHandle) -> Settings<'_>,
}

fn rest(sim: &SimHandle) -> Settings<'_> {
    Box::pin(async move { config(sim) })
}
fn ws_hmac(sim: &SimHandle) -> Settings<'_> {
    Box::pin(async move { ws_config_hmac(sim) })
}
fn ws_ed(sim: &SimHandle) -> Settings<'_> {
    Box::pin(ws_config_ed25519(sim))
}

/// The simulator's account with the venue's order and weight limits lifted.
fn lifted() -> sluice_sim::Scenario {
    scenario(
        "[rate_limits]\nrequest_weight_per_minute = 100000000\norders_per_10s = 100000000\norders_per_minute = 100000000\n",
        "",
    )
}

struct Orders {
    rules: SymbolRules,
    mark: Price,
    symbol: Symbol,
}

impl Orders {
    fn nth(&self, prefix: &str, i: usize) -> FilterChecked<OrderRequest> {
        let req = OrderRequest {
            symbol: self.symbol.clone(),
            side: if i.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: Qty::parse("q", "0.01").expect("qty"),
            price: None,
            time_in_force: None,
            reduce_only: false,
            client_order_id: ClientOrderId::new(&format!("{prefix}-{i}")).expect("id"),
            price_match: None,
            good_till_date: None,
        };
        validate(&self.rules, req, self.mark).expect("passes filters")
    }
}

/// `n` orders by `workers` tasks at once: wall time and each round trip.
async fn run(
    ex: Arc<BinanceFutures>,
    orders: Arc<Orders>,
    tag: &str,
    n: usize,
    workers: usize,
) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (ex, orders, tag) = (ex.clone(), orders.clone(), format!("{tag}{w}"));
        tasks.push(tokio::spawn(async move {
            let mut rtts = Vec::new();
            for i in (0..n / workers).map(|k| k * 2) {
                // Pairs (BUY then SELL) keep every worker flat.
                for j in [i, i + 1] {
                    let order = orders.nth(&tag, j);
                    let t = Instant::now();
                    ex.place_order(&order).await.expect("order placed");
                    rtts.push(t.elapsed());
                }
            }
            rtts
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    (start.elapsed(), all)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let cases = [
        Case {
            name: "rest (hmac)",
            make: rest,
        },
        Case {
            name: "ws api (hmac, signed frames)",
            make: ws_hmac,
        },
        Case {
            name: "ws api (ed25519, session.logon)",
            make: ws_ed,
        },
    ];
    println!("| transport | in flight | orders | wall s | orders/s | p50 µs | p90 µs | p99 µs |");
    println!("|---|---|---|---|---|---|---|---|");
    for case in &cases {
        for workers in [1, CONCURRENCY] {
            let sim = start_sim(lifted()).await;
            let cfg = (case.make)(&sim).await;
            let l = start_with(sim, cfg).await;
            let symbol = Symbol::new("BTCUSDT").expect("symbol");
            let rules = l.rules("BTCUSDT").await;
            let mark =
                l.ex.mark_price(&symbol, sluice::exchange::Purpose::Routine)
                    .await
                    .expect("mark")
                    .mark_price;
            let orders = Arc::new(Orders {
                rules,
                mark,
                symbol,
            });
            // Warm up connections and caches.
            run(l.ex.clone(), orders.clone(), "w", 50, workers.min(2)).await;
            let (wall, mut rtts) = run(l.ex.clone(), orders, "m", n / 2, workers).await;
            rtts.sort();
            println!(
                "| {} | {workers} | {} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
                case.name,
                rtts.len(),
                wall.as_secs_f64(),
                rtts.len() as f64 / wall.as_secs_f64(),
                pct(&rtts, 0.5),
                pct(&rtts, 0.9),
                pct(&rtts, 0.99),
            );
            l.audit.drain(usize::MAX);
            l.sim.shutdown().await;
        }
    }
}
