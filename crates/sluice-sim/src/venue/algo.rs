//! The Algo Service (docs/binance-fapi.md §2.2, §5.6): conditional orders that live
//! outside the matching engine until their trigger price is crossed. Placement,
//! cancellation, lookup and the open list; triggering is in `algo_trigger`.
//!
//! Modelled: `STOP_MARKET` and `TAKE_PROFIT_MARKET` (`algoType=CONDITIONAL`), with
//! `closePosition=true` or a quantity (optionally `reduceOnly`), `workingType`
//! MARK_PRICE or CONTRACT_PRICE. `STOP`, `TAKE_PROFIT` and `TRAILING_STOP_MARKET` are
//! refused with `-1116` (a simulator limit, not Binance's behaviour).
//!
//! Invariants: algo ids increase; at most [`MAX_OPEN_ALGO`] algo orders per account are
//! open (NEW, TRIGGERING or TRIGGERED) across all symbols (`-4045` beyond); a
//! `clientAlgoId` is unique among the account's open algo orders (`-4116`).

use rust_decimal::Decimal;

use super::filters;
use super::reject::Reject;
use super::types::{PositionSide, Side};
use super::{AccountId, Venue};

/// The cap on open conditional orders across all symbols since 2025-12-29.
pub(crate) const MAX_OPEN_ALGO: usize = 200;

/// Characters of an auto-generated clientAlgoId.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `POST /fapi/v1/algoOrder` as the server parsed it; enum-like fields stay strings so
/// the venue answers a bad value with Binance's code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NewAlgo {
    pub algo_type: String,
    pub symbol: String,
    pub side: String,
    pub position_side: Option<String>,
    pub order_type: String,
    pub quantity: Option<Decimal>,
    pub quantity_raw: Option<String>,
    pub trigger_price: Option<Decimal>,
    pub trigger_price_raw: Option<String>,
    pub working_type: Option<String>,
    pub close_position: Option<bool>,
    pub reduce_only: Option<bool>,
    pub price_protect: Option<bool>,
    pub client_algo_id: Option<String>,
}

/// The two conditional types the simulator executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlgoKind {
    StopMarket,
    TakeProfitMarket,
}

impl AlgoKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlgoKind::StopMarket => "STOP_MARKET",
            AlgoKind::TakeProfitMarket => "TAKE_PROFIT_MARKET",
        }
    }

    /// Has `price` reached `trigger` for an order on `side`? (docs/binance-fapi.md §2.2:
    /// a BUY stop fires at or above, a SELL stop at or below; take-profits the reverse.)
    pub(crate) fn reached(self, side: Side, price: Decimal, trigger: Decimal) -> bool {
        match (self, side) {
            (AlgoKind::StopMarket, Side::Buy) | (AlgoKind::TakeProfitMarket, Side::Sell) => {
                price >= trigger
            }
            (AlgoKind::StopMarket, Side::Sell) | (AlgoKind::TakeProfitMarket, Side::Buy) => {
                price <= trigger
            }
        }
    }
}

/// `algoStatus` / ALGO_UPDATE `X`. Binance also has EXPIRED (system cancellation),
/// which the simulator never produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlgoStatus {
    New,
    Canceled,
    Triggering,
    Triggered,
    Finished,
    Rejected,
}

impl AlgoStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlgoStatus::New => "NEW",
            AlgoStatus::Canceled => "CANCELED",
            AlgoStatus::Triggering => "TRIGGERING",
            AlgoStatus::Triggered => "TRIGGERED",
            AlgoStatus::Finished => "FINISHED",
            AlgoStatus::Rejected => "REJECTED",
        }
    }

    /// Still in the Algo Service (counts against the cap, listed by openAlgoOrders).
    pub(crate) fn is_open(self) -> bool {
        matches!(
            self,
            AlgoStatus::New | AlgoStatus::Triggering | AlgoStatus::Triggered
        )
    }
}

/// The venue's record of one algo order; also what the renderers read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AlgoOrder {
    pub account: AccountId,
    pub algo_id: i64,
    pub client_algo_id: String,
    pub symbol: String,
    pub side: Side,
    pub position_side: PositionSide,
    pub kind: AlgoKind,
    /// Zero with `closePosition=true`.
    pub quantity: Decimal,
    pub trigger_price: Decimal,
    /// `MARK_PRICE` or `CONTRACT_PRICE`.
    pub working_type: &'static str,
    pub close_position: bool,
    pub reduce_only: bool,
    pub price_protect: bool,
    pub status: AlgoStatus,
    /// The MARKET order the trigger produced (`ai` / `actualOrderId`).
    pub actual_order_id: Option<i64>,
    pub actual_qty: Decimal,
    pub actual_price: Decimal,
    /// Why the trigger failed (`rm`), empty otherwise.
    pub reject_reason: String,
    pub create_time: i64,
    pub update_time: i64,
    pub trigger_time: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

fn flag_true(v: Option<bool>) -> bool {
    v == Some(true)
}

fn parse_kind(order_type: &str) -> Result<AlgoKind, Reject> {
    match order_type {
        "STOP_MARKET" => Ok(AlgoKind::StopMarket),
        "TAKE_PROFIT_MARKET" => Ok(AlgoKind::TakeProfitMarket),
        _ => Err(Reject::invalid_order_type()),
    }
}

fn working_type(raw: Option<&str>) -> Result<&'static str, Reject> {
    match raw {
        None | Some("CONTRACT_PRICE") => Ok("CONTRACT_PRICE"),
        Some("MARK_PRICE") => Ok("MARK_PRICE"),
        Some(_) => Err(Reject::bad(-4031, "Invalid parameter working type")),
    }
}

/// `-1106` reduceOnly in hedge mode, `-4061` a positionSide that does not fit the mode,
/// or `closePosition` on a hedge opening leg (docs/binance-fapi.md §9).
fn algo_position_side(
    n: &NewAlgo,
    hedge: bool,
    side: Side,
    close_position: bool,
) -> Result<PositionSide, Reject> {
    if hedge && n.reduce_only.is_some() {
        return Err(Reject::not_required("reduceonly"));
    }
    let ps = match n.position_side.as_deref() {
        Some(s) => PositionSide::parse(s)?,
        None => PositionSide::Both,
    };
    if hedge == (ps == PositionSide::Both) {
        return Err(Reject::position_side_mismatch());
    }
    let opening_leg = matches!(
        (side, ps),
        (Side::Buy, PositionSide::Long) | (Side::Sell, PositionSide::Short)
    );
    if close_position && opening_leg {
        return Err(Reject::position_side_mismatch());
    }
    Ok(ps)
}

impl Venue {
    /// `POST /fapi/v1/algoOrder`: validates in Binance's order and records a NEW algo
    /// order (ALGO_UPDATE NEW queued), or returns the rejection and changes nothing.
    pub(crate) fn place_algo(
        &mut self,
        a: AccountId,
        n: NewAlgo,
        now_ms: i64,
    ) -> Result<AlgoOrder, Reject> {
        self.now_ms = self.now_ms.max(now_ms);
        let mut order = self.check_algo(a, &n, now_ms)?;
        order.client_algo_id = match n.client_algo_id {
            Some(id) => id,
            None => (0..22)
                .map(|_| ID_CHARS[rand::Rng::gen_range(&mut self.rng, 0..ID_CHARS.len())] as char)
                .collect(),
        };
        order.algo_id = self.next_algo_id;
        self.next_algo_id += 1;
        self.algos.insert(order.algo_id, order.clone());
        self.push_algo_event(order.algo_id, now_ms);
        Ok(order)
    }

    /// Every rule of the Algo Service; the returned record has no ids yet.
    fn check_algo(&self, a: AccountId, n: &NewAlgo, now_ms: i64) -> Result<AlgoOrder, Reject> {
        let account = self.acct(a).ok_or_else(Reject::rejected_key)?;
        if n.algo_type != "CONDITIONAL" {
            return Err(Reject::bad(
                -1130,
                "Data sent for parameter 'algoType' is not valid.",
            ));
        }
        let i = self.spec_index(&n.symbol)?;
        let spec = &self.symbols[i];
        if spec.status != "TRADING" {
            return Err(Reject::invalid_symbol_status());
        }
        let side = Side::parse(&n.side)?;
        let kind = parse_kind(&n.order_type)?;
        let trigger = n
            .trigger_price
            .ok_or_else(|| Reject::mandatory("triggerPrice"))?;
        let wt = working_type(n.working_type.as_deref())?;
        let close_position = flag_true(n.close_position);
        let quantity = self.algo_quantity(n, close_position)?;
        let ps = algo_position_side(n, account.hedge, side, close_position)?;
        if let Some(cid) = n.client_algo_id.as_deref() {
            filters::check_client_order_id(cid)?;
        }
        let qty_raw = n.quantity_raw.as_deref();
        filters::check_precision(
            spec,
            (quantity, qty_raw),
            Some((trigger, n.trigger_price_raw.as_deref())),
        )?;
        filters::check_price(spec, trigger)?;
        if !close_position {
            filters::check_qty(spec, super::types::OrderType::Market, quantity)?;
        }
        if kind.reached(side, self.trigger_reference(i, wt), trigger) {
            return Err(Reject::bad(-2021, "Order would immediately trigger."));
        }
        self.check_algo_slots(a, n.client_algo_id.as_deref())?;
        Ok(AlgoOrder {
            account: a,
            algo_id: 0,
            client_algo_id: String::new(),
            symbol: spec.name.clone(),
            side,
            position_side: ps,
            kind,
            quantity,
            trigger_price: trigger,
            working_type: wt,
            close_position,
            reduce_only: flag_true(n.reduce_only),
            price_protect: flag_true(n.price_protect),
            status: AlgoStatus::New,
            actual_order_id: None,
            actual_qty: Decimal::ZERO,
            actual_price: Decimal::ZERO,
            reject_reason: String::new(),
            create_time: now_ms,
            update_time: now_ms,
            trigger_time: 0,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        })
    }

    /// `closePosition=true` forbids `quantity` (`-4137`) and `reduceOnly` (`-1106`);
    /// otherwise a positive quantity is mandatory.
    fn algo_quantity(&self, n: &NewAlgo, close_position: bool) -> Result<Decimal, Reject> {
        if close_position {
            if n.quantity.is_some_and(|q| !q.is_zero()) {
                return Err(Reject::bad(
                    -4137,
                    "Quantity must be zero with closePosition equals true",
                ));
            }
            if n.reduce_only.is_some() {
                return Err(Reject::not_required("reduceOnly"));
            }
            return Ok(Decimal::ZERO);
        }
        n.quantity.ok_or_else(|| Reject::mandatory("quantity"))
    }

    /// `-4116` for a clientAlgoId already open, `-4045` at the 200-order cap.
    fn check_algo_slots(&self, a: AccountId, cid: Option<&str>) -> Result<(), Reject> {
        let open: Vec<&AlgoOrder> = self
            .algos
            .values()
            .filter(|o| o.account == a && o.status.is_open())
            .collect();
        if cid.is_some_and(|c| open.iter().any(|o| o.client_algo_id == c)) {
            return Err(Reject::client_order_id_duplicated());
        }
        if open.len() >= MAX_OPEN_ALGO {
            return Err(Reject::bad(-4045, "Reach max stop order limit."));
        }
        Ok(())
    }

    /// The price a trigger compares against: the mark for MARK_PRICE; for CONTRACT_PRICE
    /// the last price, which in the simulator is the mid of its synthetic book (centred
    /// on the mark), falling back to the mark when a side is empty.
    pub(crate) fn trigger_reference(&self, i: usize, working_type: &str) -> Decimal {
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        if working_type == "MARK_PRICE" {
            return market.mark;
        }
        match (market.best(spec, Side::Sell), market.best(spec, Side::Buy)) {
            (Some((bid, _)), Some((ask, _))) => (bid + ask) / Decimal::TWO,
            _ => market.mark,
        }
    }

    /// Finds an algo order of `a` by id or client id (id wins; newest first by client id).
    pub(crate) fn find_algo(
        &self,
        a: AccountId,
        algo_id: Option<i64>,
        client_algo_id: Option<&str>,
    ) -> Option<&AlgoOrder> {
        match (algo_id, client_algo_id) {
            (Some(id), _) => self.algos.get(&id).filter(|o| o.account == a),
            (None, Some(cid)) => self
                .algos
                .values()
                .rev()
                .find(|o| o.account == a && o.client_algo_id == cid),
            (None, None) => None,
        }
    }

    /// `GET /fapi/v1/algoOrder`: `-1102` neither id, `-2013` unknown.
    pub(crate) fn algo(
        &self,
        a: AccountId,
        algo_id: Option<i64>,
        client_algo_id: Option<&str>,
    ) -> Result<AlgoOrder, Reject> {
        if algo_id.is_none() && client_algo_id.is_none() {
            return Err(Reject::mandatory("algoId"));
        }
        self.find_algo(a, algo_id, client_algo_id)
            .cloned()
            .ok_or_else(Reject::no_such_order)
    }

    /// `GET /fapi/v1/openAlgoOrders`, oldest first.
    pub(crate) fn open_algos(&self, a: AccountId, symbol: Option<&str>) -> Vec<AlgoOrder> {
        self.algos
            .values()
            .filter(|o| o.account == a && o.status.is_open())
            .filter(|o| symbol.is_none_or(|s| o.symbol == s))
            .cloned()
            .collect()
    }

    /// `DELETE /fapi/v1/algoOrder`: only a NEW (untriggered) order can be cancelled;
    /// anything else, or an unknown id, is `-2011`.
    pub(crate) fn cancel_algo(
        &mut self,
        a: AccountId,
        algo_id: Option<i64>,
        client_algo_id: Option<&str>,
        now_ms: i64,
    ) -> Result<AlgoOrder, Reject> {
        if algo_id.is_none() && client_algo_id.is_none() {
            return Err(Reject::mandatory("algoId"));
        }
        let id = self
            .find_algo(a, algo_id, client_algo_id)
            .filter(|o| o.status == AlgoStatus::New)
            .map(|o| o.algo_id)
            .ok_or_else(Reject::unknown_order)?;
        self.set_algo_status(id, AlgoStatus::Canceled, now_ms);
        self.algos
            .get(&id)
            .cloned()
            .ok_or_else(Reject::unknown_order)
    }

    /// `DELETE /fapi/v1/algoOpenOrders`: cancels every NEW algo order of `a` on `symbol`.
    pub(crate) fn cancel_all_algos(
        &mut self,
        a: AccountId,
        symbol: &str,
        now_ms: i64,
    ) -> Result<usize, Reject> {
        self.spec_index(symbol)?;
        let ids: Vec<i64> = self
            .algos
            .values()
            .filter(|o| o.account == a && o.symbol == symbol && o.status == AlgoStatus::New)
            .map(|o| o.algo_id)
            .collect();
        for &id in &ids {
            self.set_algo_status(id, AlgoStatus::Canceled, now_ms);
        }
        Ok(ids.len())
    }

    /// Moves algo order `id` to `status` and queues its ALGO_UPDATE.
    pub(crate) fn set_algo_status(&mut self, id: i64, status: AlgoStatus, now_ms: i64) {
        if let Some(o) = self.algos.get_mut(&id) {
            o.status = status;
            o.update_time = now_ms;
        }
        self.push_algo_event(id, now_ms);
    }
}
