//! The one Postgres helper for tests: the URL of the database `#[sqlx::test]` made for
//! a test (to hand to a `sluice` process), a database of its own for a test that runs
//! its own runtime, row counts, and a private cluster ([`cluster`]) for tests that stop
//! and restart the server. Every database is the test's own: no fixed names.

pub mod cluster;

use sluice::ledger::Ledger;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The server the tests run against (`eval "$(scripts/postgres.sh)"` sets it).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL (eval \"$(scripts/postgres.sh)\")")
}

/// The URL of `pool`'s database (the one `#[sqlx::test]` created for the test).
pub async fn database_url(pool: &PgPool) -> String {
    let (db,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(pool)
        .await
        .expect("db name");
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(&db);
    url.into()
}

/// The URL of the database `conn` points at (`#[sqlx::test]`'s connect options).
pub fn url_of(conn: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        conn.get_username(),
        conn.get_host(),
        conn.get_port(),
        conn.get_database().expect("test database name")
    )
}

/// Rows in `table`, to prove what a call did (not) write.
pub async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    sqlx::query_scalar(&sql)
        .fetch_one(pool)
        .await
        .expect("count rows")
}

/// A migrated database of a test's own with a random name, for a test that drives its
/// own runtime (where `#[sqlx::test]` does not fit); [`TempDatabase::remove`] drops it.
pub struct TempDatabase {
    pub ledger: Ledger,
    admin: PgPool,
    name: String,
}

/// Create and migrate a [`TempDatabase`] on the test server.
pub async fn temp_database() -> TempDatabase {
    let server = server_url();
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .expect("connect to the test server");
    let name = format!("sluice_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&server).expect("DATABASE_URL is a URL");
    url.set_path(&name);
    let ledger = Ledger::connect(url.as_str())
        .await
        .expect("connect to fresh database");
    ledger.migrate().await.expect("migrate");
    TempDatabase {
        ledger,
        admin,
        name,
    }
}

impl TempDatabase {
    /// Close the ledger's connections and drop the database.
    pub async fn remove(self) {
        self.ledger.pool().close().await;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await
        .expect("drop database");
    }
}
