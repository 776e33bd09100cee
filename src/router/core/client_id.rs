//! Deterministic `newClientOrderId`s: intent, chunk and attempt, in at most 36 characters.
//!
//! Layout: `sl` + kind (`o`pen, `c`lose, `r`educe, `f`latten) + intent tag + intent + `.` +
//! chunk + `.` + attempt, where the intent is either `u` + a UUID in 22 characters of
//! base64url (`A-Z a-z 0-9 - _`, most significant bits first) or `n` + a decimal sequence
//! number. Chunk and attempt are decimal without leading zeros. Examples:
//! `slcuAYpWyDwDTgqfi3G4OzCVaw.12.0`, `slon4821.0.3`.
//!
//! Invariants:
//! - every id is within Binance's `^[\.A-Z\:/a-z0-9_-]{1,36}$` (else -4015);
//! - encoding is injective and [`SluiceOrderId::parse`] is its exact inverse: an id parses
//!   only if re-encoding the result gives the same text, so anything else (the web UI's
//!   `web_…`, Binance's random ids, a hand-typed id) is reported as foreign;
//! - the kind is in the id, so even without the ledger a fill can be told to be a close
//!   (seed 002: a close must never be processed as an open);
//! - with a UUID intent, any chunk and attempt below 10 000 fit; a larger pair that would
//!   exceed 36 characters is refused, never truncated.

use std::fmt;

use uuid::Uuid;

use crate::domain::{ClientOrderId, IntentKind};

const PREFIX: &str = "sl";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const UUID_CHARS: usize = 22;

/// How the ledger names an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntentRef {
    /// An intent named by a UUID.
    Uuid(Uuid),
    /// An intent named by its ledger row number.
    Seq(u64),
}

/// Everything a sluice client order id says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SluiceOrderId {
    /// The intent kind the order serves (opens, closes and reduces are told apart on sight).
    pub kind: IntentKind,
    /// The intent the order belongs to.
    pub intent: IntentRef,
    /// Index of the chunk within the intent (continues across re-plans).
    pub chunk: u32,
    /// Send attempt of that chunk, from 0; every re-send gets a fresh one.
    pub attempt: u32,
}

/// The id would not fit Binance's 36 characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("client order id for chunk {chunk} attempt {attempt} would be {len} characters, over 36")]
pub struct IdTooLong {
    pub chunk: u32,
    pub attempt: u32,
    pub len: usize,
}

/// An id sluice did not write (or that was altered): reconcile treats its order as foreign.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{id}` is not a sluice client order id: {reason}")]
pub struct ForeignId {
    pub id: String,
    pub reason: &'static str,
}

fn kind_char(kind: IntentKind) -> char {
    match kind {
        IntentKind::Open => 'o',
        IntentKind::Close => 'c',
        IntentKind::Reduce => 'r',
        IntentKind::Flatten => 'f',
    }
}

fn kind_of(c: u8) -> Option<IntentKind> {
    match c {
        b'o' => Some(IntentKind::Open),
        b'c' => Some(IntentKind::Close),
        b'r' => Some(IntentKind::Reduce),
        b'f' => Some(IntentKind::Flatten),
        _ => None,
    }
}

fn encode_uuid(id: Uuid, out: &mut String) {
    let v = id.as_u128();
    for i in (0..UUID_CHARS).rev() {
        out.push(char::from(B64[((v >> (6 * i)) & 63) as usize]));
    }
}

fn decode_uuid(text: &str) -> Option<Uuid> {
    if text.len() != UUID_CHARS {
        return None;
    }
    let mut v: u128 = 0;
    for (i, b) in text.bytes().enumerate() {
        let digit = B64.iter().position(|c| *c == b)? as u128;
        // 22 × 6 = 132 bits: the first character may only carry the top 2 of 128.
        if i == 0 && digit > 3 {
            return None;
        }
        v = (v << 6) | digit;
    }
    Some(Uuid::from_u128(v))
}

impl SluiceOrderId {
    /// The text form, refused (not truncated) if it would exceed 36 characters.
    pub fn encode(&self) -> Result<ClientOrderId, IdTooLong> {
        let text = self.to_string();
        if text.len() > ClientOrderId::MAX_LEN {
            return Err(IdTooLong {
                chunk: self.chunk,
                attempt: self.attempt,
                len: text.len(),
            });
        }
        // Every character comes from Binance's alphabet, so this cannot be refused;
        // map the impossible case to the length error rather than panic.
        ClientOrderId::new(&text).map_err(|_| IdTooLong {
            chunk: self.chunk,
            attempt: self.attempt,
            len: text.len(),
        })
    }

    /// The same order, sent again: a fresh id that resolves to the same chunk.
    #[cfg(test)]
    pub(crate) fn next_attempt(self) -> SluiceOrderId {
        SluiceOrderId {
            attempt: self.attempt.saturating_add(1),
            ..self
        }
    }

    /// Read an id back. Anything sluice would not have written is [`ForeignId`].
    pub fn parse(id: &str) -> Result<SluiceOrderId, ForeignId> {
        let foreign = |reason| ForeignId {
            id: id.to_string(),
            reason,
        };
        let rest = id.strip_prefix(PREFIX).ok_or(foreign("no `sl` prefix"))?;
        let bytes = rest.as_bytes();
        if bytes.len() < 2 {
            return Err(foreign("too short"));
        }
        let kind = kind_of(bytes[0]).ok_or(foreign("unknown intent kind"))?;
        let mut parts = rest[2..].split('.');
        let (Some(intent), Some(chunk), Some(attempt), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(foreign("expected intent.chunk.attempt"));
        };
        let intent = match bytes[1] {
            b'u' => IntentRef::Uuid(decode_uuid(intent).ok_or(foreign("bad uuid"))?),
            b'n' => IntentRef::Seq(intent.parse().map_err(|_| foreign("bad intent number"))?),
            _ => return Err(foreign("unknown intent tag")),
        };
        let parsed = SluiceOrderId {
            kind,
            intent,
            chunk: chunk.parse().map_err(|_| foreign("bad chunk number"))?,
            attempt: attempt.parse().map_err(|_| foreign("bad attempt number"))?,
        };
        // Canonical form only ("+1", "007" and the like parse as numbers but are not ours).
        if parsed.to_string() != id || id.len() > ClientOrderId::MAX_LEN {
            return Err(foreign("not in canonical form"));
        }
        Ok(parsed)
    }
}

impl fmt::Display for SluiceOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(ClientOrderId::MAX_LEN);
        s.push_str(PREFIX);
        s.push(kind_char(self.kind));
        match self.intent {
            IntentRef::Uuid(u) => {
                s.push('u');
                encode_uuid(u, &mut s);
            }
            IntentRef::Seq(n) => {
                s.push('n');
                s.push_str(&n.to_string());
            }
        }
        write!(f, "{s}.{}.{}", self.chunk, self.attempt)
    }
}

/// Did sluice write this id?
pub(crate) fn is_sluice(id: &str) -> bool {
    SluiceOrderId::parse(id).is_ok()
}

#[cfg(test)]
#[path = "client_id_tests.rs"]
mod tests;
