//! The control API (axum): loopback by default, bearer token, thin handlers.
