//! The raw REST layer: a client shaped like the venue ([`client`]) sending
//! [`request`]s, one method per endpoint ([`endpoints`]) and the wire types they
//! exchange ([`wire`]).

pub(crate) mod algo;
mod batch_audit;
pub(crate) mod client;
pub(crate) mod endpoints;
pub(crate) mod history;
pub(crate) mod outcome;
pub(crate) mod request;
pub(crate) mod wire;

pub use client::RestClient;
pub(crate) use request::{RateHeaders, Request};
