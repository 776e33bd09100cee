//! The raw REST layer: a client shaped like the venue ([`client`]) sending
//! [`request`]s, one method per endpoint ([`endpoints`]) and the wire types they
//! exchange ([`wire`]).

pub mod algo;
mod batch_audit;
pub mod client;
pub mod endpoints;
pub mod history;
pub(crate) mod outcome;
pub mod request;
pub mod wire;

pub use client::RestClient;
pub use request::{RateHeaders, Request, Security};
