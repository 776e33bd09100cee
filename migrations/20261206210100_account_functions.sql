-- The ledger's SQL functions per account (docs/accounts.md). Each keeps its signature and
-- means the default account, so the single-account daemon calls them as before; the
-- overload with the account id first serves any account. "Default" is the session's account
-- (`sluice_account()`: the one the session names, else the ledger's default).

-- The budget's two sums for one account (src/ledger/budget.rs says what they mean).
CREATE FUNCTION sluice_budget_sums(p_account BIGINT, OUT used NUMERIC, OUT reserved NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT
      (SELECT COALESCE(SUM(quantity * entry_price), 0) FROM positions
        WHERE status = 'open' AND account_id = p_account),
      (SELECT COALESCE(SUM(GREATEST(i.notional_usdt - COALESCE(
                 (SELECT SUM(fl.applied_quantity * fl.price)
                    FROM orders o JOIN fills fl ON fl.order_id = o.id
                   WHERE o.intent_id = i.id), 0), 0)), 0)
         FROM intents i
        WHERE i.kind = 'open' AND i.state IN ('accepted', 'working') AND i.account_id = p_account)
$$;

CREATE OR REPLACE FUNCTION sluice_budget_sums(OUT used NUMERIC, OUT reserved NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT used, reserved FROM sluice_budget_sums(sluice_account())
$$;

-- Accept an open of `p_account` (the rules of migrations/20261206180000_accept_open.sql,
-- with the halt flag, the leg and the budget of that account only). The account's opens
-- lock is `p_lock + p_account` (the one its halt takes, src/ledger/budget.rs): opens of
-- different accounts never wait for each other.
CREATE FUNCTION sluice_accept_open(
    p_account     BIGINT,
    p_lock        BIGINT,
    p_halt_key    TEXT,
    p_venue       TEXT,
    p_symbol      TEXT,
    p_direction   TEXT,
    p_leg         TEXT,
    p_mode        TEXT,
    p_quantity    NUMERIC,
    p_notional    NUMERIC,
    p_allocation  NUMERIC,
    p_key         TEXT,
    p_reason      TEXT,
    p_protection  JSONB
) RETURNS SETOF intents
LANGUAGE plpgsql AS $$
DECLARE
    pos      positions%ROWTYPE;
    sums     RECORD;
    stored   intents%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock + p_account);
    IF EXISTS (SELECT 1 FROM control_flags
                WHERE account_id = p_account AND key = p_halt_key
                  AND value -> 'halted' IS DISTINCT FROM 'false'::jsonb) THEN
        RETURN;
    END IF;
    SELECT * INTO pos FROM positions
     WHERE account_id = p_account AND venue = p_venue AND symbol = p_symbol
       AND position_side = p_leg AND status = 'open'
       FOR UPDATE;
    IF FOUND AND pos.direction <> p_direction THEN
        RETURN;
    END IF;
    SELECT * INTO sums FROM sluice_budget_sums(p_account);
    IF p_notional > p_allocation - sums.used - sums.reserved THEN
        RETURN;
    END IF;
    INSERT INTO intents (account_id, kind, venue, symbol, direction, position_mode, quantity,
                         notional_usdt, position_id, idempotency_key, reason, state, error)
    VALUES (p_account, 'open', p_venue, p_symbol, p_direction, p_mode, p_quantity,
            p_notional, pos.id, p_key, p_reason, 'accepted', NULL)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING * INTO stored;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_protection IS NOT NULL THEN
        INSERT INTO intent_protection (intent_id, protection) VALUES (stored.id, p_protection);
    END IF;
    RETURN NEXT stored;
END;
$$;

CREATE OR REPLACE FUNCTION sluice_accept_open(
    p_lock BIGINT, p_halt_key TEXT, p_venue TEXT, p_symbol TEXT, p_direction TEXT,
    p_leg TEXT, p_mode TEXT, p_quantity NUMERIC, p_notional NUMERIC, p_allocation NUMERIC,
    p_key TEXT, p_reason TEXT, p_protection JSONB
) RETURNS SETOF intents
LANGUAGE sql AS $$
    SELECT * FROM sluice_accept_open(sluice_account(), p_lock, p_halt_key, p_venue,
        p_symbol, p_direction, p_leg, p_mode, p_quantity, p_notional, p_allocation, p_key,
        p_reason, p_protection)
$$;

-- The event outbox: every row names its account (same numbering rules as
-- migrations/20261206160000_events_outbox.sql: one sequence, taken at commit).
CREATE FUNCTION sluice_emit(p_account BIGINT, p_kind TEXT, p_payload JSONB) RETURNS void AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(8317151681610937459);
    INSERT INTO events (seq, account_id, kind, payload)
    VALUES (nextval('events_seq'), p_account, p_kind, p_payload);
    PERFORM pg_notify('sluice_events', '');
END;
$$ LANGUAGE plpgsql;

-- Facts with no row of their own (key-loss safe mode, reconcile findings): the default
-- account's, as before.
CREATE OR REPLACE FUNCTION sluice_emit(p_kind TEXT, p_payload JSONB) RETURNS void AS $$
BEGIN
    PERFORM sluice_emit(sluice_account(), p_kind, p_payload);
END;
$$ LANGUAGE plpgsql;

-- Each trigger names the row's own account (the bodies are otherwise unchanged).
CREATE OR REPLACE FUNCTION sluice_event_intent() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'intent', jsonb_build_object(
        'intent_id', NEW.id, 'intent_kind', NEW.kind, 'symbol', NEW.symbol,
        'direction', NEW.direction, 'state', NEW.state,
        'previous_state', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
        'position_id', NEW.position_id, 'error', NEW.error,
        'shortfall', NEW.shortfall::text,
        'cancel_requested', NEW.cancel_requested_at IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sluice_event_order() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'order', jsonb_build_object(
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

CREATE OR REPLACE FUNCTION sluice_event_fill() RETURNS trigger AS $$
DECLARE
    f RECORD;
BEGIN
    SELECT fills.*, orders.intent_id INTO f
      FROM fills LEFT JOIN orders ON orders.id = fills.order_id WHERE fills.id = NEW.id;
    PERFORM sluice_emit(f.account_id, 'fill', jsonb_build_object(
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

CREATE OR REPLACE FUNCTION sluice_event_position() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'position', jsonb_build_object(
        'position_id', NEW.id, 'symbol', NEW.symbol, 'direction', NEW.direction,
        'position_side', NEW.position_side, 'status', NEW.status, 'origin', NEW.origin,
        'quantity', NEW.quantity::text, 'entry_price', NEW.entry_price::text,
        'closed_quantity', NEW.closed_quantity::text, 'exit_price', NEW.exit_price::text,
        'realized_pnl', NEW.realized_pnl::text));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sluice_event_breaker() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'breaker', jsonb_build_object(
        'scope', NEW.scope, 'from_state', NEW.from_state, 'to_state', NEW.to_state,
        'changed_at', NEW.at, 'window_total', NEW.window_total,
        'server_errors', NEW.server_errors, 'throttled', NEW.throttled,
        'unknown', NEW.unknown));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sluice_event_halt() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'halt', jsonb_build_object(
        'halted', COALESCE((NEW.value ->> 'halted')::boolean, false),
        'reason', NEW.value ->> 'reason', 'actor', NEW.actor,
        'flatten_intents', COALESCE(NEW.value -> 'flatten_intents', '[]'::jsonb)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sluice_event_adjustment() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit(NEW.account_id, 'adjustment', jsonb_build_object(
        'adjustment_id', NEW.id, 'actor', NEW.actor, 'reason', NEW.reason,
        'table', NEW.table_name, 'row_id', NEW.row_id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
