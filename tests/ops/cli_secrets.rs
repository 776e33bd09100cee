//! The binary never prints a secret: run it with known secrets in its environment and
//! search everything it wrote (stdout and stderr, text and JSON logs).

use std::process::{Command, Output};

const API_SECRET: &str = "SECRET-api-5b1f0c9e7d";
const API_TOKEN: &str = "SECRET-token-a8c2e41b";
const DB_PASSWORD: &str = "SECRET-dbpass-77f3";

fn sluice(args: &[&str]) -> Output {
    sluice_on(args, "127.0.0.1:1")
}

/// The binary with the known secrets, its database URL pointing at `host_port`.
fn sluice_on(args: &[&str], host_port: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .env("SLUICE__EXCHANGE__API_KEY", "test-key-0001")
        .env("SLUICE__EXCHANGE__API_SECRET", API_SECRET)
        .env("SLUICE__API__TOKEN", API_TOKEN)
        .env(
            "SLUICE__DATABASE__URL",
            format!("postgres://dbuser-4c1:{DB_PASSWORD}@{host_port}/dbname-93e"),
        )
        .env("RUST_LOG", "trace")
        .output()
        .expect("the sluice binary runs")
}

fn assert_no_secret(out: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [API_SECRET, API_TOKEN, DB_PASSWORD] {
        assert!(
            !all.contains(secret),
            "secret {secret} appeared in output:\n{all}"
        );
    }
}

#[test]
fn config_show_redacts_every_secret() {
    let out = sluice(&["config", "show"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("[redacted]"), "{stdout}");
    assert_no_secret(&out);
    // The README: `config show` prints only the host of the database URL.
    assert!(
        stdout.contains("url = \"postgres://127.0.0.1:1\""),
        "{stdout}"
    );
    for private in ["dbuser-4c1", "dbname-93e"] {
        assert!(!stdout.contains(private), "{private} shown:\n{stdout}");
    }
}

#[test]
fn json_logs_of_a_failing_daemon_start_carry_no_secret() {
    // The test server refuses the role (a database that is merely unreachable is waited
    // for), so `run` fails after settings and telemetry are up, logging its error chain
    // (which includes the database URL) at trace level, and exits 78 (configuration).
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL: the test Postgres");
    let base = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    let host_port = format!(
        "{}:{}",
        base.host_str().expect("a host"),
        base.port().unwrap_or(5432)
    );
    let out = sluice_on(&["--log-format", "json", "run"], &host_port);
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stderr.is_empty(), "the failure is reported");
    assert_no_secret(&out);
}
