//! Where the API key pair comes from when it has to be read again.
//!
//! Seed 000: a key deleted mid-run must not need a restart to replace. The daemon holds
//! a [`CredentialSource`]; in key-loss safe mode the adapter asks it for the pair on
//! every re-authentication attempt, so an operator rotates a key by replacing the files
//! the source reads. The secret stays a `SecretString` end to end.

use std::fmt;

use secrecy::SecretString;

/// A key pair's current value, read anew on each call.
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// `(api_key, api_secret)` as the source holds them now; an error names what failed.
    fn load(&self) -> Result<(String, SecretString), String>;
}
