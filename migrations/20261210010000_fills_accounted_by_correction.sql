-- A fill stored `external` moves no position. When a correction from the exchange's own
-- position (reconcile's resize, close or adoption; the executor's adoption at start) is
-- written while such a fill is stored, the exchange's position already holds that trade,
-- and so does the ledger's after the correction. `accounted_by` names that correction's
-- `ledger_adjustments` row, written in the same transaction; a later re-attribution of the
-- fill to its order (src/ledger/reattribute.rs) then links it to its order, intent and
-- position without moving the position a second time.
ALTER TABLE ledger_adjustments ADD CONSTRAINT ledger_adjustments_id_account UNIQUE (id, account_id);

ALTER TABLE fills
    ADD COLUMN accounted_by BIGINT,
    ADD CONSTRAINT fills_accounted_by_fk FOREIGN KEY (accounted_by, account_id)
        REFERENCES ledger_adjustments (id, account_id);

-- The correction finds the leg's unmarked external fills; re-attribution reads the column
-- from rows it already found by `fills_external_by_exchange_order`.
CREATE INDEX fills_external_by_leg ON fills (account_id, venue, symbol, position_side)
    WHERE external AND accounted_by IS NULL;
