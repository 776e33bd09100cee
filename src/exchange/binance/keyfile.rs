//! Which kind of API key the configured key material is, and its [`Signer`]
//! (docs/binance-fapi.md §1.4; README "API keys").
//!
//! Detection, from the material alone:
//! - PEM `-----BEGIN PRIVATE KEY-----` (PKCS#8): the algorithm OID inside decides —
//!   `1.3.101.112` Ed25519, `1.2.840.113549.1.1.1` RSA; any other algorithm is refused;
//! - PEM `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1, the older OpenSSL form): RSA;
//! - anything else containing `-----` (a public key, an encrypted key, a mangled PEM) is
//!   refused rather than taken for an HMAC secret, which would fail later as a -1022;
//! - otherwise the text is an HMAC secret.
//!
//! Invariants: errors describe the key (its kind, its size, its PEM label) and never
//! contain key bytes; the decoded key bytes are wiped when parsing ends.

use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use ring::signature::{Ed25519KeyPair, RsaKeyPair};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::sign::Signer;

const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The key material was not a usable key. The message never contains key bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn err(msg: impl Into<String>) -> KeyError {
    KeyError(msg.into())
}

/// Whether `text` is PEM-armoured (a private key file) rather than an HMAC secret.
pub(crate) fn is_pem(text: &str) -> bool {
    text.contains("-----")
}

/// The signer for `material`: an HMAC secret or a PEM private key (see the module doc).
pub fn signer_from_material(material: &str) -> Result<Signer, KeyError> {
    let text = material.trim();
    if text.is_empty() {
        return Err(err("the key is empty"));
    }
    if !is_pem(text) {
        return Ok(Signer::new(SecretString::from(text.to_string())));
    }
    let (label, der) = pem_rfc7468::decode_vec(text.as_bytes())
        .map_err(|e| err(format!("not a readable PEM file ({e})")))?;
    let der = Zeroizing::new(der);
    match label {
        "PRIVATE KEY" => from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
            .map(Signer::rsa)
            .map_err(|e| err(format!("the RSA private key is refused: {e}"))),
        "ENCRYPTED PRIVATE KEY" => Err(err(
            "the private key is encrypted; sluice needs it unencrypted in a file only its \
             user can read (openssl pkey -in encrypted.pem -out key.pem)",
        )),
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(err(
            "this is a public key: Binance keeps the public key, sluice needs the private key",
        )),
        other => Err(err(format!(
            "PEM label `{other}` is not a private key (expected `PRIVATE KEY` or `RSA PRIVATE KEY`)"
        ))),
    }
}

fn from_pkcs8(der: &[u8]) -> Result<Signer, KeyError> {
    let info = PrivateKeyInfo::try_from(der)
        .map_err(|e| err(format!("not a PKCS#8 private key ({e})")))?;
    let oid = info.algorithm.oid;
    if oid == ED25519_OID {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Signer::ed25519)
            .map_err(|e| err(format!("the Ed25519 private key is refused: {e}")))
    } else if oid == RSA_OID {
        RsaKeyPair::from_pkcs8(der).map(Signer::rsa).map_err(|e| {
            err(format!(
                "the RSA private key is refused (2048 to 8192 bits): {e}"
            ))
        })
    } else {
        Err(err(format!(
            "key algorithm {oid} is not one Binance signs with (Ed25519 or RSA)"
        )))
    }
}

#[cfg(test)]
#[path = "keyfile_tests.rs"]
mod tests;
