//! The one bounded poll: ask a condition every 20 ms until it holds or a deadline
//! passes. Tests wait for events this way instead of sleeping; a condition that never
//! holds fails the test (naming what it waited for and what it saw last) instead of
//! hanging it.

use std::fmt::{Debug, Display};
use std::time::Duration;

use tokio::time::Instant;

/// How long to wait between two looks at the condition.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Ask `check` until it is done (`Ok`, returned) or `within` has passed: then the last
/// `Err`, what `check` saw instead. `check` runs at least once, also when `within` is 0.
/// It may borrow mutably what it checks (`async || session.try_acquire().await…`).
pub async fn poll_seen<T, S>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, S>,
) -> Result<T, S> {
    let deadline = Instant::now() + within;
    loop {
        let seen = check().await;
        if seen.is_ok() || Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Ask `check` until it yields a value (returned) or `within` has passed (`None`).
pub async fn poll<T>(within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    poll_seen(within, async || check().await.ok_or(()))
        .await
        .ok()
}

/// As [`poll_seen`], failing the test with `what` and the last thing seen.
pub async fn until_ok<T, S: Debug>(
    what: impl Display,
    within: Duration,
    check: impl AsyncFnMut() -> Result<T, S>,
) -> T {
    match poll_seen(within, check).await {
        Ok(value) => value,
        Err(seen) => panic!("timed out after {within:?} waiting for {what}; last {seen:?}"),
    }
}

/// As [`poll`], failing the test with `what` when the deadline passes.
pub async fn until_some<T>(
    what: impl Display,
    within: Duration,
    check: impl AsyncFnMut() -> Option<T>,
) -> T {
    match poll(within, check).await {
        Some(value) => value,
        None => panic!("timed out after {within:?} waiting for {what}"),
    }
}

/// Wait (bounded) until `pred` holds; fails the test with `what` when it never does.
pub async fn until(what: impl Display, within: Duration, mut pred: impl AsyncFnMut() -> bool) {
    until_some(what, within, async || pred().await.then_some(())).await
}
