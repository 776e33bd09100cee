//! WebSocket streams: the user-data stream ([`user`]) and mark prices ([`market`]),
//! with their wire types ([`events`]). Handlers only decode; translation is `parse.rs`.

pub(crate) mod events;
pub(crate) mod market;
pub(crate) mod user;
