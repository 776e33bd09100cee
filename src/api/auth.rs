//! Bearer-token checks for the control API.
//!
//! The comparison is constant-time so the token cannot be guessed byte by byte from
//! response timings. A daemon bound to a non-loopback address without a token refuses
//! to start (see `startup`), so "no token" only ever means "loopback only", and that
//! only with the explicit `api.auth = "none"` (see `settings::ApiSettings`).

use std::net::SocketAddr;

use crate::settings::Secret;

/// Does the `Authorization` header carry the configured token?
pub(crate) fn token_matches(expected: &Secret, header: Option<&str>) -> bool {
    let Some(value) = header else { return false };
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` work too.
    let Some((scheme, given)) = value.trim_start().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    constant_time_eq(given.trim().as_bytes(), expected.expose().as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuse to serve the control API beyond loopback without a token.
pub(crate) fn check_bind(listen: SocketAddr, token: Option<&Secret>) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() && token.is_none() {
        anyhow::bail!(
            "api.listen: {listen} is not a loopback address and no api.token is set; set SLUICE__API__TOKEN or api.token_file"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let t = Secret::new("abc123".into());
        assert!(token_matches(&t, Some("Bearer abc123")));
        assert!(!token_matches(&t, Some("Bearer abc124")));
        assert!(!token_matches(&t, Some("abc123")));
        assert!(!token_matches(&t, Some("Basic abc123")));
        assert!(!token_matches(&t, None));
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        let t = Secret::new("abc123".into());
        for h in ["bearer abc123", "BEARER abc123", "BeArEr  abc123"] {
            assert!(token_matches(&t, Some(h)), "{h}");
        }
    }

    #[test]
    fn a_public_bind_without_a_token_is_refused() {
        let public: SocketAddr = "0.0.0.0:7878".parse().expect("addr");
        let local: SocketAddr = "127.0.0.1:7878".parse().expect("addr");
        assert!(check_bind(public, None).is_err());
        assert!(check_bind(local, None).is_ok());
        assert!(check_bind(public, Some(&Secret::new("t".into()))).is_ok());
    }
}
