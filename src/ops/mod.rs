//! Operator commands, one file each: `account` and `exchange_info` (read-only exchange
//! views), `preflight`, `reconcile`, `doctor`, `report` and `demo` (the demo history).
//! Each returns a report that renders as a table or JSON; the CLI and API share them.
//! (Halt, resume and flatten are control-API writes: `api::control`.)

pub mod account;
pub mod demo;
pub mod doctor;
mod doctor_intents;
pub mod smoke;
mod smoke_report;
pub mod exchange_info;
pub mod preflight;
pub mod reconcile;
pub mod report;
