//! `[[symbols]]` overrides: any exchangeInfo filter (and the synthetic book's shape) of
//! one of the mainnet defaults, or a new symbol copied from BTCUSDT's filters.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::venue::SymbolSpec;

/// `[[symbols]]`: every field but `name` optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SymbolConfig {
    name: String,
    mark_price: Option<Decimal>,
    tick_size: Option<Decimal>,
    min_price: Option<Decimal>,
    max_price: Option<Decimal>,
    step_size: Option<Decimal>,
    min_qty: Option<Decimal>,
    max_qty: Option<Decimal>,
    market_step_size: Option<Decimal>,
    market_min_qty: Option<Decimal>,
    market_max_qty: Option<Decimal>,
    hidden_market_max_qty: Option<Decimal>,
    min_notional: Option<Decimal>,
    multiplier_up: Option<Decimal>,
    multiplier_down: Option<Decimal>,
    price_precision: Option<u32>,
    quantity_precision: Option<u32>,
    max_num_orders: Option<u32>,
    status: Option<String>,
    book_levels: Option<u32>,
    level_qty: Option<Decimal>,
    book_offset: Option<Decimal>,
    walk_step: Option<Decimal>,
    walk_interval_ms: Option<i64>,
}

macro_rules! set {
    ($spec:ident . $field:ident = $v:expr) => {
        if let Some(v) = $v {
            $spec.$field = v;
        }
    };
}

impl SymbolConfig {
    fn apply(self, s: &mut SymbolSpec) {
        set!(s.mark_price = self.mark_price);
        set!(s.tick_size = self.tick_size);
        set!(s.min_price = self.min_price);
        set!(s.max_price = self.max_price);
        set!(s.lot_step = self.step_size);
        set!(s.market_step = self.market_step_size.or(self.step_size));
        set!(s.lot_min_qty = self.min_qty);
        set!(s.lot_max_qty = self.max_qty);
        set!(s.market_min_qty = self.market_min_qty);
        set!(s.market_max_qty = self.market_max_qty);
        if self.hidden_market_max_qty.is_some() {
            s.hidden_market_max_qty = self.hidden_market_max_qty;
        }
        set!(s.min_notional = self.min_notional);
        set!(s.multiplier_up = self.multiplier_up);
        set!(s.multiplier_down = self.multiplier_down);
        set!(s.price_precision = self.price_precision);
        set!(s.quantity_precision = self.quantity_precision);
        set!(s.max_num_orders = self.max_num_orders);
        set!(s.status = self.status);
        set!(s.book_levels = self.book_levels);
        set!(s.level_qty = self.level_qty);
        set!(s.book_offset = self.book_offset);
        set!(s.walk_step = self.walk_step);
        set!(s.walk_interval_ms = self.walk_interval_ms);
    }
}

pub(super) fn symbols_from(configs: Vec<SymbolConfig>) -> Result<Vec<SymbolSpec>, String> {
    let mut symbols = SymbolSpec::mainnet_defaults();
    for (i, c) in configs.into_iter().enumerate() {
        let name = c.name.clone();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(format!(
                "symbols[{i}].name: '{name}' is not an upper-case symbol name"
            ));
        }
        let idx = match symbols.iter().position(|s| s.name == name) {
            Some(idx) => idx,
            None => {
                let Some(template) = symbols.first().cloned() else {
                    return Err(format!("symbols[{i}]: no template symbol"));
                };
                let mut s = template;
                s.base_asset = name.strip_suffix("USDT").unwrap_or(&name).to_owned();
                s.pair = name.clone();
                s.name = name.clone();
                symbols.push(s);
                symbols.len() - 1
            }
        };
        c.apply(&mut symbols[idx]);
        let s = &symbols[idx];
        if s.mark_price <= Decimal::ZERO
            || s.tick_size <= Decimal::ZERO
            || s.lot_step <= Decimal::ZERO
            || s.market_step <= Decimal::ZERO
        {
            return Err(format!(
                "symbols[{i}] ({name}): mark_price, tick_size and step sizes must be positive"
            ));
        }
        precision_fits(i, s)?;
    }
    Ok(symbols)
}

/// A step finer than the precision makes the venue round what it reports (seen: a SHORT
/// of 8486.84 served as -8487); such a symbol is refused, naming the field.
fn precision_fits(i: usize, s: &SymbolSpec) -> Result<(), String> {
    let checks = [
        (
            "tick_size",
            s.tick_size,
            "price_precision",
            s.price_precision,
        ),
        (
            "step_size",
            s.lot_step,
            "quantity_precision",
            s.quantity_precision,
        ),
        (
            "market_step_size",
            s.market_step,
            "quantity_precision",
            s.quantity_precision,
        ),
    ];
    for (field, step, precision_field, precision) in checks {
        let decimals = step.normalize().scale();
        if decimals > precision {
            return Err(format!(
                "symbols[{i}].{field}: {step} has {decimals} decimals but {precision_field} \
                 is {precision} ({}): the venue would round it",
                s.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    fn sol(keys: &str) -> Result<Scenario, String> {
        Scenario::from_toml_str(&format!("[[symbols]]\nname = \"SOLUSDT\"\n{keys}"))
    }

    #[test]
    fn a_step_finer_than_the_quantity_precision_is_refused_by_name() {
        let e = sol("step_size = \"0.01\"\nquantity_precision = 0\n").unwrap_err();
        assert!(
            e.starts_with("symbols[0].step_size: 0.01 has 2 decimals"),
            "{e}"
        );
        assert!(e.contains("quantity_precision is 0"), "{e}");
        let e = sol("step_size = \"1\"\nmarket_step_size = \"0.001\"\nquantity_precision = 2\n")
            .unwrap_err();
        assert!(e.starts_with("symbols[0].market_step_size"), "{e}");
    }

    #[test]
    fn a_tick_finer_than_the_price_precision_is_refused_by_name() {
        let e = sol("tick_size = \"0.0001\"\nprice_precision = 2\n").unwrap_err();
        assert!(
            e.starts_with("symbols[0].tick_size: 0.0001 has 4 decimals"),
            "{e}"
        );
        assert!(e.contains("price_precision is 2"), "{e}");
    }

    #[test]
    fn steps_within_the_precision_are_accepted_whatever_their_trailing_zeros() {
        let s = sol("step_size = \"0.010\"\nquantity_precision = 2\ntick_size = \"0.0100\"\nprice_precision = 2\n")
            .unwrap();
        let sol = s.symbols.iter().find(|x| x.name == "SOLUSDT").unwrap();
        assert_eq!(sol.quantity_precision, 2);
    }
}
