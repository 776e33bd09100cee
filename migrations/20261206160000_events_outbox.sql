-- The strategy-facing event stream (`GET /v1/events`): an outbox written in the SAME
-- transaction as the change each row describes, with a sequence number a client resumes
-- from (`?since=<seq>`) across restarts and a standby takeover.
--
-- Sequence order = commit order. A sequence value taken at insert time can become
-- visible out of order (A takes 10, B takes 11 and commits first: a reader that saw 11
-- would never look back for 10). So no row takes its number before its transaction
-- commits: the rows are written by DEFERRED constraint triggers, which run at COMMIT,
-- and `sluice_emit` first takes one transaction-scoped advisory lock. The lock is held
-- from the first event row until the transaction's commit is visible (locks are released
-- after that), so the next writer takes a larger number only after this one is visible:
-- every reader sees a prefix of the sequence (with gaps only where a transaction rolled
-- back after numbering, which it cannot do once its deferred triggers ran without error).
-- The deferred triggers take no row locks, so waiting for this lock closes no circle.
-- Cost: event-writing commits are serialised for their last few statements and the
-- commit record itself (measured in README, "Event stream").
--
-- Writers: triggers on the tables that carry the changes (every writer is covered, no
-- write path changes); facts with no row of their own (key-loss safe mode, reconcile
-- findings) are appended by `SELECT sluice_emit(kind, payload)` in a transaction of
-- their own.

CREATE SEQUENCE events_seq AS BIGINT;

CREATE TABLE events (
    seq      BIGINT PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind     TEXT NOT NULL CHECK (kind IN ('intent', 'order', 'fill', 'position', 'breaker',
                 'halt', 'key_loss', 'reconcile', 'adjustment')),
    payload  JSONB NOT NULL
);

-- Retention: rows up to `floor` were deleted; a reader resuming below it is told so.
CREATE TABLE events_floor (
    only_row  BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    floor     BIGINT NOT NULL DEFAULT 0 CHECK (floor >= 0)
);
INSERT INTO events_floor DEFAULT VALUES;

CREATE FUNCTION sluice_emit(p_kind TEXT, p_payload JSONB) RETURNS void AS $$
BEGIN
    -- 0x736c7563_65767473 ("slucevts"); held until this transaction's commit is visible.
    PERFORM pg_advisory_xact_lock(8317151681610937459);
    INSERT INTO events (seq, kind, payload) VALUES (nextval('events_seq'), p_kind, p_payload);
    PERFORM pg_notify('sluice_events', '');
END;
$$ LANGUAGE plpgsql;

-- Decimals are written as strings (never JSON numbers): `NUMERIC::text`.
CREATE FUNCTION sluice_event_intent() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('intent', jsonb_build_object(
        'intent_id', NEW.id, 'intent_kind', NEW.kind, 'symbol', NEW.symbol,
        'direction', NEW.direction, 'state', NEW.state,
        'previous_state', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
        'position_id', NEW.position_id, 'error', NEW.error,
        'shortfall', NEW.shortfall::text));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER intents_event_insert AFTER INSERT ON intents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_intent();
CREATE CONSTRAINT TRIGGER intents_event_update AFTER UPDATE ON intents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION sluice_event_intent();

CREATE FUNCTION sluice_event_order() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('order', jsonb_build_object(
        'order_id', NEW.id, 'intent_id', NEW.intent_id, 'position_id', NEW.position_id,
        'client_order_id', NEW.client_order_id, 'exchange_order_id', NEW.exchange_order_id,
        'symbol', NEW.symbol, 'side', NEW.side, 'position_side', NEW.position_side,
        'order_type', NEW.order_type, 'reduce_only', NEW.reduce_only,
        'quantity', NEW.quantity::text, 'price', NEW.price::text,
        'status', NEW.status, 'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
        'filled_quantity', NEW.filled_quantity::text, 'avg_price', NEW.avg_price::text,
        'error_code', NEW.last_error_code, 'error', NEW.last_error_msg));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER orders_event_insert AFTER INSERT ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_order();
CREATE CONSTRAINT TRIGGER orders_event_update AFTER UPDATE ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.filled_quantity IS DISTINCT FROM NEW.filled_quantity)
    EXECUTE FUNCTION sluice_event_order();

-- A fill row is inserted, then completed (position, applied quantity) in the same
-- transaction: the event reads the row as it is at commit.
CREATE FUNCTION sluice_event_fill() RETURNS trigger AS $$
DECLARE
    f RECORD;
BEGIN
    SELECT fills.*, orders.intent_id INTO f
      FROM fills LEFT JOIN orders ON orders.id = fills.order_id WHERE fills.id = NEW.id;
    PERFORM sluice_emit('fill', jsonb_build_object(
        'fill_id', f.id, 'order_id', f.order_id, 'intent_id', f.intent_id,
        'position_id', f.position_id, 'symbol', f.symbol, 'trade_id', f.trade_id,
        'client_order_id', f.client_order_id, 'side', f.side, 'position_side', f.position_side,
        'price', f.price::text, 'quantity', f.quantity::text,
        'applied_quantity', f.applied_quantity::text, 'commission', f.commission::text,
        'commission_asset', f.commission_asset, 'realized_pnl', f.realized_pnl::text,
        'maker', f.maker, 'external', f.external, 'source', f.source,
        'traded_at', f.traded_at));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER fills_event_insert AFTER INSERT ON fills
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_fill();

CREATE FUNCTION sluice_event_position() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('position', jsonb_build_object(
        'position_id', NEW.id, 'symbol', NEW.symbol, 'direction', NEW.direction,
        'position_side', NEW.position_side, 'status', NEW.status, 'origin', NEW.origin,
        'quantity', NEW.quantity::text, 'entry_price', NEW.entry_price::text,
        'closed_quantity', NEW.closed_quantity::text, 'exit_price', NEW.exit_price::text,
        'realized_pnl', NEW.realized_pnl::text));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER positions_event_insert AFTER INSERT ON positions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_position();
CREATE CONSTRAINT TRIGGER positions_event_update AFTER UPDATE ON positions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.quantity IS DISTINCT FROM NEW.quantity OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.entry_price IS DISTINCT FROM NEW.entry_price)
    EXECUTE FUNCTION sluice_event_position();

CREATE FUNCTION sluice_event_breaker() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('breaker', jsonb_build_object(
        'scope', NEW.scope, 'from_state', NEW.from_state, 'to_state', NEW.to_state,
        'changed_at', NEW.at, 'window_total', NEW.window_total,
        'server_errors', NEW.server_errors, 'throttled', NEW.throttled,
        'unknown', NEW.unknown));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER breaker_event_insert AFTER INSERT ON breaker_transitions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_breaker();

-- The halt flag (`control_flags`, key `halt`): set, latched by a flatten, resumed.
CREATE FUNCTION sluice_event_halt() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('halt', jsonb_build_object(
        'halted', COALESCE((NEW.value ->> 'halted')::boolean, false),
        'reason', NEW.value ->> 'reason', 'actor', NEW.actor,
        'flatten_intents', COALESCE(NEW.value -> 'flatten_intents', '[]'::jsonb)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER halt_event_insert AFTER INSERT ON control_flags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.key = 'halt')
    EXECUTE FUNCTION sluice_event_halt();
CREATE CONSTRAINT TRIGGER halt_event_update AFTER UPDATE ON control_flags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.key = 'halt' AND OLD.value IS DISTINCT FROM NEW.value)
    EXECUTE FUNCTION sluice_event_halt();

CREATE FUNCTION sluice_event_adjustment() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('adjustment', jsonb_build_object(
        'adjustment_id', NEW.id, 'actor', NEW.actor, 'reason', NEW.reason,
        'table', NEW.table_name, 'row_id', NEW.row_id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER adjustments_event_insert AFTER INSERT ON ledger_adjustments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sluice_event_adjustment();
