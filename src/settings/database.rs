//! `[database]`: where the ledger lives and how many connections its pool may open.
//!
//! Invariants: the URL is parsed when the settings load (a bad one is refused naming
//! `database.url`), and held with its password redacted from `Debug` and from `config
//! show`, which print only scheme, host and port. The pool never opens more than
//! `max_connections` (at least 1).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::secret::Secret;

/// How long a caller waits for a free pooled connection before the ledger call fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// `[database]`: how to reach the ledger's Postgres and how many connections to use.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `DATABASE_URL` or `SLUICE__DATABASE__URL`; unset for commands that need no ledger.
    #[serde(default)]
    pub(crate) url: Option<DatabaseUrl>,
    /// The most connections the ledger's pool opens at once.
    pub max_connections: NonZeroU32,
}

impl DatabaseSettings {
    /// The parsed URL, or the error telling the operator how to set it.
    pub(crate) fn url(&self) -> anyhow::Result<&DatabaseUrl> {
        self.url.as_ref().ok_or_else(|| {
            anyhow::anyhow!("database.url: not set; set DATABASE_URL or SLUICE__DATABASE__URL")
        })
    }

    /// What to connect to (host, port, user, password, database, TLS).
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        Ok(self.url()?.options.clone())
    }

    /// The pool's bounds: at most `max_connections`, a bounded wait for a free one.
    pub(crate) fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections.get())
            .acquire_timeout(ACQUIRE_TIMEOUT)
    }
}

/// A Postgres URL, parsed once. Shown only as `scheme://host:port`.
#[derive(Clone)]
pub(crate) struct DatabaseUrl {
    raw: Secret,
    options: PgConnectOptions,
}

impl DatabaseUrl {
    /// Parse `raw`; the error gives the reason, never the URL (it may hold a password).
    pub(crate) fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        let options = PgConnectOptions::from_str(raw.trim())
            .map_err(|e| format!("not a Postgres URL ({e})"))?;
        Ok(DatabaseUrl {
            raw: Secret::new(raw.trim().to_string()),
            options,
        })
    }

    /// The URL as given, password included: for the paper ledger's admin connection only.
    #[cfg(test)]
    pub(crate) fn expose(&self) -> &str {
        self.raw.expose()
    }

    pub(crate) fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The same server and credentials, database `name` (the paper ledger).
    pub(crate) fn with_database(&self, name: &str) -> Result<DatabaseUrl, String> {
        let mut url =
            url::Url::parse(self.raw.expose()).map_err(|e| format!("not a Postgres URL ({e})"))?;
        url.set_path(&format!("/{name}"));
        DatabaseUrl::parse(url.as_str())
    }

    /// Where the database is (scheme, host, port), never its user, password or name.
    pub(crate) fn location(&self) -> String {
        match url::Url::parse(self.raw.expose()) {
            Ok(u) => match (u.host_str(), u.port()) {
                (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
                (Some(host), None) => format!("{}://{host}", u.scheme()),
                _ => "[redacted]".to_string(),
            },
            Err(_) => "[redacted]".to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.location())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.location())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Secret::deserialize(d)?;
        DatabaseUrl::parse(raw.expose()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn settings(url: Option<&str>, max: u32) -> DatabaseSettings {
        DatabaseSettings {
            url: url.map(|u| DatabaseUrl::parse(u).expect("test URL parses")),
            max_connections: NonZeroU32::new(max).expect("positive"),
        }
    }

    #[test]
    fn the_connect_options_come_from_the_parsed_url_and_debug_hides_the_password() {
        let s = settings(Some("postgres://trader:pa55word@db.internal:6543/books"), 4);
        let options = s.connect_options().expect("options");
        assert_eq!(options.get_host(), "db.internal");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_database(), Some("books"));
        let shown = format!("{s:?}");
        assert!(shown.contains("postgres://db.internal:6543"), "{shown}");
        assert!(
            !shown.contains("pa55word") && !shown.contains("trader"),
            "{shown}"
        );
    }

    #[test]
    fn a_missing_or_malformed_url_is_an_error_naming_the_key_without_the_password() {
        let err = settings(None, 4).connect_options().unwrap_err();
        assert!(format!("{err:#}").contains("database.url"), "{err:#}");
        let bad = DatabaseUrl::parse("postgres://u:secret-pw@db:notaport/x").unwrap_err();
        assert!(!bad.contains("secret-pw"), "{bad}");
    }

    /// A ledger connected with `max_connections = 3` lends out three connections and
    /// makes a fourth caller wait until one comes back.
    #[sqlx::test(migrations = false)]
    async fn the_ledger_pool_honours_max_connections(_: PgPoolOptions, db: PgConnectOptions) {
        let s = settings(None, 3);
        let ledger = Ledger::connect_with(s.pool_options(), db)
            .await
            .expect("ledger connects");
        let pool = ledger.pool();
        assert_eq!(pool.options().get_max_connections(), 3);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.acquire().await.expect("one of three connections"));
        }
        assert_eq!(pool.size(), 3);
        let fourth = tokio::time::timeout(Duration::from_millis(300), pool.acquire()).await;
        assert!(fourth.is_err(), "a fourth connection was opened");
        held.pop();
        let returned = tokio::time::timeout(ACQUIRE_TIMEOUT, pool.acquire()).await;
        assert!(
            matches!(returned, Ok(Ok(_))),
            "the returned connection is lent again"
        );
        assert_eq!(pool.size(), 3);
    }
}
