//! `sluice sim`: a Binance USDⓈ-M Futures simulator. It must NOT import
//! `exchange::binance`: it re-declares the wire it serves, so the adapter is tested
//! against an independent reading of the protocol.

pub mod venue;
