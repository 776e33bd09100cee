//! WebSocket streams: user data (/private) and market data (/market, /public): URL forms
//! in [`routes`], one connection's loop in [`socket`], payload rendering in [`events`].

pub(crate) mod events;
pub(crate) mod routes;
pub(crate) mod socket;
