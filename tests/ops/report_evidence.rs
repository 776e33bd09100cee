//! `sluice report` against a real Postgres: a known set of attempts stored through
//! `Ledger::insert_attempts`, and every count, rate and percentile checked in the
//! report and its Markdown, CSV, JSON and SVG renderings, in 1-minute buckets
//! (`--bucket 1m`; the automatic bucket is checked in `report_picture`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, PositionMode, PositionSide, Side};
use sluice::exchange::AttemptRecord;
use sluice::ledger::BreakerTransitionRecord;
use sluice::ledger::Ledger;
use sluice::ops::report::{self, BreakerPeriod, Bucket, EvidenceReport, Format};
use sluice_testkit::ledger::*;
use sluice_testkit::report::assert_well_formed;
use sqlx::PgPool;

/// 2025-10-11 21:00:00 UTC, the start of seed 003's incident.
fn m0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn attempt(
    at: DateTime<Utc>,
    symbol: &str,
    coid: Option<&str>,
    status: Option<u16>,
    code: Option<i64>,
    class: Option<&str>,
    latency_ms: i64,
) -> AttemptRecord {
    AttemptRecord {
        venue: VENUE.into(),
        sent_at: at,
        exchange_time: status.map(|_| at + Duration::milliseconds(latency_ms / 2)),
        method: "POST".into(),
        endpoint: "/fapi/v1/order".into(),
        params: format!("symbol={symbol}"),
        is_order: true,
        symbol: Some(symbol.into()),
        client_order_id: coid.map(String::from),
        http_status: status,
        error_code: code,
        error_msg: None,
        error_class: class.map(String::from),
        latency_ms,
        used_weight_1m: None,
        order_count_10s: None,
        order_count_1m: None,
    }
}

/// The known set: minute 0 (SOL 7 attempts, BTC 1), minute 1 (SOL 2), minute 3 (SOL 2),
/// plus one non-order request and one attempt before the window, which must not count.
fn known_attempts() -> Vec<AttemptRecord> {
    let s = |secs: i64| m0() + Duration::seconds(secs);
    let close = Some("slc1.0.0");
    let mut query = attempt(s(1), "SOLUSDT", None, Some(200), None, None, 3);
    query.is_order = false;
    vec![
        attempt(s(1), "SOLUSDT", close, Some(200), None, None, 10),
        attempt(s(2), "SOLUSDT", None, Some(200), None, None, 20),
        attempt(s(3), "SOLUSDT", None, Some(200), None, None, 30),
        attempt(
            s(4),
            "SOLUSDT",
            close,
            Some(400),
            Some(-2022),
            Some("replan"),
            40,
        ),
        attempt(
            s(5),
            "SOLUSDT",
            close,
            Some(400),
            Some(-2022),
            Some("replan"),
            50,
        ),
        attempt(
            s(6),
            "SOLUSDT",
            None,
            Some(503),
            Some(-1008),
            Some("backoff"),
            60,
        ),
        attempt(
            s(7),
            "SOLUSDT",
            None,
            Some(503),
            None,
            Some("outcome_unknown"),
            5000,
        ),
        attempt(s(8), "BTCUSDT", None, Some(200), None, None, 15),
        attempt(
            s(61),
            "SOLUSDT",
            close,
            Some(400),
            Some(-4118),
            Some("replan"),
            7,
        ),
        attempt(
            s(62),
            "SOLUSDT",
            close,
            Some(400),
            Some(-4118),
            Some("replan"),
            9,
        ),
        attempt(s(181), "SOLUSDT", None, None, None, Some("retry"), 100),
        attempt(s(182), "SOLUSDT", None, None, None, None, 200),
        attempt(
            s(-120),
            "SOLUSDT",
            None,
            Some(400),
            Some(-2022),
            Some("replan"),
            1,
        ),
        query,
    ]
}

/// A close intent whose order `slc1.0.0` carries five of the attempts, then fills.
async fn close_intent_that_went_flat(ledger: &Ledger) {
    open_filled(
        ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(100),
        1,
    )
    .await;
    let position = ledger.open_positions().await.unwrap()[0].id;
    let intent = ledger
        .create_intent(
            &close_intent("close", IntentKind::Close, position, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    let mut order = market_order(&intent, "slc1.0.0", Side::Sell, PositionSide::Both, dec!(2));
    order.position_id = Some(position);
    ledger.record_order(&order).await.unwrap();
    let close = fill(
        "SOLUSDT",
        2,
        20,
        Some("slc1.0.0"),
        Side::Sell,
        PositionSide::Both,
        dec!(2),
        dec!(101),
    );
    ledger.apply_fill(VENUE, &close, &[]).await.unwrap();
}

/// (minute from m0, symbol, attempts, accepted, rejected, unknown, rate, p50, p99)
type MinuteFigures<'a> = (i64, &'a str, u64, u64, u64, u64, String, i64, i64);

async fn evidence(ledger: &Ledger) -> EvidenceReport {
    ledger.insert_attempts(&known_attempts()).await.unwrap();
    close_intent_that_went_flat(ledger).await;
    // The breaker opened at 1:05 and let a trial open through at 2:50 (as the router
    // persists it), plus a closed-open pair from before the window that must not show.
    for (secs, from, to) in [
        (-600, "closed", "open"),
        (-570, "open", "closed"),
        (65, "closed", "open"),
        (170, "open", "half_open"),
        (171, "half_open", "closed"),
    ] {
        ledger
            .record_breaker_transition(&BreakerTransitionRecord {
                venue: VENUE.into(),
                scope: "orders".into(),
                at: m0() + Duration::seconds(secs),
                from_state: from.into(),
                to_state: to.into(),
                window_total: 12,
                server_errors: 4,
                throttled: 5,
                unknown: 1,
            })
            .await
            .unwrap();
    }
    report::run_with(
        ledger,
        Some(m0() - Duration::minutes(1)),
        Some(Utc::now() + Duration::hours(1)),
        Some(Bucket::parse("1m").unwrap()),
    )
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_count_rate_and_percentile_matches_the_known_attempts(pool: PgPool) {
    let r = evidence(&Ledger::from_pool(pool)).await;

    let rows: Vec<MinuteFigures> = r
        .buckets
        .iter()
        .map(|m| {
            let f = &m.figures;
            let minute = (m.start - m0()).num_minutes();
            (
                minute,
                m.symbol.as_str(),
                f.attempts,
                f.accepted,
                f.rejected,
                f.unknown,
                f.rejection_rate.to_string(),
                f.p50_ms,
                f.p99_ms,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (0, "BTCUSDT", 1, 1, 0, 0, "0".into(), 15, 15),
            (0, "SOLUSDT", 7, 3, 3, 1, "0.4286".into(), 40, 5000),
            (1, "SOLUSDT", 2, 0, 2, 0, "1".into(), 7, 9),
            (3, "SOLUSDT", 2, 0, 1, 1, "0.5".into(), 100, 200),
        ]
    );
    let sol0 = &r.buckets[1].figures;
    let by: Vec<(&str, u64)> = sol0
        .rejected_by
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(by, vec![("400/-2022", 2), ("503/-1008", 1)]);
    assert_eq!(
        r.buckets[3].figures.rejected_by.keys().collect::<Vec<_>>(),
        vec!["none/-"]
    );
    assert_eq!(
        sol0.first_exchange_time,
        Some(m0() + Duration::seconds(1) + Duration::milliseconds(5))
    );
    let t = &r.totals;
    assert_eq!(
        (t.attempts, t.accepted, t.rejected, t.unknown),
        (12, 4, 6, 2)
    );
    assert_eq!(
        (t.rejection_rate, t.p50_ms, t.p99_ms),
        (dec!(0.5), 30, 5000)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_intent_shows_its_attempts_codes_and_time_to_flat(pool: PgPool) {
    let r = evidence(&Ledger::from_pool(pool)).await;

    assert_eq!(r.close_intents.len(), 1, "only the close, not the open");
    let c = &r.close_intents[0];
    assert_eq!((c.fact.kind.as_str(), c.fact.attempts), ("close", 5));
    assert_eq!(c.fact.codes, vec![-4118, -2022]);
    assert!(
        c.fact.flat_at.is_some() && c.time_to_flat_ms.is_some_and(|ms| ms >= 0),
        "{c:?}"
    );
    assert_eq!(c.fact.last_fill_exchange_time, Some(t(2)));
}

#[sqlx::test(migrations = "./migrations")]
async fn markdown_csv_and_json_carry_the_same_figures(pool: PgPool) {
    let r = evidence(&Ledger::from_pool(pool)).await;

    let md = report::render(&r, Format::Md).unwrap();
    assert!(
        md.contains("| SOLUSDT | 7 | 3 | 3 | 400/-2022:2 503/-1008:1 | 42.86% | 1 | 40 | 5000 |"),
        "{md}"
    );
    assert!(
        md.contains("Totals: 12 attempts, 4 accepted, 6 rejected (50%), 2 unknown"),
        "{md}"
    );
    let csv = report::render(&r, Format::Csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 4 + 1 + 1 + 1, "{csv}");
    assert!(
        lines[2].starts_with(
            "2025-10-11T21:00:00.000Z,SOLUSDT,7,3,3,400/-2022:2 503/-1008:1,0.4286,1,40,5000,"
        ),
        "{}",
        lines[2]
    );
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(json["buckets"][1]["attempts"], 7);
    assert_eq!(json["buckets"][1]["rejection_rate"], "0.4286");
    assert_eq!(
        json["close_intents"][0]["codes"],
        serde_json::json!([-4118, -2022])
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_svg_is_well_formed_with_a_bar_per_bucket_and_symbol_a_legend_and_the_breaker_band(
    pool: PgPool,
) {
    let r = evidence(&Ledger::from_pool(pool)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeline.svg");

    report::write_svg(&r, &path).unwrap();

    let svg = std::fs::read_to_string(&path).unwrap();
    assert_well_formed(&svg);
    assert_eq!(
        svg.matches(r#"class="bucket""#).count(),
        4,
        "SOLUSDT in minutes 0, 1 and 3, BTCUSDT in minute 0"
    );
    assert_eq!(
        svg.matches(r#"class="lane""#).count(),
        2,
        "one lane per symbol"
    );
    assert_eq!(
        svg.matches(r#"class="close-intent""#).count(),
        0,
        "the close was created after the chart's last bucket: it is in the tables only"
    );
    assert_eq!(svg.matches(r#"class="breaker-open""#).count(), 1);
    for code in [
        "accepted",
        "400/-2022",
        "400/-4118",
        "503/-1008",
        "none/-",
        "unknown",
    ] {
        assert!(
            svg.contains(&format!(">{code}</text>")),
            "legend lacks {code}"
        );
    }
    assert!(!dir.path().join("timeline.svg.partial").exists());
}

#[sqlx::test(migrations = "./migrations")]
async fn the_breaker_periods_come_from_the_persisted_transitions(pool: PgPool) {
    let r = evidence(&Ledger::from_pool(pool)).await;

    assert_eq!(
        r.breaker_open,
        vec![BreakerPeriod {
            opened_at: m0() + Duration::seconds(65),
            closed_at: Some(m0() + Duration::seconds(170)),
            scope: "orders".into(),
            window_total: 12,
            distress: 10,
        }]
    );
    let md = report::render(&r, Format::Md).unwrap();
    assert!(
        md.contains("(orders: 10 of the last 12 outcomes were 5xx, -1008 or unknown)"),
        "{md}"
    );
}
