-- An order the exchange reports as executed beyond the trades it lists (after a REST
-- resolution applied every userTrade): the ledger follows the trades, and this row is
-- the evidence of the difference (reconcile then shows any position size mismatch).
ALTER TABLE ledger_anomalies DROP CONSTRAINT ledger_anomalies_kind_check;
ALTER TABLE ledger_anomalies ADD CONSTRAINT ledger_anomalies_kind_check CHECK (kind IN (
    'over_close_capped', 'external_fill', 'close_without_open_position',
    'fill_side_mismatch', 'open_against_opposite', 'fills_short_of_executed'));
