-- Re-attribution (20261209020000) finds a fill's `external_fill` anomaly by `fill_id` and
-- references the order it was given to by `resolved_order_id`: both indexed, so neither the
-- re-attribution nor a delete or key update of an order scans the whole anomaly table as it
-- grows.
CREATE INDEX ledger_anomalies_by_fill ON ledger_anomalies (fill_id) WHERE fill_id IS NOT NULL;
CREATE INDEX ledger_anomalies_by_resolved_order ON ledger_anomalies (resolved_order_id)
    WHERE resolved_order_id IS NOT NULL;
