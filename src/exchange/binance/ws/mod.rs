//! WebSocket streams: the user-data stream ([`user`]) and mark prices ([`market`]),
//! with their wire types ([`events`]). Handlers only decode; translation is `parse.rs`.

pub mod events;
pub mod market;
pub mod user;
