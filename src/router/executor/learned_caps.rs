//! The MARKET caps the cap book learns from -4005s (and raises again after accepted
//! chunks), persisted so a restart does not relearn them the hard way.

/// A MARKET chunk passed the venue's size check: the cap book may raise its learned cap
/// (the upward probe after halving, `caps.rs`), persisted like a lowered one.
use super::context::Ctx;
use super::job::Chunk;
use crate::domain::Qty;
use crate::ledger::NewSymbolCap;

pub(crate) async fn market_size_accepted(ctx: &mut Ctx, chunk: &Chunk) -> anyhow::Result<()> {
    let symbol = &chunk.leg.symbol;
    let Some(rules) = ctx.rules.get(symbol).cloned() else {
        return Ok(());
    };
    let change =
        ctx.caps
            .on_market_chunk_accepted(symbol, chunk.qty, &rules.market_lot_size, Ctx::now_ms());
    if let Some(change) = change {
        tracing::info!(%change, "raised a learned MARKET cap");
        persist_cap(ctx, &rules, &change.cap).await?;
    }
    Ok(())
}

pub(crate) async fn persist_cap(
    ctx: &Ctx,
    rules: &crate::domain::SymbolRules,
    cap: &crate::router::core::caps::LearnedCap,
) -> anyhow::Result<()> {
    let published = Qty::new("published maxQty", rules.market_lot_size.max_qty).ok();
    let record = NewSymbolCap {
        symbol: &cap.symbol,
        max_qty: cap.learned_market_max_qty,
        published_max_qty: published.filter(|q| !q.is_zero()),
        reason: &cap.reason,
        retry_after: Ctx::time_of_ms(cap.retry_after_ms),
    };
    ctx.ledger.record_symbol_cap(&ctx.venue, &record).await?;
    Ok(())
}
