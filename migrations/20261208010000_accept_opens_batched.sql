-- Concurrent opens accepted together: one statement (one opens lock, one commit) stores
-- every open of a batch that passes all checks at once (src/ledger/accept_batch.rs).
--
-- Before this, each open took the account's opens lock for its own statement and commit
-- (~0.5 ms of work plus the commit and the hand-over of the lock to the next waiter), so
-- 8 concurrent clients queued behind each other: creation p50 8-9 ms on an idle machine.
--
-- The checks are those of `sluice_accept_open` (migrations/20261207000000_reserved_budget_kept.sql),
-- made for the whole batch under one lock:
-- * the halt clear (else nothing is stored);
-- * the one-way rule per open: the leg's open position has the open's direction, or there
--   is none. The position is locked FOR NO KEY UPDATE (the single accept takes FOR UPDATE):
--   it blocks every change of the row (a fill's update, a delete) until the commit just
--   as well, but not the executor's inserts of orders and fills that merely reference it
--   (their foreign-key checks take FOR KEY SHARE, which FOR UPDATE waited for);
-- * the budget: the opens that pass the one-way rule are taken in their order while the
--   running sum of their notionals fits `allocation - used - reserved`; the first that
--   does not fit and every later one are not stored here (the caller decides each of them
--   alone, in the full path, which words a refusal);
-- * the idempotency key: a key already used (or used twice in the batch) stores nothing
--   for that open (ON CONFLICT DO NOTHING); its notional still counted in the running sum,
--   so the check errs only towards storing less.
-- Rows are inserted in the batch's order (ids ascend as the opens arrived). The function
-- only ever accepts; an open it does not return is decided by the full path.

CREATE FUNCTION sluice_accept_opens(
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
    SELECT COALESCE(SUM(quantity * entry_price), 0) INTO used FROM positions
     WHERE status = 'open' AND account_id = p_account;
    reserved := sluice_reserved_fold(p_account);
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
