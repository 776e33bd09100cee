//! The Binance adapter over real HTTP and WebSocket against the simulator on loopback:
//! orders, faults, rate limits, history and the user stream. One binary; each test owns
//! its simulator.

mod algo;
mod faults;
mod history;
mod keys;
mod loopback;
mod ratelimit;
mod recovery;
mod stream;
mod wsapi;
