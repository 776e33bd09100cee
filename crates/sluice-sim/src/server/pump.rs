//! The background task: ticks the venue (matching resting orders, the mark walk), renders
//! its user events (releasing delayed ones) and market updates onto the broadcast channels,
//! and fires the one-shot actions of fault windows as they open
//! (disconnect sockets, invalidate listenKeys, revoke API keys).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::server::state::{MarketMsg, SimState};
use crate::ws::events;

/// Market streams publish every second of real time (`@markPrice@1s`).
const MARK_EVERY: Duration = Duration::from_secs(1);

struct Pump {
    state: Arc<SimState>,
    last_mark: Instant,
    last_books: Vec<String>,
    book_update_id: i64,
}

/// Runs until `stop` flips to true.
pub(crate) async fn run(state: Arc<SimState>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(state.tick_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pump = Pump {
        state: state.clone(),
        last_mark: Instant::now(),
        last_books: Vec::new(),
        book_update_id: 1,
    };
    loop {
        tokio::select! {
            _ = tick.tick() => pump.on_tick(),
            _ = stop.changed() => break,
        }
    }
}

impl Pump {
    fn on_tick(&mut self) {
        let now = self.state.clock.wall_ms();
        let stall = self.state.algo_stall();
        {
            let mut venue = self.state.venue();
            venue.stall_algo_triggers(stall);
            venue.tick(now);
        }
        self.state.fire_opening_windows();
        self.state.flush_user_events();
        self.publish_market(now);
    }

    fn publish_market(&mut self, now_ms: i64) {
        let (marks, books) = {
            let venue = self.state.venue();
            let names: Vec<String> = venue.symbols().iter().map(|s| s.name.clone()).collect();
            let books: Vec<_> = names.iter().filter_map(|n| venue.book_ticker(n)).collect();
            (venue.marks(), books)
        };
        let tx = &self.state.market_tx;
        if self.last_mark.elapsed() >= MARK_EVERY {
            self.last_mark = Instant::now();
            for m in &marks {
                let stream = format!("{}@markprice@1s", m.symbol.to_lowercase());
                let json = events::mark_price_update(m, now_ms);
                let _ = tx.send(MarketMsg {
                    stream: stream.into(),
                    json: json.into(),
                });
            }
        }
        let keys: Vec<String> = books
            .iter()
            .map(|b| format!("{}{}{}{}", b.bid_price, b.bid_qty, b.ask_price, b.ask_qty))
            .collect();
        for (i, b) in books.iter().enumerate() {
            if self.last_books.get(i) == keys.get(i) {
                continue;
            }
            self.book_update_id += 1;
            let stream = format!("{}@bookticker", b.symbol.to_lowercase());
            let json = events::book_ticker_update(b, self.book_update_id, now_ms);
            let _ = tx.send(MarketMsg {
                stream: stream.into(),
                json: json.into(),
            });
        }
        self.last_books = keys;
    }
}
