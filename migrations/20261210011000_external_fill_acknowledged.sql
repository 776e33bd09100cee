-- An operator's acknowledgement of an `external_fill` anomaly: a genuine manual trade (or
-- another tool's) that no sluice order will ever explain. Who, why and when, on the
-- anomaly row (`sluice doctor --acknowledge-external-fill`, src/ops/doctor.rs); doctor then
-- lists the fill as acknowledged instead of failing on it. All three or none.
ALTER TABLE ledger_anomalies
    ADD COLUMN acknowledged_at TIMESTAMPTZ,
    ADD COLUMN acknowledged_by TEXT CHECK (acknowledged_by <> ''),
    ADD COLUMN acknowledged_reason TEXT CHECK (acknowledged_reason <> ''),
    ADD CONSTRAINT ledger_anomalies_acknowledged_together CHECK (
        (acknowledged_at IS NULL) = (acknowledged_by IS NULL)
        AND (acknowledged_at IS NULL) = (acknowledged_reason IS NULL));
