//! Operator commands, one file each (preflight, reconcile, doctor, flatten, report).
//! Each returns a report that renders as a table or JSON; the CLI and API share them.

pub mod account;
pub mod demo;
pub mod doctor;
pub mod exchange_info;
pub mod preflight;
pub mod reconcile;
pub mod report;
