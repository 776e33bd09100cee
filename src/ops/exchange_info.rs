//! `sluice exchange-info [--symbol S] [--json]`: the trading rules the adapter parsed
//! from the venue's exchangeInfo, as a table or JSON.
//!
//! Read-only; it prints what sluice will enforce, so an operator can compare it with
//! the venue's own page before trading.

use std::fmt;

use anyhow::Context;
use serde::Serialize;

use crate::domain::{Symbol, SymbolRules};
use crate::exchange::Exchange;

/// `sluice exchange-info`: the symbol rules the exchange publishes, as sluice parses them.
#[derive(Clone, Debug, Serialize)]
pub struct ExchangeInfoReport {
    /// The adapter's venue name.
    pub venue: String,
    /// The rules of the symbol asked for, or of every listed symbol, sorted by symbol.
    pub symbols: Vec<SymbolRules>,
}

/// Load the rules of every symbol, or of `symbol` only (an error if it is not listed).
pub async fn run(
    exchange: &dyn Exchange,
    symbol: Option<&Symbol>,
) -> anyhow::Result<ExchangeInfoReport> {
    let mut rules = exchange
        .symbol_rules(crate::exchange::Purpose::Routine)
        .await
        .context("failed to load exchangeInfo")?;
    if let Some(s) = symbol {
        rules.retain(|r| &r.symbol == s);
        if rules.is_empty() {
            anyhow::bail!("symbol {s}: not listed on {}", exchange.venue());
        }
    }
    rules.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    Ok(ExchangeInfoReport {
        venue: exchange.venue().to_string(),
        symbols: rules,
    })
}

/// Render rows under headers with every column padded to its widest cell.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

impl fmt::Display for ExchangeInfoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = [
            "SYMBOL",
            "STATUS",
            "TICK",
            "MIN_PRICE",
            "MAX_PRICE",
            "STEP",
            "MIN_QTY",
            "MAX_QTY",
            "MKT_STEP",
            "MKT_MAX_QTY",
            "MIN_NOTIONAL",
            "PCT_UP",
            "PCT_DOWN",
            "MAX_ORDERS",
        ];
        let rows: Vec<Vec<String>> = self
            .symbols
            .iter()
            .map(|r| {
                vec![
                    r.symbol.to_string(),
                    r.status.clone(),
                    r.price_filter.tick_size.normalize().to_string(),
                    r.price_filter.min_price.normalize().to_string(),
                    r.price_filter.max_price.normalize().to_string(),
                    r.lot_size.step_size.normalize().to_string(),
                    r.lot_size.min_qty.normalize().to_string(),
                    r.lot_size.max_qty.normalize().to_string(),
                    r.market_lot_size.step_size.normalize().to_string(),
                    r.market_lot_size.max_qty.normalize().to_string(),
                    r.min_notional.normalize().to_string(),
                    r.percent_price.multiplier_up.normalize().to_string(),
                    r.percent_price.multiplier_down.normalize().to_string(),
                    r.max_num_orders.to_string(),
                ]
            })
            .collect();
        writeln!(f, "venue: {} ({} symbols)", self.venue, self.symbols.len())?;
        write!(f, "{}", table(&headers, &rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up_on_the_widest_cell() {
        let t = table(
            &["A", "BB"],
            &[
                vec!["long".into(), "x".into()],
                vec!["s".into(), "yy".into()],
            ],
        );
        assert_eq!(t, "A     BB\nlong  x\ns     yy");
    }
}
