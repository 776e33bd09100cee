//! Binance request authentication: `X-MBX-APIKEY`, HMAC-SHA256 over the raw query string
//! immediately followed by the raw body (minus the `signature` pair), and the timestamp
//! window `timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow`.
//! The same payload is signed by every key type; `keys` verifies Ed25519 and RSA.
//! Pure: the caller supplies the server time and the key's verifier.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::keys::KeyAuth;
use crate::params::Params;

/// Default `recvWindow` when the request sends none.
pub(crate) const DEFAULT_RECV_WINDOW_MS: i64 = 5000;

/// Binance's API keys are ASCII alphanumerics; anything else is `-2014`.
pub(crate) fn check_key_format(key: Option<&str>) -> Result<&str, ApiError> {
    match key {
        Some(k)
            if !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(k)
        }
        _ => Err(ApiError::bad_api_key_format()),
    }
}

/// Removes every `signature=` pair from one raw source, keeping the others byte for byte.
fn strip_signature(raw: &str) -> String {
    raw.split('&')
        .filter(|pair| !pair.starts_with("signature="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The exact text Binance signs: query (minus signature) immediately followed by body.
pub(crate) fn signed_payload(raw_query: &str, raw_body: &str) -> String {
    let mut s = strip_signature(raw_query);
    s.push_str(&strip_signature(raw_body));
    s
}

/// Lower-case hex HMAC-SHA256 of `payload` under `secret`.
pub(crate) fn sign(secret: &str, payload: &str) -> String {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `timestamp`/`recvWindow` presence and the acceptance window.
pub(crate) fn check_timestamp(params: &Params, server_ms: i64) -> Result<(), ApiError> {
    let ts = params.req_i64("timestamp")?;
    let window = params
        .opt_i64("recvWindow")?
        .unwrap_or(DEFAULT_RECV_WINDOW_MS);
    if ts >= server_ms + 1000 {
        return Err(ApiError::ahead_of_server());
    }
    if server_ms - ts > window {
        return Err(ApiError::outside_recv_window());
    }
    Ok(())
}

/// Verifies the signature of a signed (TRADE / USER_DATA) request with the key's own
/// verifier (HMAC, Ed25519 or RSA: [`KeyAuth::verify`]).
pub(crate) fn verify_signature(
    key: &KeyAuth,
    params: &Params,
    raw_query: &str,
    raw_body: &str,
) -> Result<(), ApiError> {
    let sent = params.req("signature")?;
    key.verify(&signed_payload(raw_query, raw_body), sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";

    fn hmac() -> KeyAuth {
        KeyAuth::Hmac(SECRET.into())
    }
    const QUERY: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";

    #[test]
    fn the_documented_known_answer_vector_verifies() {
        assert_eq!(
            sign(SECRET, QUERY),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
        let q = format!(
            "{QUERY}&signature=3C661234138461FCC7A7D8746C6558C9842D4E10870D2ECBEDF7777CAD694AF9"
        );
        let p = Params::parse(&q, "").unwrap();
        assert!(verify_signature(&hmac(), &p, &q, "").is_ok());
    }

    #[test]
    fn mixed_query_and_body_are_signed_without_a_separator() {
        let q = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC";
        let b = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943&signature=30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4";
        let p = Params::parse(q, b).unwrap();
        assert!(verify_signature(&hmac(), &p, q, b).is_ok());
    }

    #[test]
    fn a_tampered_request_is_minus_1022() {
        let q = format!(
            "{}&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9",
            QUERY.replace("9000", "9001")
        );
        let p = Params::parse(&q, "").unwrap();
        let e = verify_signature(&hmac(), &p, &q, "").unwrap_err();
        assert_eq!(
            (e.http, e.code, e.msg.as_str()),
            (400, -1022, "Signature for this request is not valid.")
        );
    }

    #[test]
    fn timestamps_follow_both_minus_1021_rules() {
        let p = Params::parse("timestamp=10000&recvWindow=100", "").unwrap();
        assert!(check_timestamp(&p, 10_050).is_ok());
        assert_eq!(
            check_timestamp(&p, 10_101).unwrap_err().msg,
            "Timestamp for this request is outside of the recvWindow."
        );
        assert_eq!(
            check_timestamp(&p, 9_000).unwrap_err().msg,
            "Timestamp for this request was 1000ms ahead of the server's time."
        );
        assert!(check_timestamp(&p, 9_001).is_ok());
        let missing = Params::parse("", "").unwrap();
        assert_eq!(check_timestamp(&missing, 1).unwrap_err().code, -1102);
    }

    #[test]
    fn keys_with_illegal_characters_are_minus_2014() {
        assert_eq!(check_key_format(Some("abc$")).unwrap_err().code, -2014);
        assert_eq!(check_key_format(None).unwrap_err().http, 401);
        assert_eq!(check_key_format(Some("Abc123")).unwrap(), "Abc123");
    }

    proptest::proptest! {
        #[test]
        fn a_signed_request_verifies_and_any_changed_byte_fails(
            body in "[a-z]{1,8}=[a-zA-Z0-9.]{1,12}(&[a-z]{1,8}=[a-zA-Z0-9.]{1,12}){0,6}",
            flip in 0usize..200,
        ) {
            let q = format!("{body}&timestamp=1");
            let signed = format!("{q}&signature={}", sign(SECRET, &q));
            // Generated names may repeat (-1101); those requests never reach the check.
            let Ok(p) = Params::parse(&signed, "") else { return Ok(()) };
            proptest::prop_assert!(verify_signature(&hmac(), &p, &signed, "").is_ok());
            let at = flip % q.len();
            let mut bytes = q.clone().into_bytes();
            bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
            let tampered = String::from_utf8(bytes).unwrap_or_default();
            let t = format!("{tampered}&signature={}", sign(SECRET, &q));
            if let (true, Ok(p)) = (tampered != q, Params::parse(&t, "")) {
                proptest::prop_assert!(verify_signature(&hmac(), &p, &t, "").is_err());
            }
        }
    }
}
