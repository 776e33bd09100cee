//! Round-trip, length and charset of sluice client order ids; foreign ids are refused.

use proptest::prelude::*;

use super::*;

fn kinds() -> impl Strategy<Value = IntentKind> {
    prop::sample::select(vec![
        IntentKind::Open,
        IntentKind::Close,
        IntentKind::Reduce,
        IntentKind::Flatten,
    ])
}

fn intents() -> impl Strategy<Value = IntentRef> {
    prop_oneof![
        any::<u128>().prop_map(|v| IntentRef::Uuid(Uuid::from_u128(v))),
        any::<u64>().prop_map(IntentRef::Seq),
    ]
}

fn binance_charset(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-')
}

#[test]
fn a_close_id_names_its_kind_intent_chunk_and_attempt() {
    let id = SluiceOrderId {
        kind: IntentKind::Close,
        intent: IntentRef::Seq(4821),
        chunk: 12,
        attempt: 3,
    };
    let text = id.encode().unwrap();
    assert_eq!(text.as_str(), "slcn4821.12.3");
    assert_eq!(SluiceOrderId::parse(text.as_str()).unwrap(), id);
}

#[test]
fn the_largest_uuid_with_four_digit_chunk_and_attempt_fits_in_36() {
    let id = SluiceOrderId {
        kind: IntentKind::Flatten,
        intent: IntentRef::Uuid(Uuid::from_u128(u128::MAX)),
        chunk: 9999,
        attempt: 9999,
    };
    assert_eq!(id.encode().unwrap().as_str().len(), 36);
}

#[test]
fn an_id_that_would_exceed_36_characters_is_refused_not_truncated() {
    let id = SluiceOrderId {
        kind: IntentKind::Open,
        intent: IntentRef::Uuid(Uuid::nil()),
        chunk: 100_000,
        attempt: 10_000,
    };
    let err = id.encode().unwrap_err();
    // 4 prefix + 22 uuid + "." + 6 digits + "." + 5 digits
    assert_eq!(err.len, 39);
}

#[test]
fn ids_from_the_web_ui_binance_and_people_are_foreign() {
    for foreign in [
        "web_abc123",
        "x-Cb7ytekJ0123456789",
        "ios_1234",
        "slx",
        "slcn12.3",
        "slcn12.03.1",
        "slcn+12.3.1",
        "slcu____________________.0.0",
        "slcn12.3.1.4",
        "slzn12.3.1",
        "",
    ] {
        assert!(!is_sluice(foreign), "{foreign} should be foreign");
    }
}

#[test]
fn the_documented_examples_are_sluice_ids() {
    let close = SluiceOrderId::parse("slcuAYpWyDwDTgqfi3G4OzCVaw.12.0").unwrap();
    assert_eq!(
        (close.kind, close.chunk, close.attempt),
        (IntentKind::Close, 12, 0)
    );
    let open = SluiceOrderId::parse("slon4821.0.3").unwrap();
    assert_eq!(open.intent, IntentRef::Seq(4821));
}

#[test]
fn next_attempt_keeps_intent_and_chunk() {
    let id = SluiceOrderId {
        kind: IntentKind::Reduce,
        intent: IntentRef::Seq(7),
        chunk: 2,
        attempt: 0,
    };
    let again = id.next_attempt();
    assert_eq!(
        (again.chunk, again.attempt, again.intent),
        (2, 1, id.intent)
    );
    assert_ne!(again.encode().unwrap(), id.encode().unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_id_round_trips_and_stays_within_binance_rules(
        kind in kinds(), intent in intents(), chunk in 0u32..10_000, attempt in 0u32..10_000
    ) {
        let id = SluiceOrderId { kind, intent, chunk, attempt };
        let text = id.encode().unwrap();
        prop_assert!(text.as_str().len() <= 36);
        prop_assert!(text.as_str().chars().all(binance_charset));
        prop_assert_eq!(SluiceOrderId::parse(text.as_str()).unwrap(), id);
    }

    #[test]
    fn an_id_that_parses_is_exactly_what_sluice_would_write(raw in "sl[ocrfxz][un][A-Za-z0-9_.-]{0,30}") {
        if let Ok(id) = SluiceOrderId::parse(&raw) {
            prop_assert_eq!(id.to_string(), raw);
        }
    }

    #[test]
    fn distinct_orders_never_share_an_id(
        a in (kinds(), intents(), 0u32..10_000, 0u32..10_000),
        b in (kinds(), intents(), 0u32..10_000, 0u32..10_000),
    ) {
        let x = SluiceOrderId { kind: a.0, intent: a.1, chunk: a.2, attempt: a.3 };
        let y = SluiceOrderId { kind: b.0, intent: b.1, chunk: b.2, attempt: b.3 };
        prop_assert_eq!(x == y, x.encode().unwrap() == y.encode().unwrap());
    }
}
