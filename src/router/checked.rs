//! The only way to build a sendable order.
//!
//! Filter validation lives in [`crate::domain::checked`] (it is vocabulary every part
//! shares); the router re-exports it so that executor code reads `router::checked::validate`.
//! An order reaches `Exchange::place_order` only as a [`FilterChecked<OrderRequest>`],
//! which only [`validate`] can build.
//!
//! [`FilterChecked<OrderRequest>`]: crate::domain::FilterChecked

pub use crate::domain::{validate, FilterChecked, FilterViolation};
