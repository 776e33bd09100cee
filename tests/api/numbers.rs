//! Strict number grammar at the boundary and checked money arithmetic: exotic forms are
//! refused naming the field, and no input, however large, makes a handler panic (a
//! dropped connection) instead of answering 4xx.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;
use sluice::domain::Direction;
use sluice_testkit::app::*;
use sqlx::PgPool;

const EXOTIC: [&str; 9] = ["1e3", "1E3", "1_000", ".5e1", "+1", " 1", "1 ", ".5", "1."];

#[sqlx::test]
async fn exotic_quantities_and_notionals_are_refused_naming_the_field(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            mark_price: Some("150"),
            ..Spawn::default()
        },
    )
    .await;
    let position = app
        .position("SOLUSDT", Direction::Short, "5000", "150")
        .await;
    let mut answers = Vec::new();
    for (i, raw) in EXOTIC.iter().enumerate() {
        let reduce = json!({"kind": "reduce", "position_id": position.id.0, "quantity": raw,
                            "idempotency_key": format!("r{i}")});
        let open_q = json!({"kind": "open", "symbol": "SOLUSDT", "side": "short", "quantity": raw,
                            "idempotency_key": format!("q{i}")});
        let open_n = json!({"kind": "open", "symbol": "SOLUSDT", "side": "short", "notional_usdt": raw,
                            "idempotency_key": format!("n{i}")});
        for (body, field) in [
            (reduce, "quantity"),
            (open_q, "quantity"),
            (open_n, "notional_usdt"),
        ] {
            let (status, answer) = app.post("/v1/intents", &body).await;
            answers.push((raw, field, status, answer));
        }
    }

    for (raw, field, status, answer) in answers {
        assert_eq!(status, 422, "{raw:?}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{raw:?}: {answer}");
    }
    assert_eq!(app.count("intents").await, 0, "nothing stored");
    app.stop().await;
}

#[sqlx::test]
async fn the_overflowing_open_of_the_report_is_refused_not_a_panic(pool: PgPool) {
    // A price with 16 integer digits passes the grammar; quantity × price overflows.
    let app = spawn_with(
        &pool,
        Spawn {
            mark_price: Some("9999999999999999"),
            ..Spawn::default()
        },
    )
    .await;
    let mut answers = Vec::new();
    for (key, qty) in [
        ("huge", "11111111111111111111111111111"),
        ("product", "9999999999999999.999999999999"),
    ] {
        let body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": qty,
                          "idempotency_key": key});
        answers.push(app.post("/v1/intents", &body).await);
    }
    let (after, _) = app.get("/v1/budget").await;

    for (status, answer) in &answers {
        assert_eq!(*status, 422, "{answer}");
        assert_eq!(answer["error"]["field"], "quantity", "{answer}");
    }
    assert_eq!(
        after, 200,
        "the daemon still answers (the opens lock was released)"
    );
    app.stop().await;
}

/// A decimal string with `int` integer digits (no leading zero) and maybe a fraction.
fn digits(int: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    let pattern = format!("[1-9][0-9]{{{},{}}}", int.start() - 1, int.end() - 1);
    let int = proptest::string::string_regex(&pattern).expect("regex");
    (int, proptest::option::of("[0-9]{1,12}")).prop_map(|(int, frac)| match frac {
        Some(f) => format!("{int}.{f}"),
        None => int,
    })
}

#[sqlx::test]
async fn random_huge_inputs_answer_4xx_never_a_panic(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            mark_price: Some("9999999999999999.99"),
            allocation: "9999999999999999",
            ..Spawn::default()
        },
    )
    .await;
    let position = app.position("SOLUSDT", Direction::Short, "5", "150").await;
    let mut runner = TestRunner::deterministic();
    // Too many digits for the grammar (any field), or few enough to pass it but so
    // large that quantity × mark price overflows or exceeds any budget.
    let too_long = (digits(17..=40), 0usize..3);
    let overflowing = digits(13..=16);
    let mut answers = Vec::new();
    for case in 0..80 {
        let key = format!("c{case}");
        let (raw, body) = if case % 2 == 0 {
            let (raw, which) = too_long.new_tree(&mut runner).expect("case").current();
            let body = match which {
                0 => json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": raw,
                            "idempotency_key": key}),
                1 => json!({"kind": "open", "symbol": "SOLUSDT", "side": "long",
                            "notional_usdt": raw, "idempotency_key": key}),
                _ => json!({"kind": "reduce", "position_id": position.id.0, "quantity": raw,
                            "idempotency_key": key}),
            };
            (raw, body)
        } else {
            let raw = overflowing.new_tree(&mut runner).expect("case").current();
            let body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long",
                              "quantity": raw, "idempotency_key": key});
            (raw, body)
        };
        // `post` panics on a dropped connection: every case must get an answer.
        let (status, answer) = app.post("/v1/intents", &body).await;
        answers.push((raw, status, answer));
    }

    for (raw, status, answer) in answers {
        assert!(
            (400..500).contains(&status),
            "{raw}: a huge input must be a 4xx, got {status} {answer}"
        );
        assert!(answer["error"]["field"].is_string(), "{raw}: {answer}");
    }
    let (budget, _) = app.get("/v1/budget").await;
    assert_eq!(budget, 200, "the daemon still answers");
    app.stop().await;
}

#[test]
fn the_settings_money_values_use_the_same_grammar() {
    for raw in ["1e3", "1_000", "+1000", " 1000", ".5"] {
        let mut env = std::collections::HashMap::new();
        env.insert(
            "SLUICE__BUDGET__ALLOCATION_USDT".to_string(),
            raw.to_string(),
        );
        let err = sluice::settings::Settings::load_with_env(&config_dir(), env)
            .expect_err("an exotic allocation is refused");
        let text = format!("{err:#}");
        assert!(text.contains("allocation_usdt"), "{raw:?}: {text}");
    }
    let mut env = std::collections::HashMap::new();
    env.insert(
        "SLUICE__BUDGET__ALLOCATION_USDT".to_string(),
        "1000.50".to_string(),
    );
    let ok = sluice::settings::Settings::load_with_env(&config_dir(), env).expect("loads");
    assert_eq!(ok.budget.allocation_usdt.to_string(), "1000.50");
}
