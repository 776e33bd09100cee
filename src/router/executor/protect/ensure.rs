//! Making a position's protection what its latest protected open asked for: the first
//! placement, a new generation when the entry moved (placed before the old one is
//! cancelled), nothing while a fired stop's fills are not in.

use super::{client_algo_id, failure, Protector};
use crate::domain::protection::trigger_price;
use crate::domain::ProtectionKind;
use crate::exchange::AlgoStatus;
use crate::ledger::protective::{NewProtective, ProtectiveRow};
use crate::ledger::{PositionId, PositionRow, PositionStatus};

impl Protector {
    /// Make the position's protection what its latest protected open asked for.
    pub(super) async fn ensure(&self, position: PositionId) -> anyhow::Result<()> {
        let Some((intent, protection)) = self.ledger.position_protection(position).await? else {
            return Ok(());
        };
        let Some(pos) = self.ledger.position(position).await? else {
            return Ok(());
        };
        if pos.status != PositionStatus::Open || pos.quantity.is_zero() {
            return Ok(());
        }
        let rows = self.ledger.protective_orders_of(position).await?;
        let growing = self.ledger.open_working_on(position).await?;
        for kind in [ProtectionKind::StopLoss, ProtectionKind::TakeProfit] {
            if let Some(leg) = protection.leg(kind) {
                self.ensure_kind(&pos, intent, kind, leg, &rows, growing)
                    .await?;
            }
        }
        Ok(())
    }

    async fn ensure_kind(
        &self,
        pos: &PositionRow,
        intent: crate::ledger::IntentId,
        kind: ProtectionKind,
        leg: crate::domain::ProtectionLeg,
        rows: &[ProtectiveRow],
        growing: bool,
    ) -> anyhow::Result<()> {
        let tick = self.ticks.get(&pos.symbol).copied().unwrap_or_default();
        let field = kind.as_str();
        let desired = match trigger_price(
            kind,
            pos.direction,
            &leg.trigger,
            pos.entry_price,
            tick,
            field,
        ) {
            Ok(p) => p.get(),
            Err(e) => {
                tracing::error!(position_id = pos.id.0, kind = field, error = %e.reason, "no valid trigger price: the position is not protected");
                failure("trigger_price", None);
                return Ok(());
            }
        };
        let of_kind: Vec<&ProtectiveRow> = rows.iter().filter(|r| r.kind == kind).collect();
        let live: Vec<&ProtectiveRow> = of_kind.iter().copied().filter(|r| r.is_live()).collect();
        if of_kind
            .iter()
            .any(|r| r.state.is_some_and(AlgoStatus::has_fired) && r.order_id.is_none())
        {
            return Ok(()); // fired and its fills not yet in: never protect twice
        }
        let newest = of_kind.iter().max_by_key(|r| r.generation);
        let current = live.iter().max_by_key(|r| r.generation);
        if let Some(c) = current {
            if c.trigger_price == desired || growing || c.state.is_none() {
                return self.cancel_superseded(c, &live).await;
            }
        } else if newest.is_some_and(|n| n.trigger_price == desired && n.algo_id.is_none()) {
            // Refused at placement for this very price: re-sending cannot fix it.
            return Ok(());
        }
        let generation = newest.map_or(1, |n| n.generation + 1);
        let new = NewProtective {
            position_id: pos.id,
            intent_id: Some(intent),
            venue: self.venue.clone(),
            symbol: pos.symbol.clone(),
            position_side: pos.position_side,
            side: pos.direction.close_side(),
            kind,
            generation,
            trigger_price: desired,
            working_type: leg.working_type,
            client_algo_id: client_algo_id(kind, pos.id, generation),
        };
        let row = self.ledger.plan_protective(&new).await?;
        self.place_if_due(&row).await
    }

    /// Once `current` is live at the venue, cancel the older generations still NEW.
    async fn cancel_superseded(
        &self,
        current: &ProtectiveRow,
        live: &[&ProtectiveRow],
    ) -> anyhow::Result<()> {
        if current.state != Some(AlgoStatus::New) {
            return Ok(());
        }
        let pending = self.cancelled_pending_ids();
        for old in live.iter().filter(|r| r.generation < current.generation) {
            // One already cancelled waits for its (routine) re-read, not a second cancel.
            if old.state == Some(AlgoStatus::New) && !pending.contains(&old.id) {
                self.cancel(old).await;
            }
        }
        Ok(())
    }
}
