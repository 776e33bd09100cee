//! The one bounded poll: ask a condition every 20 ms until it holds or a deadline
//! passes. Tests wait for events this way instead of sleeping; a condition that never
//! holds fails the test (naming what it waited for) instead of hanging it.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long to wait between two looks at the condition.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Ask `check` until it yields a value (returned) or `within` has passed (`None`).
/// `check` runs at least once, also when `within` is zero.
pub async fn poll<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// As [`poll`], failing the test with `what` when the deadline passes.
pub async fn until_some<T, F, Fut>(what: impl Display, within: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    match poll(within, check).await {
        Some(value) => value,
        None => panic!("timed out after {within:?} waiting for {what}"),
    }
}

/// Wait (bounded) until `pred` holds; fails the test with `what` when it never does.
pub async fn until<F, Fut>(what: impl Display, within: Duration, mut pred: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_some(what, within, || {
        let holds = pred();
        async move { holds.await.then_some(()) }
    })
    .await
}
