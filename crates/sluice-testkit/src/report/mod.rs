//! For the report tests: an XML well-formedness check for the SVG, and the
//! picture's layout as a renderer sees it ([`picture`]).

pub mod picture;

/// A small XML well-formedness check: tags nest and close, attributes are quoted,
/// `&` only starts an entity, one root element.
pub fn assert_well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let (mut rest, mut roots) = (xml, 0);
    while let Some(open) = rest.find('<') {
        assert_text(&rest[..open]);
        rest = &rest[open..];
        let close = rest.find('>').expect("unclosed tag");
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') || tag.starts_with("!--") {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        let name = tag
            .split_whitespace()
            .next()
            .expect("tag name")
            .trim_end_matches('/');
        if stack.is_empty() {
            roots += 1;
        }
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1, "one root element");
}

fn assert_text(text: &str) {
    assert!(!text.contains('>'), "bare > in text: {text}");
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
            "bad entity {entity}"
        );
    }
}

/// An accepted order attempt on `symbol` sent at `at`, as the adapter's audit writes it.
pub fn accepted_attempt(
    at: chrono::DateTime<chrono::Utc>,
    symbol: &str,
) -> sluice::exchange::AttemptRecord {
    sluice::exchange::AttemptRecord {
        venue: "binance-usdm".into(),
        sent_at: at,
        exchange_time: Some(at + chrono::Duration::milliseconds(3)),
        method: "POST".into(),
        endpoint: "/fapi/v1/order".into(),
        params: format!("symbol={symbol}"),
        is_order: true,
        symbol: Some(symbol.into()),
        client_order_id: None,
        http_status: Some(200),
        error_code: None,
        error_msg: None,
        error_class: None,
        latency_ms: 6,
        used_weight_1m: None,
        order_count_10s: None,
        order_count_1m: None,
    }
}
