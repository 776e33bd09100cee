-- The accepts read the budget's two sums in two snapshots: `used` (the open positions) in
-- one statement, then `reserved` through `sluice_reserved_fold` (its own statements). A fill
-- of an open that committed between the two was in neither: its value had left `reserved`
-- but not yet reached `used`, and the accept saw that much more available than there was
-- (tests/ledger/budget.rs `concurrent_opens_while_fills_and_ends…` over-committed by 20 of
-- 200 in one run of three). Both functions now read `reserved` first: a fill between the two
-- reads is then counted in both, which can only refuse an open early, never over-commit.
-- The bodies are otherwise those of 20261207000000 and 20261208010000.

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
    pos       positions%ROWTYPE;
    used      NUMERIC;
    reserved  NUMERIC;
    stored    intents%ROWTYPE;
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
    -- Reserved first, used second: each is its own snapshot, and a fill committing
    -- between them moves value from reserved to used, so this order counts it twice
    -- (refusing a little early) where the other counted it nowhere (over-committing).
    reserved := sluice_reserved_fold(p_account);
    SELECT COALESCE(SUM(quantity * entry_price), 0) INTO used FROM positions
     WHERE status = 'open' AND account_id = p_account;
    IF p_notional > p_allocation - used - reserved THEN
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
    used      NUMERIC;
    reserved  NUMERIC;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock + p_account);
    IF EXISTS (SELECT 1 FROM control_flags
                WHERE account_id = p_account AND key = p_halt_key
                  AND value -> 'halted' IS DISTINCT FROM 'false'::jsonb) THEN
        RETURN;
    END IF;
    -- Reserved first, used second: each is its own snapshot, and a fill committing
    -- between them moves value from reserved to used, so this order counts it twice
    -- (refusing a little early) where the other counted it nowhere (over-committing).
    reserved := sluice_reserved_fold(p_account);
    SELECT COALESCE(SUM(quantity * entry_price), 0) INTO used FROM positions
     WHERE status = 'open' AND account_id = p_account;
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
           FOR NO KEY UPDATE),
    fit AS (
        SELECT t.*, pos.id AS pos_id,
               SUM(t.notional) OVER (ORDER BY t.ord) AS running
          FROM input t
          LEFT JOIN pos ON (pos.venue, pos.symbol, pos.position_side) = (t.venue, t.symbol, t.leg)
         WHERE t.notional > 0 AND (pos.id IS NULL OR pos.direction = t.direction)),
    ok AS (
        SELECT * FROM fit WHERE running <= p_allocation - used - reserved),
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
