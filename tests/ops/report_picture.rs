//! The evidence picture tested as a picture: storms of 20 seconds, 106 minutes and 24
//! hours stored in a real Postgres through the ledger's own API (`insert_attempts`,
//! intents, orders and fills, breaker transitions), reported with the bucket chosen
//! for them, and the SVG laid out by usvg with a real font (`sluice_testkit::report::picture`):
//! every text box inside the canvas, no two texts (tick labels included) overlapping,
//! one lane per symbol, the legend below the plot, Okabe–Ito colours. Plus the HTML
//! report: one file, escaped, with redacted settings.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, PositionMode, PositionSide, Side};
use sluice::exchange::AttemptRecord;
use sluice::ledger::{BreakerTransitionRecord, Ledger};
use sluice::ops::report::{self, About, EvidenceReport, Format};
use sluice_testkit::ledger::*;
use sluice_testkit::report::assert_well_formed;
use sluice_testkit::report::picture::{assert_readable, with_id, Picture};
use sqlx::PgPool;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// The answers a storm cycles through: accepted, eight rejection keys (the 7th and 8th
/// take hatched colours) and an unknown outcome.
#[rustfmt::skip]
const ANSWERS: [(Option<u16>, Option<i64>, Option<&str>); 10] = [
    (Some(200), None, None),
    (Some(400), Some(-2022), Some("replan")),
    (Some(400), Some(-4118), Some("replan")),
    (Some(503), Some(-1008), Some("backoff")),
    (Some(400), Some(-2010), Some("replan")),
    (Some(503), None, Some("outcome_unknown")),
    (Some(429), Some(-1003), Some("backoff")),
    (Some(400), Some(-1111), Some("replan")),
    (None, None, Some("retry")),
    (Some(400), Some(-4164), Some("replan")),
];

const OKABE_ITO: [&str; 8] = [
    "#009E73", "#000000", "#D55E00", "#E69F00", "#0072B2", "#CC79A7", "#56B4E9", "#F0E442",
];

fn attempt(at: DateTime<Utc>, symbol: &str, i: usize) -> AttemptRecord {
    let (status, code, class) = ANSWERS[i % ANSWERS.len()];
    AttemptRecord {
        venue: VENUE.into(),
        sent_at: at,
        exchange_time: status.map(|_| at + Duration::milliseconds(4)),
        method: "POST".into(),
        endpoint: "/fapi/v1/order".into(),
        params: format!("symbol={symbol}"),
        is_order: true,
        symbol: Some(symbol.into()),
        client_order_id: None,
        http_status: status,
        error_code: code,
        error_msg: code.map(|c| format!("code {c}")),
        error_class: class.map(String::from),
        latency_ms: 5 + (i as i64 % 40),
        used_weight_1m: None,
        order_count_10s: None,
        order_count_1m: None,
    }
}

/// Attempts every `every` on each symbol over `span` from `from`, twice as dense in the
/// middle third (the storm's peak).
fn storm(from: DateTime<Utc>, span: Duration, every: Duration) -> Vec<AttemptRecord> {
    let mut out = Vec::new();
    for (k, symbol) in SYMBOLS.iter().enumerate() {
        let mut t = from + Duration::milliseconds(37 * k as i64);
        let mut i = k * 3;
        while t < from + span {
            let peak = t > from + span / 3 && t < from + span * 2 / 3;
            out.push(attempt(t, symbol, i));
            t += if peak { every / 2 } else { every };
            i += 1;
        }
    }
    out
}

/// A SOLUSDT close intent that went flat now, and an ETHUSDT one still working.
async fn close_intents(ledger: &Ledger) {
    for (symbol, key, flat) in [("SOLUSDT", "sol", true), ("ETHUSDT", "eth", false)] {
        open_filled(
            ledger,
            key,
            symbol,
            Direction::Long,
            PositionMode::OneWay,
            dec!(2),
            dec!(100),
            1,
        )
        .await;
        let position = ledger
            .open_positions()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.symbol.as_str() == symbol)
            .expect("position")
            .id;
        let close = close_intent(
            &format!("close-{key}"),
            IntentKind::Close,
            position,
            PositionMode::OneWay,
        );
        let intent = ledger
            .create_intent(&close, usdt(dec!(0)))
            .await
            .unwrap()
            .intent;
        let coid = format!("c-{key}");
        let mut order = market_order(&intent, &coid, Side::Sell, PositionSide::Both, dec!(2));
        order.position_id = Some(position);
        ledger.record_order(&order).await.unwrap();
        if flat {
            let f = fill(
                symbol,
                2,
                20,
                Some(&coid),
                Side::Sell,
                PositionSide::Both,
                dec!(2),
                dec!(99),
            );
            ledger.apply_fill(VENUE, &f, &[]).await.unwrap();
        }
    }
}

/// Store a storm of `span` centred on now (so the intents, created now, fall inside),
/// starting half a `unit` past a whole `unit` (so the bar count does not depend on
/// the clock), with the breaker open over its second quarter; report its window.
async fn reported(
    ledger: &Ledger,
    span: Duration,
    every: Duration,
    unit: Duration,
) -> EvidenceReport {
    let from = (Utc::now() - span / 2).duration_trunc(unit).unwrap() + unit / 2;
    ledger
        .insert_attempts(&storm(from, span, every))
        .await
        .unwrap();
    close_intents(ledger).await;
    for (at, from_state, to_state) in [
        (from + span / 4, "closed", "open"),
        (from + span / 2, "open", "half_open"),
        (
            from + span / 2 + Duration::milliseconds(300),
            "half_open",
            "closed",
        ),
    ] {
        let t = BreakerTransitionRecord {
            venue: VENUE.into(),
            scope: "orders".into(),
            at,
            from_state: from_state.into(),
            to_state: to_state.into(),
            window_total: 20,
            server_errors: 4,
            throttled: 6,
            unknown: 2,
        };
        ledger.record_breaker_transition(&t).await.unwrap();
    }
    let (since, until) = (
        from - Duration::seconds(1),
        from + span + Duration::seconds(1),
    );
    report::run(ledger, Some(since), Some(until)).await.unwrap()
}

/// Everything a reader needs, checked on the laid-out picture and its source.
fn assert_picture(r: &EvidenceReport, svg: &str) -> Picture {
    assert_well_formed(svg);
    let p = assert_readable(svg);
    assert_eq!(
        svg.matches(r#"class="lane""#).count(),
        SYMBOLS.len(),
        "one lane per symbol"
    );
    let labels: BTreeSet<&str> = p.texts.iter().map(|t| t.text.as_str()).collect();
    assert!(
        SYMBOLS.iter().all(|s| labels.contains(s)),
        "every symbol is named: {labels:?}"
    );
    assert_eq!(
        svg.matches(r#"class="bucket""#).count(),
        r.buckets.len(),
        "a bar per bucket row"
    );
    let ticks_bottom = with_id(&p, "tick-")
        .iter()
        .map(|t| t.bottom)
        .fold(0.0, f32::max);
    let legend = with_id(&p, "legend-");
    assert!(legend.len() >= 10, "legend entries: {legend:?}");
    assert!(
        legend.iter().all(|t| t.top >= ticks_bottom),
        "the legend sits below the plot"
    );
    assert_eq!(svg.matches(r#"class="breaker-open""#).count(), 1);
    assert_eq!(
        svg.matches(r#"class="close-intent""#).count(),
        2,
        "SOLUSDT's and ETHUSDT's"
    );
    for fill in svg
        .split(r#"class="segment""#)
        .skip(1)
        .filter_map(|s| s.split("fill=\"").nth(1))
    {
        let fill = &fill[..fill.find('"').unwrap()];
        assert!(
            OKABE_ITO.contains(&fill) || fill.starts_with("url(#hatch"),
            "{fill}"
        );
    }
    p
}

fn bars(r: &EvidenceReport) -> i64 {
    (r.span_until - r.span_from).num_seconds() / r.bucket.secs()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_20_second_storm_is_drawn_second_by_second_with_every_text_readable(pool: PgPool) {
    let r = reported(
        &Ledger::from_pool(pool),
        Duration::seconds(20),
        Duration::milliseconds(250),
        Duration::seconds(1),
    )
    .await;

    assert_eq!((r.bucket.to_string(), bars(&r)), ("1s".into(), 21));
    let seconds: BTreeSet<DateTime<Utc>> = r.buckets.iter().map(|b| b.start).collect();
    assert_eq!(seconds.len(), 21, "every second of the storm has its bar");
    assert_picture(&r, &report::to_svg(&r));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_106_minute_incident_is_drawn_minute_by_minute_with_every_text_readable(pool: PgPool) {
    let r = reported(
        &Ledger::from_pool(pool),
        Duration::minutes(106),
        Duration::seconds(20),
        Duration::minutes(1),
    )
    .await;

    assert_eq!(r.bucket.to_string(), "1m");
    assert!((106..=107).contains(&bars(&r)), "{}", bars(&r));
    let p = assert_picture(&r, &report::to_svg(&r));
    let ticks = with_id(&p, "tick-");
    // HH:MM, or the date at a midnight.
    assert!(
        ticks
            .iter()
            .all(|t| t.text.len() == 5 || t.text.contains(' ')),
        "{ticks:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_24_hour_window_is_drawn_in_quarter_hours_with_every_text_readable(pool: PgPool) {
    let r = reported(
        &Ledger::from_pool(pool),
        Duration::hours(24),
        Duration::minutes(2),
        Duration::minutes(15),
    )
    .await;

    assert_eq!(r.bucket.to_string(), "15m");
    assert!((96..=97).contains(&bars(&r)), "{}", bars(&r));
    let p = assert_picture(&r, &report::to_svg(&r));
    let ticks = with_id(&p, "tick-");
    assert!(
        ticks.iter().any(|t| t.text.contains(' ')),
        "the day change is dated: {ticks:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_html_report_is_one_escaped_file_with_the_picture_tables_and_redacted_settings(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let from = Utc::now() - Duration::seconds(10);
    let mut attempts = storm(from, Duration::seconds(20), Duration::seconds(1));
    attempts[0].symbol = Some("<b>X&Y</b>".into());
    attempts[0].client_order_id = Some("\"'><script>".into());
    ledger.insert_attempts(&attempts).await.unwrap();
    // (variable, value, the part that must never show)
    let secrets = [
        ("SLUICE__EXCHANGE__API_KEY", "key-abc123", "abc123"),
        ("SLUICE__EXCHANGE__API_SECRET", "secret-def456", "def456"),
        ("SLUICE__API__TOKEN", "token-ghi789", "ghi789"),
        (
            "DATABASE_URL",
            "postgres://sluice:pw-jkl012@db.internal/sluice",
            "jkl012",
        ),
        (
            "SLUICE__EXCHANGE__REST_URL",
            "https://u:pw-mno345@fapi.example.com/?k=q-pqr678",
            "mno345",
        ),
        (
            "SLUICE__EXCHANGE__REST_URL",
            "https://u:pw-mno345@fapi.example.com/?k=q-pqr678",
            "pqr678",
        ),
    ];
    let mut env: HashMap<String, String> = secrets
        .iter()
        .map(|(k, v, _)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("SLUICE__BUDGET__ALLOCATION_USDT".into(), "2500".into());
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let settings = sluice::settings::Settings::load_with_env(&config, env).expect("settings");
    let r = report::run(&ledger, Some(from), Some(from + Duration::seconds(21)))
        .await
        .unwrap();

    let html = report::render_with(&r, Format::Html, &About::new(Some(&settings))).unwrap();

    for needle in [
        "<!DOCTYPE html>",
        "<svg",
        "Per 1-second bucket",
        "Close intents",
        "sluice 0.1.0",
    ] {
        assert!(html.contains(needle), "lacks {needle}");
    }
    assert!(html.contains("&lt;b&gt;X&amp;Y&lt;/b&gt;") && !html.contains("<b>X"));
    assert!(!html.contains("<script") && !html.contains(" src=") && !html.contains("<link"));
    let exchange_ms = attempts[1]
        .exchange_time
        .unwrap()
        .timestamp_millis()
        .to_string();
    assert!(html.contains(&exchange_ms), "the exchange's epoch ms");
    assert!(html.contains("budget.allocation_usdt") && html.contains("https://fapi.example.com/"));
    for (_, _, secret) in secrets {
        assert!(!html.contains(secret), "{secret} leaked");
    }
}

/// A picture with the faults of the old timeline: two tick labels on top of each other.
const OVERLAPPING_TICKS: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="344" height="328" font-family="DejaVu Sans" font-size="12"><text id="tick-0" x="60" y="300">2025-10-11 21:00</text><text id="tick-1" x="90" y="300">2025-10-11 21:00</text></svg>"#;

/// ...and a title cut off at the right edge.
const CLIPPED_TITLE: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="344" height="328" font-family="DejaVu Sans" font-size="14"><text x="56" y="22">Order attempts per minute, 2025-10-11T21:00:00Z to 2025-10-12T21:00:00Z (UTC)</text><text id="tick-0" x="20" y="300">21:00</text><text id="tick-1" x="200" y="300">21:01</text></svg>"#;

#[test]
#[should_panic(expected = "overlapping text")]
fn the_picture_check_catches_tick_labels_on_top_of_each_other() {
    assert_readable(OVERLAPPING_TICKS);
}

#[test]
#[should_panic(expected = "text outside the 344×328 canvas")]
fn the_picture_check_catches_a_title_cut_off_at_the_edge() {
    assert_readable(CLIPPED_TITLE);
}
