//! An API key's verifier: an HMAC secret, or a registered Ed25519 or RSA public key
//! (Binance's three key types: docs/binance-fapi.md §1.4).
//!
//! The public key arrives as PEM `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo, what
//! Binance asks a user to upload); its algorithm OID decides the type. Verification uses
//! RustCrypto (`ed25519-dalek`, `rsa`), not the daemon's signer, so what the simulator
//! accepts is checked by a second implementation.
//!
//! Invariants: the signature is compared over the exact payload bytes the caller gives
//! (the raw query + body minus `signature`, or the WS API's sorted params); a base64
//! signature is decoded from the already percent-decoded parameter, so a client that
//! forgot to percent-encode `+` sends a space and is refused with -1022, as on Binance.
//! `Debug` never shows an HMAC secret.

use base64::Engine;
use ed25519_dalek::VerifyingKey;
use rsa::pkcs1v15;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;

use crate::error::ApiError;

/// How one API key's signatures are checked.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum KeyAuth {
    /// HMAC-SHA256 with this secret; the signature is hex (case-insensitive).
    Hmac(String),
    /// Ed25519 with this public key; the signature is base64 of 64 bytes.
    Ed25519(VerifyingKey),
    /// RSASSA-PKCS1-v1_5 with SHA-256; the signature is base64.
    Rsa(RsaPublicKey),
}

impl std::fmt::Debug for KeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyAuth::Hmac(_) => f.write_str("Hmac([redacted])"),
            KeyAuth::Ed25519(_) => f.write_str("Ed25519(public key)"),
            KeyAuth::Rsa(_) => f.write_str("Rsa(public key)"),
        }
    }
}

const ED25519_OID: &str = "1.3.101.112";
const RSA_OID: &str = "1.2.840.113549.1.1.1";

/// `-4056`: the key is of a type Binance does not accept (or not for this call).
pub(crate) fn invalid_key_type() -> ApiError {
    ApiError::new(400, -4056, "Invalid api key type.")
}

/// `-4057`: the RSA public key could not be read.
pub(crate) fn invalid_rsa_public_key() -> ApiError {
    ApiError::new(400, -4057, "Invalid RSA public key.")
}

impl KeyAuth {
    /// The key's type as the admin API and scenarios name it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            KeyAuth::Hmac(_) => "hmac",
            KeyAuth::Ed25519(_) => "ed25519",
            KeyAuth::Rsa(_) => "rsa",
        }
    }

    /// A public key from PEM (SPKI); `-4056` for another algorithm or no readable key,
    /// `-4057` for an RSA key that does not parse or is under 2048 bits.
    pub(crate) fn from_public_pem(pem: &str) -> Result<KeyAuth, ApiError> {
        let pem = pem.trim();
        let (label, der) = pem_rfc7468_decode(pem).ok_or_else(invalid_key_type)?;
        if label != "PUBLIC KEY" {
            return Err(invalid_key_type());
        }
        let spki = rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der.as_slice())
            .map_err(|_| invalid_key_type())?;
        match spki.algorithm.oid.to_string().as_str() {
            ED25519_OID => VerifyingKey::from_public_key_der(&der)
                .map(KeyAuth::Ed25519)
                .map_err(|_| invalid_key_type()),
            RSA_OID => {
                let key = RsaPublicKey::from_public_key_der(&der)
                    .map_err(|_| invalid_rsa_public_key())?;
                if rsa::traits::PublicKeyParts::size(&key) < 256 {
                    return Err(invalid_rsa_public_key());
                }
                Ok(KeyAuth::Rsa(key))
            }
            _ => Err(invalid_key_type()),
        }
    }

    /// A scenario account's key, `accounts[i]`: exactly one of `api_secret` (HMAC) and
    /// `public_key_pem`; the error names the field.
    pub(crate) fn from_account(
        i: usize,
        secret: Option<&str>,
        public_key_pem: Option<&str>,
    ) -> Result<KeyAuth, String> {
        match (secret, public_key_pem) {
            (Some(""), _) => Err(format!("accounts[{i}].api_secret: must not be empty")),
            (Some(s), None) => Ok(KeyAuth::Hmac(s.to_owned())),
            (None, Some(pem)) => KeyAuth::from_public_pem(pem).map_err(|e| {
                format!(
                    "accounts[{i}].public_key_pem: not an Ed25519 or RSA (2048+ bits) public key \
                     in PEM `BEGIN PUBLIC KEY` form ({} {})",
                    e.code, e.msg
                )
            }),
            (Some(_), Some(_)) => Err(format!(
                "accounts[{i}].public_key_pem: give either api_secret (HMAC) or public_key_pem, not both"
            )),
            (None, None) => Err(format!(
                "accounts[{i}].api_secret: missing (or give public_key_pem for an Ed25519 or RSA key)"
            )),
        }
    }

    /// Checks `signature` (the parameter's decoded value) over `payload`: `-1022` if it
    /// is not this key's signature of exactly these bytes.
    pub(crate) fn verify(&self, payload: &str, signature: &str) -> Result<(), ApiError> {
        let ok = match self {
            KeyAuth::Hmac(secret) => {
                let expected = crate::auth::sign(secret, payload);
                // The hex signature is case-insensitive on Binance.
                signature.to_ascii_lowercase() == expected
            }
            KeyAuth::Ed25519(key) => decode_b64(signature)
                .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
                .is_some_and(|sig| key.verify_strict(payload.as_bytes(), &sig).is_ok()),
            KeyAuth::Rsa(key) => decode_b64(signature)
                .and_then(|b| pkcs1v15::Signature::try_from(b.as_slice()).ok())
                .is_some_and(|sig| {
                    pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
                        .verify(payload.as_bytes(), &sig)
                        .is_ok()
                }),
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::bad_signature())
        }
    }
}

fn decode_b64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// `(label, DER)` of one PEM block.
fn pem_rfc7468_decode(pem: &str) -> Option<(String, Vec<u8>)> {
    let (label, der) = rsa::pkcs8::der::pem::decode_vec(pem.as_bytes()).ok()?;
    Some((label.to_owned(), der))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
