-- A fill stored `external` only because it arrived before its order's exchange id was
-- known is given to its order, in the transaction that stores that exchange id
-- (src/ledger/reattribute.rs). Its `external_fill` anomaly stays (the ledger is
-- evidence), marked resolved: when, and the order it was attributed to.
ALTER TABLE ledger_anomalies
    ADD COLUMN resolved_at TIMESTAMPTZ,
    ADD COLUMN resolved_order_id BIGINT,
    ADD CONSTRAINT ledger_anomalies_resolved_order_fk FOREIGN KEY (resolved_order_id, account_id)
        REFERENCES orders (id, account_id),
    ADD CONSTRAINT ledger_anomalies_resolved_together
        CHECK ((resolved_at IS NULL) = (resolved_order_id IS NULL));

-- Every exchange id stored for the first time looks for the fills stored external for it.
CREATE INDEX fills_external_by_exchange_order ON fills (account_id, venue, symbol, exchange_order_id)
    WHERE external;

-- A fill given to its order is announced again, as it stands at commit (with its order,
-- intent, position and applied quantity; `external` false), like a fill applied on arrival.
-- Not when it was stored by the same transaction (a batch whose later fill named the
-- order): its insert's event already reads it at commit. "The same transaction" is the
-- top-level one (`txid_current()`, whose low 32 bits are the xid a row's `xmin` holds): the
-- re-attribution runs in a savepoint, whose updated row versions carry the savepoint's own
-- xid.
CREATE CONSTRAINT TRIGGER fills_event_attributed AFTER UPDATE ON fills
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.external AND NOT NEW.external
          AND OLD.xmin::text <> (txid_current() % 4294967296)::text)
    EXECUTE FUNCTION sluice_event_fill();
