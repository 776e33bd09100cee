//! The rules of seed 002 for one fill, on the plan's orders and positions: what an
//! external fill, a fill on the wrong side, an open fill and a close fill each do to a
//! position, and the anomaly each refusal records.

use rust_decimal::Decimal;
use serde_json::json;

use super::{Anomaly, Application, NeedPosition, Plan};
use crate::domain::{Direction, Fill, IntentKind, Side};
use crate::ledger::fill_outcome::PositionEffect;
use crate::ledger::ids::{FillId, PositionId};
use crate::ledger::model::AnomalyKind;
use crate::ledger::position_math::PositionFigures;
use crate::ledger::trail::AnomalyRefs;

impl Plan {
    pub(super) fn external(&mut self, fill: &Fill, fill_id: FillId) {
        let detail = json!({"trade_id": fill.trade_id,
            "client_order_id": fill.client_order_id.as_ref().map(|c| c.as_str()),
            "exchange_order_id": fill.order_id, "side": fill.side.as_wire(),
            "quantity": fill.quantity.get().to_string(), "price": fill.price.get().to_string()});
        let refs = AnomalyRefs {
            fill: Some(fill_id),
            ..Default::default()
        };
        self.anomaly(AnomalyKind::ExternalFill, detail, refs);
    }

    fn anomaly(&mut self, kind: AnomalyKind, detail: serde_json::Value, refs: AnomalyRefs) {
        tracing::warn!(kind = kind.as_str(), %detail, "ledger anomaly");
        self.anomalies.push(Anomaly { kind, detail, refs });
    }

    fn unchanged(
        &mut self,
        at: Option<PositionId>,
        kind: AnomalyKind,
        detail: serde_json::Value,
        refs: AnomalyRefs,
    ) -> Application {
        self.anomaly(kind, detail, refs);
        Application {
            position_id: at,
            applied: Decimal::ZERO,
            effect: PositionEffect::Unchanged,
            anomaly: Some(kind),
        }
    }

    pub(super) fn on_position(
        &mut self,
        fill: &Fill,
        i: usize,
        fill_id: FillId,
    ) -> Result<Application, NeedPosition> {
        let o = &self.orders[i];
        let refs = AnomalyRefs {
            fill: Some(fill_id),
            order: Some(o.row.id),
            position: o.position_id,
        };
        if fill.side != o.row.side || fill.position_side != o.row.position_side {
            let detail = json!({"fill_side": fill.side.as_wire(), "order_side": o.row.side.as_wire(),
                "fill_position_side": fill.position_side.as_wire(),
                "order_position_side": o.row.position_side.as_wire()});
            let at = o.position_id;
            return Ok(self.unchanged(at, AnomalyKind::FillSideMismatch, detail, refs));
        }
        if o.row.intent_kind == IntentKind::Open {
            self.open(fill, i, refs)
        } else {
            Ok(self.close(fill, i, refs))
        }
    }

    /// A fill a correction from the exchange's position already accounted for
    /// (`reattribute.rs`): the position holds it, so nothing is written to the position.
    /// An open order's fill links the position the marking correction wrote (`m`), only
    /// while it is still the open position of the order's direction on the order's leg
    /// (order and intent), with `applied` = the fill's quantity (what the position holds
    /// of it: the budget counts its value as filled); any other position open on the leg
    /// now (one opened after that correction closed its own) does not hold the fill, so
    /// none is set and `applied` is 0. A close order's fill names the order's position
    /// with `applied` capped, as a close is, at what the position held for closes: its
    /// opened minus closed quantity, with what marked fills re-attributed before changed
    /// (`reattribute::accounted_held`); the excess is an `over_close_capped` anomaly.
    /// A fill on the wrong side still moves nothing and is recorded as such.
    pub(super) fn accounted(
        &mut self,
        fill: &Fill,
        i: usize,
        fill_id: FillId,
        m: super::Marked,
    ) -> Application {
        let o = &self.orders[i];
        let refs = AnomalyRefs {
            fill: Some(fill_id),
            order: Some(o.row.id),
            position: o.position_id,
        };
        if fill.side != o.row.side || fill.position_side != o.row.position_side {
            let detail = json!({"fill_side": fill.side.as_wire(), "order_side": o.row.side.as_wire(),
                "fill_position_side": fill.position_side.as_wire(),
                "order_position_side": o.row.position_side.as_wire()});
            let at = o.position_id;
            return self.unchanged(at, AnomalyKind::FillSideMismatch, detail, refs);
        }
        let q = fill.quantity.get();
        if o.row.intent_kind == IntentKind::Open {
            let direction = if o.row.side == Side::Buy {
                Direction::Long
            } else {
                Direction::Short
            };
            let held = self
                .open_on_leg
                .get(&(o.row.symbol.clone(), o.row.position_side))
                .map(|&k| &self.positions[k])
                .filter(|p| p.open && p.direction == direction && Some(p.id) == m.position)
                .map(|p| p.id);
            let Some(id) = held else {
                return Application {
                    position_id: None,
                    applied: Decimal::ZERO,
                    effect: PositionEffect::Unchanged,
                    anomaly: None,
                };
            };
            self.link(i, id);
            if !m.adoption {
                *self.accounted_held.entry(id).or_default() += q;
            }
            return Application {
                position_id: Some(id),
                applied: q,
                effect: PositionEffect::Unchanged,
                anomaly: None,
            };
        }
        let named = o.position_id;
        let Some(p) = named
            .and_then(|id| self.by_position.get(&id))
            .map(|&k| &self.positions[k])
        else {
            return Application {
                position_id: named,
                applied: Decimal::ZERO,
                effect: PositionEffect::Unchanged,
                anomaly: None,
            };
        };
        let id = p.id;
        let extra = self.accounted_held.get(&id).copied().unwrap_or_default();
        let room =
            (p.figures.opened_quantity - p.figures.closed_quantity + extra).max(Decimal::ZERO);
        let applied = q.min(room);
        *self.accounted_held.entry(id).or_default() -= applied;
        let mut anomaly = None;
        if applied < q {
            let detail = json!({"fill_quantity": q.to_string(),
                "applied": applied.normalize().to_string(),
                "excess": (q - applied).normalize().to_string()});
            self.anomaly(AnomalyKind::OverCloseCapped, detail, refs);
            anomaly = Some(AnomalyKind::OverCloseCapped);
        }
        Application {
            position_id: Some(id),
            applied,
            effect: PositionEffect::Unchanged,
            anomaly,
        }
    }

    /// An open fill grows the open position of its direction on the order's leg (or
    /// asks for one to be created); it never touches the other direction.
    fn open(
        &mut self,
        fill: &Fill,
        i: usize,
        refs: AnomalyRefs,
    ) -> Result<Application, NeedPosition> {
        let r = &self.orders[i].row;
        // record_order guarantees an open order's side is its direction's open side.
        let direction = if r.side == Side::Buy {
            Direction::Long
        } else {
            Direction::Short
        };
        let key = (r.symbol.clone(), r.position_side);
        let Some(&k) = self.open_on_leg.get(&key) else {
            return Err(NeedPosition {
                symbol: key.0,
                leg: key.1,
                direction,
            });
        };
        let p = &mut self.positions[k];
        if p.direction != direction {
            let detail = json!({"open_position": p.id, "open_direction": p.direction.as_str(),
                "fill_direction": direction.as_str()});
            let at = p.id;
            let refs = AnomalyRefs {
                position: Some(at),
                ..refs
            };
            return Ok(self.unchanged(Some(at), AnomalyKind::OpenAgainstOpposite, detail, refs));
        }
        p.figures = normal(p.figures.open(fill.quantity.get(), fill.price.get()));
        p.touched = true;
        let id = p.id;
        self.link(i, id);
        Ok(Application {
            position_id: Some(id),
            applied: fill.quantity.get(),
            effect: PositionEffect::Increased,
            anomaly: None,
        })
    }

    /// A close/reduce/flatten fill reduces only the position its order names, capped
    /// at the open quantity. It never creates or flips a position.
    fn close(&mut self, fill: &Fill, i: usize, refs: AnomalyRefs) -> Application {
        let named = self.orders[i].position_id;
        let k = named
            .and_then(|id| self.by_position.get(&id).copied())
            .filter(|&k| self.positions[k].open);
        let Some(k) = k else {
            let detail = json!({"position_id": named, "quantity": fill.quantity.get().to_string()});
            return self.unchanged(named, AnomalyKind::CloseWithoutOpenPosition, detail, refs);
        };
        let p = &mut self.positions[k];
        let id = p.id;
        if fill.side != p.direction.close_side() {
            let detail = json!({"position_direction": p.direction.as_str(), "fill_side": fill.side.as_wire()});
            return self.unchanged(Some(id), AnomalyKind::FillSideMismatch, detail, refs);
        }
        let effect = p
            .figures
            .close(p.direction, fill.quantity.get(), fill.price.get());
        p.figures = normal(effect.figures);
        p.touched = true;
        let closed = p.figures.quantity.is_zero();
        if closed {
            p.open = false;
            let key = (p.symbol.clone(), p.leg);
            self.open_on_leg.remove(&key);
        }
        let mut anomaly = None;
        if effect.excess > Decimal::ZERO {
            let detail = json!({"fill_quantity": fill.quantity.get().to_string(),
                "applied": effect.applied.normalize().to_string(),
                "excess": effect.excess.normalize().to_string()});
            self.anomaly(AnomalyKind::OverCloseCapped, detail, refs);
            anomaly = Some(AnomalyKind::OverCloseCapped);
        }
        let effect_kind = match (effect.applied.is_zero(), closed) {
            (true, _) => PositionEffect::Unchanged,
            (false, true) => PositionEffect::Closed,
            (false, false) => PositionEffect::Reduced,
        };
        Application {
            position_id: Some(id),
            applied: effect.applied,
            effect: effect_kind,
            anomaly,
        }
    }
}

/// Figures without trailing zeros, whichever way they were computed (in this batch, or
/// read back from Postgres after an earlier one), so a batch and one fill at a time
/// write and report the same text.
pub(super) fn normal(f: PositionFigures) -> PositionFigures {
    PositionFigures {
        quantity: f.quantity.normalize(),
        entry_price: f.entry_price.normalize(),
        opened_quantity: f.opened_quantity.normalize(),
        closed_quantity: f.closed_quantity.normalize(),
        exit_price: f.exit_price.map(|p| p.normalize()),
        realized_pnl: f.realized_pnl.normalize(),
    }
}
