//! The operator tools: doctor, preflight, reconcile, report, smoke and the CLI's handling
//! of secrets, as library calls and as `sluice` processes. One binary; each test owns its
//! database and simulator.

mod cli_secrets;
mod cli_settings;
mod doctor;
mod doctor_acknowledge;
mod preflight;
mod preflight_cli;
mod reconcile_apply;
mod reconcile_classes;
mod reconcile_command;
mod reconcile_diff;
mod reconcile_protective;
mod reconcile_reattribute;
mod reconcile_repairs;
mod reconcile_resolve;
mod report_aggregate;
mod report_command;
mod report_evidence;
mod report_picture;
mod report_vs_sim;
mod smoke_cli;
