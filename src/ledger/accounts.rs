//! The accounts of one ledger (docs/accounts.md): who a row belongs to. The ledger keeps
//! an account's name, venue, position mode, budget allocation, symbols and where its
//! credentials are read from; never a key or a secret.
//!
//! Invariants:
//! - exactly one account is the default (`main` on a migrated ledger); a row written
//!   without naming an account belongs to it;
//! - a name is 1-32 of `a-z 0-9 _ -`, starting with a letter or digit (the database
//!   checks it too);
//! - `credential_source` is a path or a settings entry's name; a value that looks like a
//!   key or a secret is refused, so nothing secret is ever stored.

use rust_decimal::Decimal;
use sqlx::FromRow;

use super::{Ledger, LedgerError};

/// One account as the ledger stores it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    /// None: as the serving daemon's settings say.
    pub venue: Option<String>,
    pub position_mode: Option<String>,
    pub allocation_usdt: Option<Decimal>,
    pub symbols: Vec<String>,
    pub credential_source: Option<String>,
    pub is_default: bool,
}

/// An account to add (or to describe again: the same name updates it).
#[derive(Clone, Debug)]
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub venue: Option<&'a str>,
    pub position_mode: Option<&'a str>,
    pub allocation_usdt: Option<Decimal>,
    pub symbols: &'a [String],
    /// A key file's path or a settings entry's name (never the key or secret itself).
    pub credential_source: Option<&'a str>,
}

const COLUMNS: &str =
    "id, name, venue, position_mode, allocation_usdt, symbols, credential_source, is_default";

/// Whether `name` is a valid account name (what the database's CHECK accepts).
pub(crate) fn valid_name(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    name.len() <= 32
        && name.chars().all(ok)
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Whether `source` could be a secret pasted where a path or a name belongs: a long
/// run without a path separator, a dot or a space (API keys and secrets are 64
/// alphanumeric characters; PEM keys have a BEGIN line).
fn looks_secret(source: &str) -> bool {
    source.contains("-----BEGIN")
        || (source.len() >= 40 && source.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn check(new: &NewAccount<'_>) -> Result<(), LedgerError> {
    if !valid_name(new.name) {
        return Err(LedgerError::invalid(
            "name",
            format!(
                "'{}' is not 1-32 of a-z 0-9 _ - starting with a letter or digit",
                new.name
            ),
        ));
    }
    if let Some(source) = new.credential_source {
        if source.trim().is_empty() || looks_secret(source) {
            return Err(LedgerError::invalid(
                "credential_source",
                "must be a key file's path or a settings entry's name, never a key or secret",
            ));
        }
    }
    if new.allocation_usdt.is_some_and(|a| a.is_sign_negative()) {
        return Err(LedgerError::invalid(
            "allocation_usdt",
            "must not be negative",
        ));
    }
    Ok(())
}

/// `options` for a process that works on `account` (None: the ledger's default account):
/// every session names it in `sluice.account`, so its rows, reads and defaults are that
/// account's (`sluice_account()` in the migrations).
pub fn connect_options_for(
    options: sqlx::postgres::PgConnectOptions,
    account: Option<&str>,
) -> sqlx::postgres::PgConnectOptions {
    match account {
        Some(name) => options.options([("sluice.account", name)]),
        None => options,
    }
}

impl Ledger {
    /// Every account, the default first.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts ORDER BY is_default DESC, name");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    /// The account named `name`, or the default one for None.
    pub async fn account(&self, name: Option<&str>) -> Result<AccountRow, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts WHERE ($1::text IS NULL AND is_default) OR name = $1"
        );
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.ok_or_else(|| {
            LedgerError::not_found(format!("account '{}'", name.unwrap_or("(default)")))
        })
    }

    /// Add the account, or describe an existing one of that name again.
    pub async fn upsert_account(&self, new: &NewAccount<'_>) -> Result<AccountRow, LedgerError> {
        check(new)?;
        let sql = format!(
            "INSERT INTO accounts (name, venue, position_mode, allocation_usdt, symbols, credential_source)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET venue = EXCLUDED.venue,
                 position_mode = EXCLUDED.position_mode, allocation_usdt = EXCLUDED.allocation_usdt,
                 symbols = EXCLUDED.symbols, credential_source = EXCLUDED.credential_source
             RETURNING {COLUMNS}"
        );
        Ok(sqlx::query_as(&sql)
            .bind(new.name)
            .bind(new.venue)
            .bind(new.position_mode)
            .bind(new.allocation_usdt)
            .bind(new.symbols)
            .bind(new.credential_source)
            .fetch_one(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_lowercase_words() {
        for good in ["main", "b", "mm-1", "fund_2", "0x"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Main", "-a", "a b", "a/b", &"a".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_secret_is_never_taken_for_a_credential_source() {
        let key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
        assert!(looks_secret(key));
        assert!(looks_secret("-----BEGIN PRIVATE KEY-----\nMC4CAQ"));
        assert!(!looks_secret("/etc/sluice/keys/b.key"));
        assert!(!looks_secret("exchange.api_secret_file"));
    }
}
