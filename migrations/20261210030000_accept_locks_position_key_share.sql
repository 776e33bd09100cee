-- The accepts lock the position they read FOR KEY SHARE, and their shared prologue (the
-- opens lock, the halt, the budget's two reads) is one function both call.
--
-- Before this, `sluice_accept_open` locked the leg's open position FOR UPDATE and
-- `sluice_accept_opens` FOR NO KEY UPDATE, and the fill path locked it FOR UPDATE: an
-- accept waited for every fill transaction of that position in flight (a few round trips
-- to the daemon each), and the fills and the take-ups (whose order inserts check their
-- foreign key to the position with FOR KEY SHARE) waited for the accept. What the accept
-- reads of the position is its direction and that it is open: no writer changes a
-- position's direction (a close never flips it; the other side is a new row), and one
-- that closes it while the accept runs leaves the ledger as a close right after the
-- accept's commit would (an open's fills grow the leg's open position, found by leg, not
-- through the intent's `position_id`). FOR KEY SHARE keeps the row from being deleted
-- or re-keyed, which nothing does; it conflicts with no other writer.
--
-- The writers of positions and orders take FOR NO KEY UPDATE (src/ledger: fill_batch.rs,
-- positions.rs, orders.rs, order_reports.rs, reattribute.rs): it excludes every other
-- writer as FOR UPDATE did, but not the FOR KEY SHARE of a foreign-key check or of an
-- accept.
--
-- The prologue and the bodies are otherwise those of 20261209050000.

-- Under the account's opens lock (held to the end of the transaction): NULL when the halt
-- is set, else the budget left (`p_allocation - used - reserved`). `reserved` is read
-- first and `used` second, each in its own snapshot: a fill committing between them moves
-- value from reserved to used and is counted twice (refusing a little early), never
-- nowhere (over-committing; tests/ledger/budget.rs).
CREATE FUNCTION sluice_accept_room(
    p_account     BIGINT,
    p_lock        BIGINT,
    p_halt_key    TEXT,
    p_allocation  NUMERIC
) RETURNS NUMERIC
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    used      NUMERIC;
    reserved  NUMERIC;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock + p_account);
    IF EXISTS (SELECT 1 FROM control_flags
                WHERE account_id = p_account AND key = p_halt_key
                  AND value -> 'halted' IS DISTINCT FROM 'false'::jsonb) THEN
        RETURN NULL;
    END IF;
    reserved := sluice_reserved_fold(p_account);
    SELECT COALESCE(SUM(quantity * entry_price), 0) INTO used FROM positions
     WHERE status = 'open' AND account_id = p_account;
    RETURN p_allocation - used - reserved;
END;
$$;

CREATE OR REPLACE FUNCTION sluice_accept_open(
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
    room      NUMERIC;
    pos       positions%ROWTYPE;
    stored    intents%ROWTYPE;
BEGIN
    room := sluice_accept_room(p_account, p_lock, p_halt_key, p_allocation);
    IF room IS NULL OR p_notional > room THEN
        RETURN;
    END IF;
    SELECT * INTO pos FROM positions
     WHERE account_id = p_account AND venue = p_venue AND symbol = p_symbol
       AND position_side = p_leg AND status = 'open'
       FOR KEY SHARE;
    IF FOUND AND pos.direction <> p_direction THEN
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

CREATE OR REPLACE FUNCTION sluice_accept_opens(
    p_account     BIGINT,
    p_lock        BIGINT,
    p_halt_key    TEXT,
    p_allocation  NUMERIC,
    p_venue       TEXT[],
    p_symbol      TEXT[],
    p_direction   TEXT[],
    p_leg         TEXT[],
    p_mode        TEXT[],
    p_quantity    NUMERIC[],
    p_notional    NUMERIC[],
    p_key         TEXT[],
    p_reason      TEXT[],
    p_protection  JSONB[]
) RETURNS SETOF intents
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    room      NUMERIC;
BEGIN
    room := sluice_accept_room(p_account, p_lock, p_halt_key, p_allocation);
    IF room IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(p_venue, p_symbol, p_direction, p_leg, p_mode, p_quantity,
                             p_notional, p_key, p_reason, p_protection) WITH ORDINALITY
            AS t(venue, symbol, direction, leg, mode, quantity, notional, key, reason,
                 protection, ord)),
    pos AS (
        SELECT p.id, p.venue, p.symbol, p.position_side, p.direction FROM positions p
         WHERE p.account_id = p_account AND p.status = 'open'
           AND (p.venue, p.symbol, p.position_side) IN (SELECT venue, symbol, leg FROM input)
           FOR KEY SHARE),
    fit AS (
        SELECT t.*, pos.id AS pos_id,
               SUM(t.notional) OVER (ORDER BY t.ord) AS running
          FROM input t
          LEFT JOIN pos ON (pos.venue, pos.symbol, pos.position_side) = (t.venue, t.symbol, t.leg)
         WHERE t.notional > 0 AND (pos.id IS NULL OR pos.direction = t.direction)),
    ok AS (
        SELECT * FROM fit WHERE running <= room),
    ins AS (
        INSERT INTO intents (account_id, kind, venue, symbol, direction, position_mode,
                             quantity, notional_usdt, position_id, idempotency_key, reason,
                             state, error)
        SELECT p_account, 'open', ok.venue, ok.symbol, ok.direction, ok.mode, ok.quantity,
               ok.notional, ok.pos_id, ok.key, ok.reason, 'accepted', NULL
          FROM ok ORDER BY ok.ord
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING *),
    prot AS (
        INSERT INTO intent_protection (intent_id, protection)
        SELECT ins.id, first.protection
          FROM ins
          JOIN (SELECT DISTINCT ON (key) key, protection FROM ok ORDER BY key, ord) first
            ON first.key = ins.idempotency_key
         WHERE first.protection IS NOT NULL)
    SELECT * FROM ins;
END;
$$;
