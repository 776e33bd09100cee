//! The executor on an account Binance restricted to reduce-only (-4400), end to end: the
//! simulator's restriction, the real adapter's class, the router's reaction.

use std::time::Duration;

use sluice::domain::{Direction, IntentState};
use sluice_testkit::executor::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn on_a_reduce_only_account_an_open_fails_saying_so_and_a_close_still_completes(
    pool: PgPool,
) {
    // Arrange: a SOL SHORT is adopted; the account may only reduce from the start.
    let scenario = scenario(
        "[[faults]]\nfrom = 0\nrestrict_to_reduce_only = -4400\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"10\", entry_price = \"180\" } ]",
    );
    let d = start(pool.clone(), scenario, fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: ask for an open, then for the close.
    let open = d
        .submit(open("BTCUSDT", Direction::Long, "0.01", "ro-open"))
        .await;
    let opened = d.until_terminal(open, Duration::from_secs(30)).await;
    let close = d.submit(close_all(position.id, "ro-close")).await;
    let closed = d.until_terminal(close, Duration::from_secs(30)).await;

    // Assert: the open failed with the restriction as its reason; the close went through.
    assert_eq!(opened.state, IntentState::Failed);
    let reason = opened.error.unwrap_or_default();
    assert!(
        reason.contains("may only reduce") && reason.contains("-4400"),
        "the open's reason names the reduce-only restriction: {reason}"
    );
    assert_eq!(
        closed.state,
        IntentState::Done,
        "close error: {:?}",
        closed.error
    );
    assert!(d.sim_positions().await.is_empty(), "flat");
    let stats = &d.sim_state().await["stats"];
    assert_eq!(
        stats["responsesByCode"]["-4400"], 1,
        "the open was sent once and not retried: {stats}"
    );
    d.stop().await.shutdown().await;
}
