//! HMAC-SHA256 request signing over exactly the bytes that are sent.
//!
//! Invariant: the query string is built once ([`signed_query`]), signed, and that same
//! text goes on the wire; nothing re-encodes it after signing. The secret stays in a
//! zeroising [`SecretString`]; [`Signer`]'s `Debug` prints `[redacted]`.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Signs request text with the account's API secret.
#[derive(Clone)]
pub struct Signer {
    secret: SecretString,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer([redacted])")
    }
}

impl Signer {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// Lower-case hex HMAC-SHA256 of `payload` (Binance `totalParams`).
    pub fn sign(&self, payload: &[u8]) -> String {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; the
        // fallback keeps this function total without a panic path.
        match Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()) {
            Ok(mut mac) => {
                mac.update(payload);
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

/// Form-encode `params` in the given order, append `timestamp` and `recvWindow`,
/// and return `(text_without_signature, text_with_signature)`.
pub fn signed_query(
    signer: &Signer,
    params: &[(&str, String)],
    timestamp_ms: i64,
    recv_window_ms: u64,
) -> (String, String) {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.append_pair("recvWindow", &recv_window_ms.to_string());
    ser.append_pair("timestamp", &timestamp_ms.to_string());
    let unsigned = ser.finish();
    let signature = signer.sign(unsigned.as_bytes());
    let signed = format!("{unsigned}&signature={signature}");
    (unsigned, signed)
}

/// Form-encode unsigned parameters (public and API-key-only endpoints).
pub fn plain_query(params: &[(&str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binance's published known-answer vector (docs/binance-fapi.md §1.3).
    #[test]
    fn the_official_known_answer_vector_signs_to_the_published_signature() {
        let signer = Signer::new(SecretString::from(
            "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9".to_string(),
        ));
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            signer.sign(payload.as_bytes()),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn the_signed_query_is_the_known_answer_text_plus_its_signature() {
        let signer = Signer::new(SecretString::from(
            "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9".to_string(),
        ));
        let params = [
            ("symbol", "BTCUSDT".to_string()),
            ("side", "BUY".to_string()),
            ("type", "LIMIT".to_string()),
            ("quantity", "1".to_string()),
            ("price", "9000".to_string()),
            ("timeInForce", "GTC".to_string()),
        ];
        let (unsigned, signed) = signed_query(&signer, &params, 1591702613943, 5000);
        assert_eq!(
            unsigned,
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
        );
        assert!(signed.ends_with(
            "&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        ));
    }

    #[test]
    fn non_ascii_symbols_are_percent_encoded_before_signing() {
        let signer = Signer::new(SecretString::from("k".to_string()));
        let (unsigned, _) = signed_query(&signer, &[("symbol", "币安人生USDT".into())], 1, 5000);
        assert!(unsigned.starts_with("symbol=%E5%B8%81"));
        assert!(unsigned.is_ascii());
    }

    #[test]
    fn signer_debug_is_redacted() {
        let signer = Signer::new(SecretString::from("topsecret".to_string()));
        assert_eq!(format!("{signer:?}"), "Signer([redacted])");
    }
}
