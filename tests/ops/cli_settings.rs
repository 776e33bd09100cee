//! The real binary's settings outside the source tree: the defaults are compiled in, so
//! `sluice` runs from any directory without `--config-dir`; a config directory (given,
//! or `./config`) and the environment only override; a given directory that does not
//! exist is refused naming it.

use std::path::Path;
use std::process::{Command, Output};

/// `sluice <args>` in `cwd` with a clean environment plus `env`.
fn sluice_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .envs(env.iter().copied())
        .output()
        .expect("the sluice binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_show_works_from_a_directory_without_config_using_the_built_in_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sluice_in(dir.path(), &[], &["config", "show"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("venue = \"testnet\""), "{shown}");
    assert!(shown.contains("max_connections = 10"), "{shown}");
    assert!(shown.contains("\"SOLUSDT\""), "{shown}");
    assert!(
        shown.contains("# rest        = https://testnet.binancefuture.com\n"),
        "{shown}"
    );
}

#[test]
fn sluice_env_selects_a_built_in_file_when_no_config_directory_has_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sluice_in(
        dir.path(),
        &[("SLUICE_ENV", "production")],
        &["config", "show"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("venue = \"mainnet\""), "{shown}");
    assert!(shown.contains("log_format = \"json\""), "{shown}");
}

#[test]
fn a_config_directory_in_the_working_directory_and_the_environment_override_the_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    std::fs::write(
        dir.path().join("config/default.toml"),
        "[database]\nmax_connections = 3\n[budget]\nallocation_usdt = \"250\"\n",
    )
    .expect("write");
    let env = [("SLUICE__EXCHANGE__VENUE", "demo")];
    let out = sluice_in(dir.path(), &env, &["config", "show"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("max_connections = 3"), "{shown}");
    assert!(shown.contains("allocation_usdt = \"250\""), "{shown}");
    assert!(shown.contains("venue = \"demo\""), "{shown}");
    assert!(shown.contains("position_mode = \"one-way\""), "{shown}");
}

#[test]
fn a_given_config_directory_that_does_not_exist_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-config");
    let missing = missing.to_str().expect("utf-8");
    let out = sluice_in(
        dir.path(),
        &[],
        &["--config-dir", missing, "config", "show"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains(missing), "{}", stderr(&out));
}

#[test]
fn a_bad_setting_from_the_environment_names_the_key_and_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("SLUICE__EXCHANGE__POSITION_MODE", "both-ways")];
    let out = sluice_in(dir.path(), &env, &["config", "show"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("exchange.position_mode")
            && err.contains("`both-ways` is not one-way or hedge"),
        "{err}"
    );
}

#[test]
fn the_account_flag_names_the_account_and_a_bad_name_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");

    let named = sluice_in(dir.path(), &[], &["--account", "b", "config", "show"]);
    let flag = sluice_in(
        dir.path(),
        &[],
        &["config", "show", "--account", "Not Valid"],
    );
    let env = sluice_in(
        dir.path(),
        &[("SLUICE__EXCHANGE__ACCOUNT", "Not/Valid")],
        &["config", "show"],
    );
    let unset = sluice_in(dir.path(), &[], &["config", "show"]);

    assert!(named.status.success(), "{}", stderr(&named));
    assert!(
        stdout(&named).contains("account = \"b\""),
        "{}",
        stdout(&named)
    );
    assert!(!flag.status.success());
    assert!(
        stderr(&flag).contains("not an account name"),
        "{}",
        stderr(&flag)
    );
    assert!(!env.status.success());
    assert!(
        stderr(&env).contains("exchange.account"),
        "{}",
        stderr(&env)
    );
    assert!(!stdout(&unset).contains("account ="), "{}", stdout(&unset));
}
