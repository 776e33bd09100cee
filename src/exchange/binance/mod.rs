//! The Binance USDⓈ-M adapter: a raw client shaped like the venue (`rest/`, `ws/`)
//! and a translation layer shaped like the domain (`parse.rs`, and the `Exchange`
//! impl here). Hosts are configuration; the same code runs against `sluice sim`,
//! testnet and mainnet.
