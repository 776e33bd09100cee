//! Request signing with the account's key, over exactly the bytes that are sent
//! (docs/binance-fapi.md §1.3, §1.4).
//!
//! Three key types, one [`Signer`] (the key file decides which: [`super::keyfile`]):
//! - HMAC-SHA256 with the API secret → lowercase hex;
//! - RSA (RSASSA-PKCS1-v1_5, SHA-256) → base64;
//! - Ed25519 → base64.
//!
//! Invariants: the parameter text is built once ([`signed_query`]), signed, and that same
//! text goes on the wire (a `GET`'s query string, otherwise the form-encoded body) with the
//! signature percent-encoded (a base64 signature holds `+`, `/` and `=`, which form
//! decoding would otherwise read as a space and separators);
//! nothing re-encodes it after signing. The HMAC secret stays in a zeroising
//! [`SecretString`]; private keys stay inside `ring`'s key types; `Debug` prints only the
//! key type.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, Mac};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Which kind of API key signs the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Hmac,
    Rsa,
    Ed25519,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Hmac => "hmac",
            KeyKind::Rsa => "rsa",
            KeyKind::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signing failed (only RSA can: its blinding needs the system's random source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError(pub &'static str);

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for SignError {}

enum Key {
    Hmac(SecretString),
    Rsa(RsaKeyPair, SystemRandom),
    Ed25519(Ed25519KeyPair),
}

/// Signs request text with the account's key. Cheap to clone (shared key).
#[derive(Clone)]
pub struct Signer(Arc<Key>);

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}, [redacted])", self.kind())
    }
}

impl Signer {
    /// An HMAC-SHA256 signer with the API secret.
    pub fn new(secret: SecretString) -> Self {
        Self(Arc::new(Key::Hmac(secret)))
    }

    pub(super) fn rsa(key: RsaKeyPair) -> Self {
        Self(Arc::new(Key::Rsa(key, SystemRandom::new())))
    }

    pub(super) fn ed25519(key: Ed25519KeyPair) -> Self {
        Self(Arc::new(Key::Ed25519(key)))
    }

    pub fn kind(&self) -> KeyKind {
        match &*self.0 {
            Key::Hmac(_) => KeyKind::Hmac,
            Key::Rsa(..) => KeyKind::Rsa,
            Key::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// The signature of `payload` (Binance `totalParams`, or the WS API's sorted
    /// params) as Binance expects it: lowercase hex for HMAC, base64 otherwise. Not yet
    /// percent-encoded.
    pub fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        match &*self.0 {
            Key::Hmac(secret) => Ok(hmac_hex(secret, payload)),
            Key::Rsa(key, rng) => {
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, rng, payload, &mut sig)
                    .map_err(|_| SignError("RSA signing failed (system random source)"))?;
                Ok(base64::engine::general_purpose::STANDARD.encode(sig))
            }
            Key::Ed25519(key) => {
                Ok(base64::engine::general_purpose::STANDARD.encode(key.sign(payload)))
            }
        }
    }
}

fn hmac_hex(secret: &SecretString, payload: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; the
    // fallback keeps this function total without a panic path.
    match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mut mac) => {
            mac.update(payload);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Form-encode `params` in the given order, append `recvWindow` and `timestamp`, and
/// return `(text_without_signature, text_with_signature)`; the signature is the last
/// parameter, percent-encoded.
pub fn signed_query(
    signer: &Signer,
    params: &[(&str, String)],
    timestamp_ms: i64,
    recv_window_ms: u64,
) -> Result<(String, String), SignError> {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.append_pair("recvWindow", &recv_window_ms.to_string());
    ser.append_pair("timestamp", &timestamp_ms.to_string());
    let unsigned = ser.finish();
    let signature = signer.sign(unsigned.as_bytes())?;
    let encoded: String = form_urlencoded::byte_serialize(signature.as_bytes()).collect();
    let signed = format!("{unsigned}&signature={encoded}");
    Ok((unsigned, signed))
}

/// Form-encode unsigned parameters (public and API-key-only endpoints).
pub(crate) fn plain_query(params: &[(&str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
