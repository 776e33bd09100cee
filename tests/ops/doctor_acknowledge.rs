//! `sluice doctor --acknowledge-external-fill`: an operator records that a fill no sluice
//! order explains is a genuine manual trade (who, why, when, on its anomaly); doctor then
//! lists it as acknowledged and no longer fails on it. Unknown, non-external and already
//! acknowledged fills, and unsafe or missing free text, are refused naming the field,
//! with nothing written. As library calls and as the `sluice` process.

use std::process::{Command, Output};

use rust_decimal_macros::dec;
use sluice::domain::{PositionSide, Side};
use sluice::ledger::{AnomalyKind, FillOutcome, Ledger, LedgerError};
use sluice::ops::doctor::{acknowledge_external_fill, run, DoctorOptions, FindingClass};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

fn opts() -> DoctorOptions {
    DoctorOptions {
        confirm: false,
        allocation: dec!(1000000),
    }
}

/// A SELL of 1.5 SOLUSDT at 160 (trade 11 of exchange order 555) no order explains.
async fn manual_trade(ledger: &Ledger) -> i64 {
    let f = fill(
        "SOLUSDT",
        11,
        555,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(1.5),
        dec!(160),
    );
    match ledger.apply_fill(VENUE, &f, &[]).await.expect("fill") {
        FillOutcome::External { fill_id } => fill_id.get(),
        other => panic!("{other:?}"),
    }
}

/// The acknowledgement columns of every anomaly: nothing written means these stay.
async fn acks(ledger: &Ledger) -> Vec<(Option<String>, Option<String>, bool)> {
    sqlx::query_as(
        "SELECT acknowledged_by, acknowledged_reason, acknowledged_at IS NOT NULL
         FROM ledger_anomalies ORDER BY id",
    )
    .fetch_all(ledger.pool())
    .await
    .unwrap()
}

fn refused_field(e: LedgerError) -> String {
    match e {
        LedgerError::Invalid { field, .. } => field,
        other => panic!("not a refusal naming a field: {other:?}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_acknowledged_external_fill_is_listed_and_no_longer_fails_doctor(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let fill_id = manual_trade(&ledger).await;
    let before = run(&ledger, opts()).await.unwrap();
    assert_eq!(before.exit_code(), 1);
    assert_eq!(before.findings[0].class, FindingClass::ExternalFill);

    let ack = acknowledge_external_fill(
        &ledger,
        fill_id,
        " ops-anna ",
        "hedged by hand on the web UI",
    )
    .await
    .expect("acknowledged");
    assert_eq!(
        (ack.fill_id, ack.actor.as_str(), ack.reason.as_str()),
        (fill_id, "ops-anna", "hedged by hand on the web UI")
    );

    let after = run(&ledger, opts()).await.unwrap();
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    assert_eq!(after.exit_code(), 0);
    assert_eq!(after.acknowledged.len(), 1);
    assert_eq!(after.acknowledged[0].ack, ack);
    assert!(after.acknowledged[0]
        .detail
        .starts_with(&format!("fill #{fill_id} (trade 11")));
    let text = after.to_string();
    assert!(
        text.contains("acknowledged external_fill: fill #")
            && text.contains("by ops-anna at")
            && text.contains("hedged by hand on the web UI"),
        "{text}"
    );
    let json = serde_json::to_value(&after).unwrap();
    assert_eq!(json["acknowledged"][0]["actor"], "ops-anna");
    assert_eq!(json["acknowledged"][0]["fill_id"], fill_id);
    // The anomaly stays, unresolved (no order explains it), and carries the evidence.
    let anomaly = ledger.anomalies().await.unwrap().remove(0);
    assert_eq!(anomaly.kind, AnomalyKind::ExternalFill);
    assert!(anomaly.resolved_at.is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_resolved_repeated_and_unsafe_acknowledgements_are_refused_writing_nothing(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let fill_id = manual_trade(&ledger).await;
    let untouched = acks(&ledger).await;

    for (id, actor, reason, field) in [
        (fill_id + 1000, "ops", "manual", "fill_id"),
        (fill_id, "ops", "manual \u{202E}edart", "reason"),
        (fill_id, "ops\u{200B}", "manual", "actor"),
        (fill_id, "ops", "line\nbreak", "reason"),
        (fill_id, "  ", "manual", "actor"),
        (fill_id, "ops", "", "reason"),
        (fill_id, "ops", &"x".repeat(501), "reason"),
    ] {
        let e = acknowledge_external_fill(&ledger, id, actor, reason)
            .await
            .expect_err("refused");
        assert_eq!(refused_field(e), field, "{actor:?} {reason:?}");
        assert_eq!(acks(&ledger).await, untouched, "nothing written");
    }

    acknowledge_external_fill(&ledger, fill_id, "ops", "manual")
        .await
        .expect("first");
    let done = acks(&ledger).await;
    let e = acknowledge_external_fill(&ledger, fill_id, "other", "again")
        .await
        .expect_err("already acknowledged");
    assert!(e.to_string().contains("already acknowledged by ops"), "{e}");
    assert_eq!(refused_field(e), "fill_id");
    assert_eq!(
        acks(&ledger).await,
        done,
        "the first acknowledgement stands"
    );

    // A fill of a known order is not external: nothing to acknowledge.
    let own = open_filled(
        &ledger,
        "o",
        "BTCUSDT",
        sluice::domain::Direction::Long,
        sluice::domain::PositionMode::OneWay,
        dec!(0.01),
        dec!(65000),
        21,
    )
    .await;
    drop(own);
    let theirs = ledger
        .all_fills()
        .await
        .unwrap()
        .into_iter()
        .find(|f| !f.external)
        .expect("an own fill");
    let e = acknowledge_external_fill(&ledger, theirs.id.get(), "ops", "manual")
        .await
        .expect_err("not external");
    assert!(e.to_string().contains("is not external"), "{e}");
    assert_eq!(refused_field(e), "fill_id");
}

/// `sluice doctor <args>` against the test's database.
async fn doctor_cli(pool: &PgPool, args: &[&str]) -> Output {
    let db = sluice_testkit::process::database_url(pool).await;
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("doctor")
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SLUICE_CONFIG_DIR", sluice_testkit::paths::config_dir())
            .env("DATABASE_URL", db)
            .output()
            .expect("run sluice doctor")
    })
    .await
    .expect("join")
}

fn both(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn the_cli_acknowledges_an_external_fill_and_doctor_then_exits_0(pool: PgPool) {
    let ledger = Ledger::from_pool(pool.clone());
    let fill_id = manual_trade(&ledger).await;
    let id = fill_id.to_string();

    let out = doctor_cli(&pool, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));

    // Without --reason and --actor: refused by the command line, nothing written.
    let out = doctor_cli(&pool, &["--acknowledge-external-fill", &id]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains("--reason"), "{}", both(&out));
    // Unknown fill, unsafe reason: refused naming the field, exit 2.
    let out = doctor_cli(
        &pool,
        &[
            "--acknowledge-external-fill",
            "999999",
            "--reason",
            "manual",
            "--actor",
            "ops",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        both(&out).contains("fill_id: no fill #999999"),
        "{}",
        both(&out)
    );
    let out = doctor_cli(
        &pool,
        &[
            "--acknowledge-external-fill",
            &id,
            "--reason",
            "a\u{202E}b",
            "--actor",
            "ops",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        both(&out).contains("reason: contains control"),
        "{}",
        both(&out)
    );
    assert!(acks(&ledger).await.iter().all(|a| !a.2), "nothing written");

    let out = doctor_cli(
        &pool,
        &[
            "--acknowledge-external-fill",
            &id,
            "--reason",
            "hedged by hand",
            "--actor",
            "ops-anna",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let text = both(&out);
    assert!(
        text.contains(&format!("acknowledged external fill #{fill_id}")),
        "{text}"
    );

    let out = doctor_cli(&pool, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        both(&out).contains("acknowledged external_fill: fill #"),
        "{}",
        both(&out)
    );
    let out = doctor_cli(&pool, &["--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["acknowledged"][0]["reason"], "hedged by hand");
}
