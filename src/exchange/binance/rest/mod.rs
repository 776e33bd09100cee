//! The raw REST layer: a client shaped like the venue ([`client`]), one method per
//! endpoint ([`endpoints`]) and the wire types they exchange ([`wire`]).

pub mod client;
pub mod endpoints;
pub mod history;
pub mod wire;

pub use client::{RateHeaders, Request, RestClient, Security};
