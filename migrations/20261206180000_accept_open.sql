-- Accepting an open in one statement, so the opens lock is held for server-side work
-- only, never across a network round trip (src/ledger/accept_open.rs).
--
-- Before this, an open held the transaction-scoped opens lock across five round trips
-- (lock, position, budget, insert, COMMIT), and eight concurrent API clients queued
-- behind each other for it. Run as one statement outside an explicit transaction, the
-- lock is taken, the checks read, the row written and the transaction committed
-- without the client in between.

-- The budget's two sums (src/ledger/budget.rs says what they mean). One definition,
-- read by the budget view and by the accept below.
CREATE FUNCTION sluice_budget_sums(OUT used NUMERIC, OUT reserved NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT
      (SELECT COALESCE(SUM(quantity * entry_price), 0) FROM positions WHERE status = 'open'),
      (SELECT COALESCE(SUM(GREATEST(i.notional_usdt - COALESCE(
                 (SELECT SUM(fl.applied_quantity * fl.price)
                    FROM orders o JOIN fills fl ON fl.order_id = o.id
                   WHERE o.intent_id = i.id), 0), 0)), 0)
         FROM intents i
        WHERE i.kind = 'open' AND i.state IN ('accepted', 'working'))
$$;

-- Store an open as `accepted` when the halt is clear and it passes the one-way rule and
-- the budget, under the opens lock (the lock halting takes too). Returns the stored row,
-- or no row when anything stands in the way (a halt, or a halt flag it cannot read; an
-- open position on the other side of the leg; not enough budget; the idempotency key
-- already used): the caller then takes the full path, which decides again under the
-- same lock and stores a refusal with its reason. So this function only ever accepts;
-- every refusal and its wording stay in one place (src/ledger/intent_checks.rs).
--
-- VOLATILE (the default): each statement below takes a fresh snapshot, so the reads
-- after the lock see every open committed before it was granted.
CREATE FUNCTION sluice_accept_open(
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
    PERFORM pg_advisory_xact_lock(p_lock);
    IF EXISTS (SELECT 1 FROM control_flags
                WHERE key = p_halt_key AND value -> 'halted' IS DISTINCT FROM 'false'::jsonb) THEN
        RETURN;
    END IF;
    SELECT * INTO pos FROM positions
     WHERE venue = p_venue AND symbol = p_symbol AND position_side = p_leg AND status = 'open'
       FOR UPDATE;
    IF FOUND AND pos.direction <> p_direction THEN
        RETURN;
    END IF;
    SELECT * INTO sums FROM sluice_budget_sums();
    IF p_notional > p_allocation - sums.used - sums.reserved THEN
        RETURN;
    END IF;
    INSERT INTO intents (kind, venue, symbol, direction, position_mode, quantity,
                         notional_usdt, position_id, idempotency_key, reason, state, error)
    VALUES ('open', p_venue, p_symbol, p_direction, p_mode, p_quantity,
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
