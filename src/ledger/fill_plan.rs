//! The rules of seed 002 applied to a batch of fills in memory, between the batch's
//! locking reads and its one writing statement (`fill_batch.rs`).
//!
//! The plan holds the locked orders and positions the batch touches and applies each new
//! fill to them in arrival order, exactly as one transaction per fill would: a later fill
//! of the same order or position sees the earlier one's effect (filled quantity, average
//! price, status, figures, a position closed or opened meanwhile). It writes nothing; it
//! gathers what the batch writes at the end (figures, order totals, fill completions,
//! intent links, anomalies).
//!
//! The rules: only a fill of an OPEN intent's order creates or increases a position, on
//! its own leg and direction; any other fill only reduces the position its order names,
//! capped at the open quantity (the excess is an anomaly); a fill no order explains is
//! external and moves nothing; a fill on the wrong side moves nothing.

mod rules;

use rules::normal;

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::fill_outcome::{FillOutcome, PositionEffect};
use super::ids::{FillId, IntentId, OrderId, PositionId};
use super::model::{AnomalyKind, OrderRow, OrderState, PositionRow, PositionStatus};
use super::position_math::PositionFigures;
use super::positions::figures_of;
use super::trail::AnomalyRefs;
use crate::domain::{Direction, Fill, IntentKind, PositionSide, Qty, Symbol};

/// An order as the batch has changed it so far.
pub(crate) struct OrderMem {
    pub row: OrderRow,
    pub filled: Decimal,
    pub(crate) avg: Option<Decimal>,
    pub status: OrderState,
    pub exchange_order_id: Option<i64>,
    pub position_id: Option<PositionId>,
    pub(crate) touched: bool,
}

/// A position as the batch has changed it so far.
pub(crate) struct PosMem {
    pub id: PositionId,
    pub symbol: Symbol,
    pub leg: PositionSide,
    pub direction: Direction,
    pub figures: PositionFigures,
    pub open: bool,
    pub(crate) touched: bool,
}

/// One `ledger_anomalies` row to write.
pub(crate) struct Anomaly {
    pub kind: AnomalyKind,
    pub detail: serde_json::Value,
    pub refs: AnomalyRefs,
}

/// What a fill row is completed with (the position it moved and by how much).
pub(crate) struct FillCompletion {
    pub fill_id: FillId,
    pub position_id: Option<PositionId>,
    pub applied: Decimal,
}

/// An open fill found no open position on its leg: the batch creates one.
pub(crate) struct NeedPosition {
    pub symbol: Symbol,
    pub leg: PositionSide,
    pub direction: Direction,
}

/// What applying one fill to the positions did (before the order is updated).
struct Application {
    position_id: Option<PositionId>,
    applied: Decimal,
    effect: PositionEffect,
    anomaly: Option<AnomalyKind>,
}

#[derive(Default)]
pub(crate) struct Plan {
    pub orders: Vec<OrderMem>,
    pub positions: Vec<PosMem>,
    by_coid: HashMap<String, usize>,
    by_exchange_id: HashMap<(Symbol, i64), usize>,
    by_position: HashMap<PositionId, usize>,
    open_on_leg: HashMap<(Symbol, PositionSide), usize>,
    pub anomalies: Vec<Anomaly>,
    pub(crate) completions: Vec<FillCompletion>,
    /// Intent → the position its open fills built (the last one wins, as one by one).
    pub(crate) intent_links: Vec<(IntentId, PositionId)>,
    /// Fills a correction from the exchange's position already accounted for
    /// (`fills.accounted_by`, `reattribute.rs`): linked to their order, never moving a
    /// position.
    pub(crate) accounted: HashMap<FillId, Marked>,
    /// Per locked position, what fills marked for it and re-attributed already changed
    /// beyond its figures (`reattribute::accounted_held`), and, as the plan goes, what
    /// its own marked fills change: the room a marked close fill may take.
    pub(crate) accounted_held: HashMap<PositionId, Decimal>,
}

/// What the correction that marked a fill wrote (its `ledger_adjustments` row).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Marked {
    /// The position it corrected or adopted; None: not a position's row.
    pub position: Option<PositionId>,
    /// It adopted that position (its adopted quantity holds the fill).
    pub adoption: bool,
}

impl Plan {
    pub(crate) fn new(orders: Vec<OrderRow>) -> Self {
        let mut plan = Plan::default();
        plan.add_orders(orders);
        plan
    }

    /// Add locked order rows; an order already in the plan is kept as the plan has it.
    pub(crate) fn add_orders(&mut self, orders: Vec<OrderRow>) {
        for row in orders {
            if self.by_coid.contains_key(&row.client_order_id) {
                continue; // client order ids are unique
            }
            let i = self.orders.len();
            self.by_coid.insert(row.client_order_id.clone(), i);
            if let Some(x) = row.exchange_order_id {
                self.by_exchange_id.insert((row.symbol.clone(), x), i);
            }
            self.orders.push(OrderMem {
                filled: row.filled_quantity.get(),
                avg: row.avg_price.map(|p| p.get()),
                status: row.status,
                exchange_order_id: row.exchange_order_id,
                position_id: row.position_id,
                touched: false,
                row,
            });
        }
    }

    /// The orders whose exchange id the batch writes for the first time (it was unknown
    /// when they were locked, a fill of the batch named it): (symbol, exchange order id).
    pub(crate) fn learned_exchange_ids(&self) -> Vec<(Symbol, i64)> {
        self.orders
            .iter()
            .filter(|o| o.touched && o.row.exchange_order_id.is_none())
            .filter_map(|o| o.exchange_order_id.map(|x| (o.row.symbol.clone(), x)))
            .collect()
    }

    /// The orders whose exchange id the batch may write for the first time (unknown when
    /// they were locked; a fill matched to them names it): a superset of
    /// [`Self::learned_exchange_ids`] taken before any fill is applied, so the batch can
    /// take their exchange-order locks before its position locks (`reattribute.rs`).
    pub(crate) fn exchange_ids_to_learn(&self) -> Vec<(Symbol, i64)> {
        self.orders
            .iter()
            .filter(|o| o.row.exchange_order_id.is_none())
            .filter_map(|o| o.exchange_order_id.map(|x| (o.row.symbol.clone(), x)))
            .collect()
    }

    /// The order a fill belongs to: by clientOrderId, else by exchange order id, on the
    /// fill's symbol. Learns the exchange id (as the fill's write will), so a later fill
    /// of the batch that carries only that id finds the order too.
    pub(crate) fn match_order(&mut self, fill: &Fill) -> Option<usize> {
        let by_coid = fill
            .client_order_id
            .as_ref()
            .and_then(|c| self.by_coid.get(c.as_str()).copied())
            .filter(|&i| self.orders[i].row.symbol == fill.symbol);
        let i = by_coid.or_else(|| {
            self.by_exchange_id
                .get(&(fill.symbol.clone(), fill.order_id))
                .copied()
        })?;
        let o = &mut self.orders[i];
        if o.exchange_order_id.is_none() {
            o.exchange_order_id = Some(fill.order_id);
            self.by_exchange_id
                .insert((fill.symbol.clone(), fill.order_id), i);
        }
        Some(i)
    }

    pub(crate) fn order_id(&self, i: usize) -> OrderId {
        self.orders[i].row.id
    }

    /// The legs whose open position an open fill may create or grow, and the positions
    /// close fills name: what the batch locks before applying.
    pub(crate) fn to_lock(
        &self,
        orders: &[usize],
    ) -> (Vec<(Symbol, PositionSide)>, Vec<PositionId>) {
        let (mut legs, mut ids) = (Vec::new(), Vec::new());
        for &i in orders {
            let r = &self.orders[i].row;
            if r.intent_kind == IntentKind::Open {
                legs.push((r.symbol.clone(), r.position_side));
            } else if let Some(id) = r.position_id {
                ids.push(id);
            }
        }
        legs.sort_by(|a, b| (a.0.as_str(), a.1.as_wire()).cmp(&(b.0.as_str(), b.1.as_wire())));
        legs.dedup();
        ids.sort();
        ids.dedup();
        (legs, ids)
    }

    /// Add a locked position row (as read, or just created by the batch).
    pub(crate) fn add_position(&mut self, p: &PositionRow) {
        if self.by_position.contains_key(&p.id) {
            return;
        }
        let i = self.positions.len();
        let open = p.status == PositionStatus::Open;
        self.positions.push(PosMem {
            id: p.id,
            symbol: p.symbol.clone(),
            leg: p.position_side,
            direction: p.direction,
            figures: normal(figures_of(p)),
            open,
            touched: false,
        });
        self.by_position.insert(p.id, i);
        if open {
            self.open_on_leg
                .insert((p.symbol.clone(), p.position_side), i);
        }
    }

    /// A position on this leg the batch closed and has not written yet (it must be
    /// written before a new position may be created on the leg).
    pub(crate) fn closed_on_leg(&self, symbol: &Symbol, leg: PositionSide) -> Vec<&PosMem> {
        self.positions
            .iter()
            .filter(|p| !p.open && p.touched && p.symbol == *symbol && p.leg == leg)
            .collect()
    }

    /// Apply one new (not duplicate) fill. `order`: the index [`Self::match_order`]
    /// gave. `Err(NeedPosition)`: the batch must create the leg's position and call
    /// [`Self::apply_born`]; nothing was changed.
    pub(crate) fn apply(
        &mut self,
        fill: &Fill,
        order: Option<usize>,
        fill_id: FillId,
    ) -> Result<FillOutcome, NeedPosition> {
        let Some(i) = order else {
            self.external(fill, fill_id);
            return Ok(FillOutcome::External { fill_id });
        };
        let a = if let Some(&m) = self.accounted.get(&fill_id) {
            self.accounted(fill, i, fill_id, m)
        } else {
            self.on_position(fill, i, fill_id)?
        };
        Ok(self.finish(fill, i, fill_id, a))
    }

    /// Apply an open fill whose position the batch has just created from this fill's
    /// quantity and price (already in `p`'s figures).
    pub(crate) fn apply_born(
        &mut self,
        fill: &Fill,
        order: usize,
        fill_id: FillId,
        p: &PositionRow,
    ) -> FillOutcome {
        self.add_position(p);
        if let Some(&k) = self.by_position.get(&p.id) {
            self.positions[k].touched = true;
        }
        self.link(order, p.id);
        let a = Application {
            position_id: Some(p.id),
            applied: fill.quantity.get(),
            effect: PositionEffect::Opened,
            anomaly: None,
        };
        self.finish(fill, order, fill_id, a)
    }

    /// Name the position on the open order and its intent, so later chunks and the
    /// close that follows know which position they act on.
    fn link(&mut self, i: usize, position: PositionId) {
        let o = &mut self.orders[i];
        o.position_id = Some(position);
        o.touched = true;
        let intent = o.row.intent_id;
        self.intent_links.retain(|(id, _)| *id != intent);
        self.intent_links.push((intent, position));
    }

    /// Add the fill to its order's filled quantity and average price (whatever it did
    /// to the position), and record the fill row's completion.
    fn finish(&mut self, fill: &Fill, i: usize, fill_id: FillId, a: Application) -> FillOutcome {
        let o = &mut self.orders[i];
        let (q, price) = (fill.quantity.get(), fill.price.get());
        let filled = o.filled + q;
        let previous = o.avg.unwrap_or(price);
        o.avg = Some(((previous * o.filled + price * q) / filled).normalize());
        o.filled = filled;
        o.status = if filled >= o.row.quantity.get() {
            OrderState::Filled
        } else if o.status.is_terminal() {
            o.status
        } else {
            OrderState::PartiallyFilled
        };
        o.exchange_order_id = o.exchange_order_id.or(Some(fill.order_id));
        o.touched = true;
        self.completions.push(FillCompletion {
            fill_id,
            position_id: a.position_id,
            applied: a.applied,
        });
        FillOutcome::Applied {
            fill_id,
            order_id: o.row.id,
            position_id: a.position_id,
            // `applied` is at most the fill's quantity and never negative.
            applied: Qty::new("applied_quantity", a.applied).unwrap_or(fill.quantity),
            effect: a.effect,
            anomaly: a.anomaly,
        }
    }
}
