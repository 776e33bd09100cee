//! The simulator's REST side: shared state, the endpoint table, the request pipeline
//! (rate limits → auth → faults → handler), the handlers and the JSON renderers.

pub(crate) mod batch_faults;
pub(crate) mod endpoints;
pub(crate) mod handlers_account;
pub(crate) mod handlers_algo;
pub(crate) mod handlers_key;
pub(crate) mod handlers_market;
pub(crate) mod handlers_trade;
pub(crate) mod http;
pub(crate) mod listen_keys;
pub(crate) mod order_params;
pub(crate) mod pipeline;
pub(crate) mod pump;
pub(crate) mod render;
pub(crate) mod render_info;
pub(crate) mod state;
pub(crate) mod stats;
