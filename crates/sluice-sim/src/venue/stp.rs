//! Self-trade prevention: a taker that would meet a resting order of its own account.
//!
//! The taker's `selfTradePreventionMode` decides (the account default `EXPIRE_MAKER` when
//! the order named none, docs/binance-fapi.md §2.2): `EXPIRE_TAKER` expires the taker's
//! remainder, `EXPIRE_MAKER` the resting orders it would meet, `EXPIRE_BOTH` both, each
//! as `EXPIRED_IN_MATCH` with `er` 1 (3 for an IOC/FOK taker) and never a trade. `NONE`
//! leaves both alone: the synthetic book holds no account orders, so the taker then
//! simply trades with the book as if its own order were not there.
//!
//! Invariant: book levels strictly better than the own resting order's price fill first;
//! the taker meets its own order only when those cannot fill it.

use rust_decimal::Decimal;

use super::execution::ER_STP;
use super::placement::Checked;
use super::types::{OrderStatus, OrderType, Side, TimeInForce};
use super::{AccountId, Venue};

/// The account's own resting orders a taker would meet, and the best of their prices.
pub(crate) struct SelfMatch {
    pub price: Decimal,
    pub makers: Vec<i64>,
    pub expire_taker: bool,
    pub expire_maker: bool,
}

/// Is `p` strictly better than `other` for a taker on `side`?
fn better(side: Side, p: Decimal, other: Decimal) -> bool {
    match side {
        Side::Buy => p < other,
        Side::Sell => p > other,
    }
}

impl Venue {
    /// The taker's book fills up to where it meets its own order, and that meeting.
    pub(crate) fn plan_with_stp(
        &self,
        a: AccountId,
        c: &Checked,
    ) -> (Vec<(Decimal, Decimal)>, Option<SelfMatch>) {
        let plan = self.plan_taker(a, c);
        match self.self_match(a, c, &plan) {
            Some(m) => (Self::truncate_at_self(&m, c.side, plan), Some(m)),
            None => (plan, None),
        }
    }

    /// After the taker pass: EXPIRED_IN_MATCH when it met its own order under
    /// EXPIRE_TAKER/EXPIRE_BOTH, else the usual rest-or-expire.
    pub(crate) fn finish_after_match(
        &mut self,
        id: i64,
        c: &Checked,
        m: Option<&SelfMatch>,
        planned: Decimal,
        now_ms: i64,
    ) {
        match m {
            Some(m) if m.expire_taker => self.expire_taker_in_match(id, c, now_ms),
            _ => self.finish_taker(id, c, planned, now_ms),
        }
    }

    /// The own resting orders taker `c` would reach, given its book `plan` (best first).
    fn self_match(
        &self,
        a: AccountId,
        c: &Checked,
        plan: &[(Decimal, Decimal)],
    ) -> Option<SelfMatch> {
        let (expire_taker, expire_maker) = match c.stp_mode.as_str() {
            "EXPIRE_TAKER" => (true, false),
            "EXPIRE_MAKER" => (false, true),
            "EXPIRE_BOTH" => (true, true),
            _ => return None,
        };
        let spec = &self.symbols[c.spec];
        let mark = self.markets[c.spec].mark;
        let reach = match (c.order_type, c.side) {
            (OrderType::Limit, _) => c.price,
            (OrderType::Market, Side::Buy) => mark * spec.multiplier_up,
            (OrderType::Market, Side::Sell) => mark * spec.multiplier_down,
        };
        let reaches = |p: Decimal| p == reach || better(c.side, p, reach);
        // Filled before meeting a maker at `p`: the book levels strictly better than `p`.
        let before = |p: Decimal| -> Decimal {
            plan.iter()
                .filter(|(lp, _)| better(c.side, *lp, p))
                .map(|(_, q)| *q)
                .sum()
        };
        let makers: Vec<(i64, Decimal)> = self
            .open_order_records()
            .filter(|o| o.account == a && o.symbol == spec.name && o.side != c.side)
            .filter(|o| o.order_type == OrderType::Limit && reaches(o.price))
            .filter(|o| before(o.price) < c.qty)
            .map(|o| (o.order_id, o.price))
            .collect();
        let price =
            makers
                .iter()
                .map(|(_, p)| *p)
                .reduce(|x, y| if better(c.side, x, y) { x } else { y })?;
        Some(SelfMatch {
            price,
            makers: makers.into_iter().map(|(id, _)| id).collect(),
            expire_taker,
            expire_maker,
        })
    }

    /// Expires the resting orders of `m` when its mode says so (before the taker trades).
    pub(crate) fn expire_makers(&mut self, m: &SelfMatch, now_ms: i64) {
        if m.expire_maker {
            for &id in &m.makers {
                self.close_order(id, OrderStatus::ExpiredInMatch, ER_STP, now_ms);
            }
        }
    }

    /// Keeps only the fills a taker gets before it meets its own order, when it expires.
    fn truncate_at_self(
        m: &SelfMatch,
        side: Side,
        plan: Vec<(Decimal, Decimal)>,
    ) -> Vec<(Decimal, Decimal)> {
        if !m.expire_taker {
            return plan;
        }
        plan.into_iter()
            .filter(|(p, _)| better(side, *p, m.price))
            .collect()
    }

    /// The taker met its own order under EXPIRE_TAKER/EXPIRE_BOTH: its remainder ends
    /// EXPIRED_IN_MATCH (`er` 1, or 3 for IOC/FOK).
    fn expire_taker_in_match(&mut self, id: i64, c: &Checked, now_ms: i64) {
        let open = self
            .orders
            .get(&id)
            .is_some_and(|o| o.status.is_open() && !o.remaining().is_zero());
        if !open {
            return;
        }
        let er = match c.time_in_force {
            TimeInForce::Ioc | TimeInForce::Fok if c.order_type == OrderType::Limit => {
                super::execution::ER_IOC_STP
            }
            _ => ER_STP,
        };
        self.close_order(id, OrderStatus::ExpiredInMatch, er, now_ms);
    }
}
