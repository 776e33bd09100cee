//! New-order validation: turns a `NewOrder` into a `Checked` order or the
//! exact Binance rejection, reading symbol and account state but changing none.
//!
//! Check order (first failure wins): symbol, enums, mandatory/forbidden
//! parameters, goodTillDate, clientOrderId format, position mode, precision,
//! PRICE_FILTER, LOT_SIZE/MARKET_LOT_SIZE, PERCENT_PRICE, MIN_NOTIONAL,
//! MARKET best price (-4131), duplicate clientOrderId, MAX_NUM_ORDERS,
//! reduce-only accounting, leverage cap (-2027), margin (-2019).

use rust_decimal::Decimal;

use super::account::{max_notional, Account};
use super::filters;
use super::order::NewOrder;
use super::reject::Reject;
use super::spec::SymbolSpec;
use super::types::{OrderType, PositionSide, Side, TimeInForce};
use super::{AccountId, Venue};

/// Latest goodTillDate Binance accepts (`-5040`).
const MAX_GOOD_TILL_DATE: i64 = 253_402_300_799_000;

/// An order that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    pub spec: usize,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub qty: Decimal,
    /// 0 for MARKET.
    pub price: Decimal,
    /// Reduce-only as sent (one-way) or implied by a hedge closing leg.
    pub reduce_only: bool,
    /// The `reduceOnly` flag as echoed on the wire.
    pub reduce_only_flag: bool,
    pub client_order_id: Option<String>,
    pub good_till_date: i64,
    /// The `priceMatch` mode that priced it (`NONE`: its own price).
    pub price_match: &'static str,
    pub stp_mode: String,
    /// `newOrderRespType=RESULT`: answer with the state after matching.
    pub resp_type_result: bool,
}

/// Parsed shape of the request before any state is consulted.
struct Shape {
    side: Side,
    order_type: OrderType,
    time_in_force: TimeInForce,
    qty: Decimal,
    price: Decimal,
    good_till_date: i64,
}

fn shape(o: &NewOrder, now_ms: i64) -> Result<Shape, Reject> {
    let side = Side::parse(&o.side)?;
    let order_type = OrderType::parse(&o.order_type)?;
    let qty = o.quantity.ok_or_else(|| Reject::mandatory("quantity"))?;
    let (time_in_force, price) = match order_type {
        OrderType::Limit => {
            let tif = o
                .time_in_force
                .as_deref()
                .ok_or_else(|| Reject::mandatory("timeInForce"))?;
            // A price-matched order is priced from the book later (`price_from_book`).
            let price = match price_match(o)? {
                Some(_) if o.price.is_some() => return Err(Reject::not_required("price")),
                Some(_) => Decimal::ZERO,
                None => o.price.ok_or_else(|| Reject::mandatory("price"))?,
            };
            (TimeInForce::parse(tif)?, price)
        }
        OrderType::Market if o.price.is_some() => return Err(Reject::not_required("price")),
        OrderType::Market if price_match(o)?.is_some() => {
            return Err(Reject::price_match_unsupported())
        }
        // MARKET orders show GTC on the wire; a sent timeInForce is ignored.
        OrderType::Market => (TimeInForce::Gtc, Decimal::ZERO),
    };
    let good_till_date = match time_in_force {
        TimeInForce::Gtd => {
            let gtd = o
                .good_till_date
                .ok_or_else(|| Reject::mandatory("goodTillDate"))?;
            if gtd <= now_ms + 600_000 || gtd >= MAX_GOOD_TILL_DATE {
                return Err(Reject::good_till_date_invalid());
            }
            gtd
        }
        _ => 0,
    };
    Ok(Shape {
        side,
        order_type,
        time_in_force,
        qty,
        price,
        good_till_date,
    })
}

/// `priceMatch` as sent: None for absent or `NONE`; `-5037` for an unknown mode and for
/// `OPPONENT_10` / `OPPONENT_20`, which Binance removed from placement (the stricter
/// reading of "temporarily removed", docs/binance-fapi.md §2.2).
fn price_match(o: &NewOrder) -> Result<Option<(&'static str, bool, usize)>, Reject> {
    let Some(raw) = o.price_match.as_deref() else {
        return Ok(None);
    };
    Ok(Some(match raw {
        "NONE" => return Ok(None),
        "OPPONENT" => ("OPPONENT", true, 1),
        "OPPONENT_5" => ("OPPONENT_5", true, 5),
        "QUEUE" => ("QUEUE", false, 1),
        "QUEUE_5" => ("QUEUE_5", false, 5),
        "QUEUE_10" => ("QUEUE_10", false, 10),
        "QUEUE_20" => ("QUEUE_20", false, 20),
        _ => return Err(Reject::invalid_price_match()),
    }))
}

/// `-1106` / `-4061`: reduceOnly and positionSide against the account's mode.
fn position_side(o: &NewOrder, account: &Account) -> Result<PositionSide, Reject> {
    if account.hedge && o.reduce_only.is_some() {
        return Err(Reject::not_required("reduceonly"));
    }
    let side = match o.position_side.as_deref() {
        Some(s) => PositionSide::parse(s)?,
        None => PositionSide::Both,
    };
    if account.hedge == (side == PositionSide::Both) {
        return Err(Reject::position_side_mismatch());
    }
    Ok(side)
}

/// `a × b` for non-negative amounts, saturating instead of overflowing: a
/// scenario may disable the bounds that normally keep request values small.
fn mul_sat(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b).unwrap_or(Decimal::MAX)
}

/// Hedge closing legs (SELL+LONG, BUY+SHORT) behave as reduce-only; in
/// one-way mode only `reduceOnly=true` does.
fn is_reduce_only(hedge: bool, o: &NewOrder, side: Side, ps: PositionSide) -> bool {
    if hedge {
        matches!(
            (side, ps),
            (Side::Sell, PositionSide::Long) | (Side::Buy, PositionSide::Short)
        )
    } else {
        o.reduce_only == Some(true)
    }
}

/// Filters that need only the spec and the mark.
fn check_filters(
    spec: &SymbolSpec,
    o: &NewOrder,
    s: &Shape,
    mark: Decimal,
    reduce_only: bool,
) -> Result<(), Reject> {
    // A price-matched order's price came from the book: on the grid by construction.
    let price = (s.order_type == OrderType::Limit && o.price_match.is_none())
        .then_some((s.price, o.price_raw.as_deref()));
    filters::check_precision(spec, (s.qty, o.quantity_raw.as_deref()), price)?;
    if s.order_type == OrderType::Limit {
        filters::check_price(spec, s.price)?;
    }
    filters::check_qty(spec, s.order_type, s.qty)?;
    if s.order_type == OrderType::Limit {
        filters::check_percent_price(spec, s.side, s.price, mark)?;
    }
    let ref_price = if s.order_type == OrderType::Limit {
        s.price
    } else {
        mark
    };
    filters::check_min_notional(spec, mul_sat(ref_price, s.qty), reduce_only)
}

impl Venue {
    /// Validates `o` for account `a` against every rule; changes nothing.
    pub(crate) fn check_order(
        &self,
        a: AccountId,
        o: &NewOrder,
        now_ms: i64,
    ) -> Result<Checked, Reject> {
        let account = self.acct(a).ok_or_else(Reject::rejected_key)?;
        let i = self.spec_index(&o.symbol)?;
        let spec = &self.symbols[i];
        if spec.status != "TRADING" {
            return Err(Reject::invalid_symbol_status());
        }
        let mut s = shape(o, now_ms)?;
        let matched = self.price_from_book(i, o, &mut s)?;
        if let Some(cid) = o.client_order_id.as_deref() {
            filters::check_client_order_id(cid)?;
        }
        let ps = position_side(o, account)?;
        let reduce_only = is_reduce_only(account.hedge, o, s.side, ps);
        let mark = self.markets[i].mark;
        check_filters(spec, o, &s, mark, reduce_only)?;
        if s.order_type == OrderType::Market {
            self.check_market_best(i, s.side)?;
        }
        self.check_open_orders(a, spec, o.client_order_id.as_deref())?;
        if reduce_only {
            self.check_reduce_only(a, account, spec, &s, ps)?;
        } else {
            self.check_margin(a, account, spec, &s, ps, mark)?;
        }
        Ok(Checked {
            spec: i,
            side: s.side,
            position_side: ps,
            order_type: s.order_type,
            time_in_force: s.time_in_force,
            qty: s.qty,
            price: s.price,
            reduce_only,
            reduce_only_flag: !account.hedge && reduce_only,
            client_order_id: o.client_order_id.clone(),
            good_till_date: s.good_till_date,
            price_match: matched,
            resp_type_result: o.resp_type_result,
            stp_mode: o
                .self_trade_prevention_mode
                .clone()
                // Not sent: the account-level default, EXPIRE_MAKER as the live New Order
                // page documents (the stricter reading, docs/binance-fapi.md §2.2).
                .unwrap_or_else(|| "EXPIRE_MAKER".to_owned()),
        })
    }

    /// A price-matched LIMIT order's price: the `depth`-th level of the other side of the
    /// book (OPPONENT) or of its own side (QUEUE), as shown now. Returns the mode's name
    /// (`NONE` when the order has its own price); `-5037` when the book has no such level.
    fn price_from_book(
        &self,
        i: usize,
        o: &NewOrder,
        s: &mut Shape,
    ) -> Result<&'static str, Reject> {
        let Some((name, opponent, depth)) = price_match(o)? else {
            return Ok("NONE");
        };
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        // A BUY's opponents are the asks a BUY taker meets; its queue is the bids a SELL
        // taker meets.
        let side = match (opponent, s.side) {
            (true, side) => side,
            (false, Side::Buy) => Side::Sell,
            (false, Side::Sell) => Side::Buy,
        };
        let level = market.level_iter(spec, side).nth(depth - 1);
        s.price = level
            .map(|(p, _)| p)
            .ok_or_else(Reject::invalid_price_match)?;
        Ok(name)
    }

    /// `-4131` when the counterparty's best price is outside PERCENT_PRICE.
    fn check_market_best(&self, i: usize, side: Side) -> Result<(), Reject> {
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        match market.best(spec, side) {
            Some((p, _)) if filters::market_price_acceptable(spec, side, p, market.mark) => Ok(()),
            _ => Err(Reject::market_percent_price()),
        }
    }

    /// `-4116` duplicate clientOrderId among open orders; `-2025` MAX_NUM_ORDERS.
    fn check_open_orders(
        &self,
        a: AccountId,
        spec: &SymbolSpec,
        cid: Option<&str>,
    ) -> Result<(), Reject> {
        let open = || {
            self.open_order_records()
                .filter(move |o| o.account == a && o.status.is_open())
        };
        if let Some(cid) = cid {
            if open().any(|o| o.client_order_id == cid) {
                return Err(Reject::client_order_id_duplicated());
            }
        }
        // NOTE: counted for every new order, MARKET included (conservative).
        if open().filter(|o| o.symbol == spec.name).count() >= spec.max_num_orders as usize {
            return Err(Reject::max_open_orders());
        }
        Ok(())
    }

    /// Resting reduce-only quantity of `a` on `symbol`/`leg` on `side`.
    pub(crate) fn resting_reduce_only(
        &self,
        a: AccountId,
        symbol: &str,
        leg: PositionSide,
        side: Side,
    ) -> Decimal {
        self.open_order_records()
            .filter(|o| o.account == a && o.symbol == symbol && o.status.is_open())
            .filter(|o| o.reduce_only && o.position_side == leg && o.side == side)
            .map(|o| o.remaining())
            .sum()
    }

    /// Reduce-only accounting. Rule chosen (docs/binance-fapi.md §9 is not precise):
    /// - no position on the leg, or the order's side would increase it: `-2022`;
    /// - resting reduce-only orders on the same side plus this one exceed the
    ///   position: `-4118` (the combination implies a reversal that needs margin);
    /// - this order alone exceeds the position: MARKET is accepted and fills only
    ///   what closes the position (remainder EXPIRED); LIMIT gets `-2022`.
    fn check_reduce_only(
        &self,
        a: AccountId,
        account: &Account,
        spec: &SymbolSpec,
        s: &Shape,
        leg: PositionSide,
    ) -> Result<(), Reject> {
        let amount = account.amount(&spec.name, leg);
        let closes = (amount > Decimal::ZERO && s.side == Side::Sell)
            || (amount < Decimal::ZERO && s.side == Side::Buy);
        if !closes {
            return Err(Reject::reduce_only_rejected());
        }
        let resting = self.resting_reduce_only(a, &spec.name, leg, s.side);
        if resting + s.qty <= amount.abs() {
            return Ok(());
        }
        if !resting.is_zero() {
            return Err(Reject::reduce_only_margin_check());
        }
        match s.order_type {
            OrderType::Market => Ok(()),
            OrderType::Limit => Err(Reject::reduce_only_rejected()),
        }
    }

    /// For the part of the order that opens exposure: `-2027` when the
    /// resulting position exceeds the bracket cap at the current leverage,
    /// `-2019` when its initial margin exceeds the available balance.
    fn check_margin(
        &self,
        a: AccountId,
        account: &Account,
        spec: &SymbolSpec,
        s: &Shape,
        leg: PositionSide,
        mark: Decimal,
    ) -> Result<(), Reject> {
        let amount = account.amount(&spec.name, leg);
        let signed = s.qty * s.side.sign();
        let opposes = !amount.is_zero() && amount.is_sign_positive() != signed.is_sign_positive();
        let opening = if opposes {
            (s.qty - amount.abs()).max(Decimal::ZERO)
        } else {
            s.qty
        };
        if opening.is_zero() {
            // A pure close never needs margin, even on an underwater account.
            return Ok(());
        }
        let resulting = (amount + signed).abs();
        let leverage = account.leverage_of(&spec.name);
        if mul_sat(resulting, mark) > max_notional(spec, leverage) {
            return Err(Reject::max_leverage_ratio());
        }
        let ref_price = if s.order_type == OrderType::Limit {
            s.price
        } else {
            mark
        };
        let required = mul_sat(opening, ref_price) / Decimal::from(leverage);
        if required > self.available(a, account) {
            return Err(Reject::margin_insufficient());
        }
        Ok(())
    }
}
