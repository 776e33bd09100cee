//! The simulator's REST side: shared state, the endpoint table, the request pipeline
//! (rate limits → auth → faults → handler), the handlers and the JSON renderers.

pub mod endpoints;
pub mod handlers_account;
pub mod handlers_key;
pub mod handlers_market;
pub mod handlers_trade;
pub mod http;
pub mod listen_keys;
pub mod order_params;
pub mod pipeline;
pub mod pump;
pub mod render;
pub mod render_info;
pub mod state;
pub mod stats;
