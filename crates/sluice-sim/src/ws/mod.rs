//! WebSocket streams: user data (/private) and market data (/market, /public): URL forms
//! in [`routes`], one connection's loop in [`socket`], payload rendering in [`events`].

pub mod events;
pub mod routes;
pub mod socket;
