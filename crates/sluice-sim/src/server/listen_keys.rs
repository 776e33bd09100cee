//! listenKeys: one per account, 60 scenario minutes of life, extended by POST/PUT, closed
//! by DELETE, invalidated wholesale by a fault. Pure: times are scenario ms.

use std::collections::HashMap;

use rand::Rng;

use crate::error::ApiError;
use crate::venue::AccountId;

/// A listenKey lives this long after its last POST/PUT (scenario ms).
pub(crate) const LISTEN_KEY_LIFE_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, Clone)]
struct KeyState {
    account: AccountId,
    expires_ms: i64,
}

#[derive(Debug, Default)]
pub(crate) struct ListenKeys {
    keys: HashMap<String, KeyState>,
}

impl ListenKeys {
    /// POST: the account's live key extended, or a new one.
    pub(crate) fn create(&mut self, account: AccountId, now_ms: i64, rng: &mut impl Rng) -> String {
        self.keys.retain(|_, k| k.expires_ms > now_ms);
        let existing = self.keys.iter_mut().find(|(_, k)| k.account == account);
        if let Some((key, st)) = existing {
            st.expires_ms = now_ms + LISTEN_KEY_LIFE_MS;
            return key.clone();
        }
        let key: String = (0..64)
            .map(|_| {
                let n = rng.gen_range(0..62u8);
                (match n {
                    0..=9 => b'0' + n,
                    10..=35 => b'a' + n - 10,
                    _ => b'A' + n - 36,
                }) as char
            })
            .collect();
        self.keys.insert(
            key.clone(),
            KeyState {
                account,
                expires_ms: now_ms + LISTEN_KEY_LIFE_MS,
            },
        );
        key
    }

    /// PUT: extends the account's key; `-1125` if it has none alive.
    pub(crate) fn keepalive(
        &mut self,
        account: AccountId,
        now_ms: i64,
    ) -> Result<String, ApiError> {
        let found = self
            .keys
            .iter_mut()
            .find(|(_, k)| k.account == account && k.expires_ms > now_ms);
        match found {
            Some((key, st)) => {
                st.expires_ms = now_ms + LISTEN_KEY_LIFE_MS;
                Ok(key.clone())
            }
            None => Err(ApiError::invalid_listen_key()),
        }
    }

    /// DELETE: closes the account's key. Returns the key closed, if any.
    pub(crate) fn close(&mut self, account: AccountId) -> Option<String> {
        let key = self
            .keys
            .iter()
            .find(|(_, k)| k.account == account)
            .map(|(k, _)| k.clone())?;
        self.keys.remove(&key);
        Some(key)
    }

    /// The account and expiry of a live key.
    pub(crate) fn lookup(&self, key: &str, now_ms: i64) -> Option<(AccountId, i64)> {
        self.keys
            .get(key)
            .filter(|k| k.expires_ms > now_ms)
            .map(|k| (k.account, k.expires_ms))
    }

    /// The expiry of `key` whether or not it has passed (`None` once closed/invalidated).
    pub(crate) fn expiry(&self, key: &str) -> Option<i64> {
        self.keys.get(key).map(|k| k.expires_ms)
    }

    /// Fault: every key stops existing.
    pub(crate) fn invalidate_all(&mut self) -> Vec<String> {
        self.keys.drain().map(|(k, _)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_second_post_returns_the_same_key_and_extends_it() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut lk = ListenKeys::default();
        let k = lk.create(0, 0, &mut rng);
        assert_eq!(k.len(), 64);
        assert_eq!(lk.create(0, 1000, &mut rng), k);
        assert_eq!(
            lk.lookup(&k, 1000 + LISTEN_KEY_LIFE_MS - 1).map(|x| x.0),
            Some(0)
        );
        assert_ne!(lk.create(1, 0, &mut rng), k);
    }

    #[test]
    fn keys_expire_after_sixty_minutes_and_keepalive_then_fails_with_minus_1125() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut lk = ListenKeys::default();
        let k = lk.create(0, 0, &mut rng);
        assert_eq!(lk.lookup(&k, LISTEN_KEY_LIFE_MS), None);
        assert_eq!(lk.keepalive(0, LISTEN_KEY_LIFE_MS).unwrap_err().code, -1125);
        let k2 = lk.create(0, LISTEN_KEY_LIFE_MS, &mut rng);
        assert_eq!(lk.keepalive(0, LISTEN_KEY_LIFE_MS + 5).unwrap(), k2);
        assert_eq!(lk.invalidate_all(), vec![k2.clone()]);
        assert_eq!(lk.lookup(&k2, LISTEN_KEY_LIFE_MS + 6), None);
    }
}
