-- The budget's reserved sum, kept as it changes instead of re-summed on every accept
-- (src/ledger/budget.rs: what it means, the lock order, the consistency check).
--
-- Before this, every open accept summed, under the account's opens lock, the notional
-- left over every live open (each with a correlated sum of its fills): ~1-2 ms with a few
-- hundred live opens, and accepts queued behind it. Now:
--
-- * `budget_reservations`: one row per live open (kind `open`, state `accepted` or
--   `working`, with a notional): its notional and the value of what filled so far
--   (Σ applied_quantity × price over its orders' fills). Its term of the reserved sum
--   is GREATEST(notional − filled_value, 0), exactly the term the re-sum computes.
-- * `budget_reserved`: per account, a folded total of the terms.
-- * `budget_reserved_changes`: per account, the changes not folded yet, one row per
--   statement that moved a term. Kept reserved = folded total + Σ changes.
--
-- Triggers move the terms in the same statement as the change (every writer is covered,
-- no write path changes): an intent entering the live set (+ its term), leaving it (done,
-- failed, cancelled, any end state, or deleted: − its term), a fill of a live open's order
-- written, completed or removed (− or + the change of its floored term). A fill after its
-- intent ended finds no row and moves nothing. The changes are only ever INSERTed, so a
-- fill or an intent's end never waits for an accept or for another account's total; only
-- the accept (under the opens lock) folds them into the total.

CREATE TABLE budget_reservations (
    intent_id     BIGINT PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    notional      NUMERIC NOT NULL CHECK (notional > 0),
    filled_value  NUMERIC NOT NULL DEFAULT 0
);

CREATE TABLE budget_reserved (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts (id),
    reserved    NUMERIC NOT NULL
);

CREATE TABLE budget_reserved_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    delta       NUMERIC NOT NULL
);
CREATE INDEX budget_reserved_changes_by_account ON budget_reserved_changes (account_id);

-- The value filled so far of intent `p_intent`'s orders.
CREATE FUNCTION sluice_intent_filled_value(p_intent BIGINT) RETURNS NUMERIC
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(fl.applied_quantity * fl.price), 0)
      FROM orders o JOIN fills fl ON fl.order_id = o.id
     WHERE o.intent_id = p_intent
$$;

-- The reserved sum re-computed from the intents and fills: the definition the kept total
-- must equal (doctor and the tests compare them).
CREATE FUNCTION sluice_reserved_summed(p_account BIGINT) RETURNS NUMERIC
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(GREATEST(i.notional_usdt - sluice_intent_filled_value(i.id), 0)), 0)
      FROM intents i
     WHERE i.kind = 'open' AND i.state IN ('accepted', 'working') AND i.account_id = p_account
$$;

-- The kept reserved sum of `p_account` (read only: the folded total and what is not
-- folded yet, as this snapshot sees them). Trailing zeros trimmed: a sum that cancels
-- out is `0.00`, which a client's decimal type may refuse to decode.
CREATE FUNCTION sluice_reserved_kept(p_account BIGINT) RETURNS NUMERIC
LANGUAGE sql STABLE AS $$
    SELECT trim_scale(
          COALESCE((SELECT reserved FROM budget_reserved WHERE account_id = p_account), 0)
        + COALESCE((SELECT SUM(delta) FROM budget_reserved_changes
                     WHERE account_id = p_account), 0))
$$;

-- Fold `p_account`'s changes into its total and return the total. Called by the accept
-- under the account's opens lock (folds of one account never run at once; were they to,
-- each change is still moved once: a DELETE returns only the rows it removed).
CREATE FUNCTION sluice_reserved_fold(p_account BIGINT) RETURNS NUMERIC
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    moved  BIGINT;
    change NUMERIC;
    total  NUMERIC;
BEGIN
    WITH gone AS (DELETE FROM budget_reserved_changes WHERE account_id = p_account
                  RETURNING delta)
    SELECT count(*), COALESCE(SUM(delta), 0) INTO moved, change FROM gone;
    IF moved = 0 THEN
        SELECT reserved INTO total FROM budget_reserved WHERE account_id = p_account;
        RETURN COALESCE(total, 0);
    END IF;
    INSERT INTO budget_reserved AS b (account_id, reserved) VALUES (p_account, change)
    ON CONFLICT (account_id) DO UPDATE SET reserved = b.reserved + EXCLUDED.reserved
    RETURNING reserved INTO total;
    RETURN total;
END;
$$;

-- Intents `p_ids` entered the live set: one row each (with what already filled), their
-- terms added to their accounts' changes. (The functions on the accept's and the fills'
-- paths are PL/pgSQL, whose plans are kept per connection: a SQL function is planned
-- again on every call. They force the generic plan: with an array parameter the custom
-- plan looks cheaper and would be planned anew on every call, ~0.2 ms of each accept.)
CREATE FUNCTION sluice_reserve_enter(p_ids BIGINT[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    WITH born AS (
        INSERT INTO budget_reservations (intent_id, account_id, notional, filled_value)
        SELECT i.id, i.account_id, i.notional_usdt,
               COALESCE((SELECT SUM(fl.applied_quantity * fl.price)
                           FROM orders o JOIN fills fl ON fl.order_id = o.id
                          WHERE o.intent_id = i.id), 0)
          FROM intents i WHERE i.id = ANY(p_ids)
        RETURNING account_id, GREATEST(notional - filled_value, 0) AS term)
    INSERT INTO budget_reserved_changes (account_id, delta)
    SELECT account_id, SUM(term) FROM born GROUP BY account_id HAVING SUM(term) <> 0;
END;
$$;

-- Intents `p_ids` left the live set: their rows removed (locked first, in id order, so a
-- fill of the same intent finishes before and is counted, or comes after and finds
-- nothing), their terms taken from their accounts' changes.
CREATE FUNCTION sluice_reserve_leave(p_ids BIGINT[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM 1 FROM budget_reservations WHERE intent_id = ANY(p_ids)
      ORDER BY intent_id FOR UPDATE;
    WITH gone AS (
        DELETE FROM budget_reservations WHERE intent_id = ANY(p_ids)
        RETURNING account_id, GREATEST(notional - filled_value, 0) AS term)
    INSERT INTO budget_reserved_changes (account_id, delta)
    SELECT account_id, -SUM(term) FROM gone GROUP BY account_id HAVING SUM(term) <> 0;
END;
$$;

-- The fills of intents `p_ids` changed in value by `p_values` (same order): each live
-- one's row moves (locked in id order), and its account's changes get the change of the
-- floored term.
CREATE FUNCTION sluice_reserve_fill(p_ids BIGINT[], p_values NUMERIC[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM 1 FROM budget_reservations WHERE intent_id = ANY(p_ids)
      ORDER BY intent_id FOR UPDATE;
    WITH d AS (SELECT * FROM unnest(p_ids, p_values) AS d(intent_id, value)),
    moved AS (
        UPDATE budget_reservations r SET filled_value = r.filled_value + d.value
          FROM d WHERE r.intent_id = d.intent_id
        RETURNING r.account_id,
                  GREATEST(r.notional - r.filled_value, 0)
                - GREATEST(r.notional - (r.filled_value - d.value), 0) AS change)
    INSERT INTO budget_reserved_changes (account_id, delta)
    SELECT account_id, SUM(change) FROM moved GROUP BY account_id HAVING SUM(change) <> 0;
END;
$$;

-- Whether an intent row holds a term of the reserved sum.
CREATE FUNCTION sluice_reserves(p_kind TEXT, p_state TEXT, p_notional NUMERIC) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_kind = 'open' AND p_state IN ('accepted', 'working') AND p_notional IS NOT NULL
$$;

CREATE FUNCTION sluice_reserve_on_intents() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    leaving  BIGINT[];
    entering BIGINT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(id ORDER BY id) INTO entering FROM new_rows
         WHERE sluice_reserves(kind, state, notional_usdt);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(id ORDER BY id) INTO leaving FROM old_rows
         WHERE sluice_reserves(kind, state, notional_usdt);
    ELSE
        -- A live row whose term's inputs change leaves and enters again.
        SELECT array_agg(o.id ORDER BY o.id) FILTER (
                   WHERE sluice_reserves(o.kind, o.state, o.notional_usdt)),
               array_agg(o.id ORDER BY o.id) FILTER (
                   WHERE sluice_reserves(n.kind, n.state, n.notional_usdt))
          INTO leaving, entering
          FROM old_rows o JOIN new_rows n ON n.id = o.id
         WHERE sluice_reserves(o.kind, o.state, o.notional_usdt)
                   IS DISTINCT FROM sluice_reserves(n.kind, n.state, n.notional_usdt)
            OR (sluice_reserves(o.kind, o.state, o.notional_usdt)
                AND (o.notional_usdt, o.account_id) IS DISTINCT FROM (n.notional_usdt, n.account_id));
    END IF;
    IF leaving IS NOT NULL THEN
        PERFORM sluice_reserve_leave(leaving);
    END IF;
    IF entering IS NOT NULL THEN
        PERFORM sluice_reserve_enter(entering);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER intents_reserve_insert AFTER INSERT ON intents
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_intents();
CREATE TRIGGER intents_reserve_update AFTER UPDATE ON intents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_intents();
CREATE TRIGGER intents_reserve_delete AFTER DELETE ON intents
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_intents();

-- A fill's value counts for its order's intent: inserted (usually with nothing applied
-- yet), completed (its applied quantity written), or removed.
CREATE FUNCTION sluice_reserve_on_fills() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids    BIGINT[];
    amounts NUMERIC[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(intent_id ORDER BY intent_id), array_agg(value ORDER BY intent_id)
          INTO ids, amounts
          FROM (SELECT o.intent_id, SUM(f.applied_quantity * f.price) AS value
                  FROM new_rows f JOIN orders o ON o.id = f.order_id
                 GROUP BY o.intent_id) d
         WHERE value <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(intent_id ORDER BY intent_id), array_agg(value ORDER BY intent_id)
          INTO ids, amounts
          FROM (SELECT o.intent_id, -SUM(f.applied_quantity * f.price) AS value
                  FROM old_rows f JOIN orders o ON o.id = f.order_id
                 GROUP BY o.intent_id) d
         WHERE value <> 0;
    ELSE
        SELECT array_agg(intent_id ORDER BY intent_id), array_agg(value ORDER BY intent_id)
          INTO ids, amounts
          FROM (SELECT o.intent_id, SUM(f.value) AS value
                  FROM (SELECT order_id, applied_quantity * price AS value FROM new_rows
                        UNION ALL
                        SELECT order_id, -(applied_quantity * price) FROM old_rows) f
                  JOIN orders o ON o.id = f.order_id
                 GROUP BY o.intent_id) d
         WHERE value <> 0;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM sluice_reserve_fill(ids, amounts);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER fills_reserve_insert AFTER INSERT ON fills
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_fills();
CREATE TRIGGER fills_reserve_update AFTER UPDATE ON fills
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_fills();
CREATE TRIGGER fills_reserve_delete AFTER DELETE ON fills
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_fills();

-- An order never moves to another intent (no writer does it; the kept terms rely on it).
CREATE FUNCTION sluice_order_keeps_its_intent() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order % cannot move from intent % to intent %',
        OLD.id, OLD.intent_id, NEW.intent_id;
END;
$$;
CREATE TRIGGER orders_keep_their_intent BEFORE UPDATE OF intent_id ON orders
    FOR EACH ROW WHEN (OLD.intent_id IS DISTINCT FROM NEW.intent_id)
    EXECUTE FUNCTION sluice_order_keeps_its_intent();

-- Every kept row computed again from the intents and fills: the back-fill of an existing
-- ledger below, and after a TRUNCATE of the tables the terms come from (which fires no
-- row trigger; it holds those tables exclusively, so nothing writes meanwhile).
CREATE FUNCTION sluice_reserved_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM budget_reserved_changes;
    DELETE FROM budget_reservations;
    DELETE FROM budget_reserved;
    INSERT INTO budget_reservations (intent_id, account_id, notional, filled_value)
    SELECT i.id, i.account_id, i.notional_usdt, sluice_intent_filled_value(i.id)
      FROM intents i WHERE sluice_reserves(i.kind, i.state, i.notional_usdt);
    INSERT INTO budget_reserved (account_id, reserved)
    SELECT account_id, SUM(GREATEST(notional - filled_value, 0))
      FROM budget_reservations GROUP BY account_id;
END;
$$;

CREATE FUNCTION sluice_reserve_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sluice_reserved_rebuild();
    RETURN NULL;
END;
$$;
CREATE TRIGGER intents_reserve_truncate AFTER TRUNCATE ON intents
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_truncate();
CREATE TRIGGER orders_reserve_truncate AFTER TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_truncate();
CREATE TRIGGER fills_reserve_truncate AFTER TRUNCATE ON fills
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_reserve_on_truncate();

-- The back-fill: an existing ledger's live opens and their fills.
SELECT sluice_reserved_rebuild();

-- The budget's sums read the kept reserved sum (same signature and meaning as before).
-- `used` is rounded to 20 decimal places: an averaged entry price carries up to 28
-- digits, so quantity × entry can carry more than the 28 a Decimal holds and the read
-- failed to decode (the accept compares the exact sum on the server).
CREATE OR REPLACE FUNCTION sluice_budget_sums(p_account BIGINT, OUT used NUMERIC,
                                              OUT reserved NUMERIC)
LANGUAGE sql STABLE AS $$
    SELECT
      (SELECT trim_scale(round(COALESCE(SUM(quantity * entry_price), 0), 20)) FROM positions
        WHERE status = 'open' AND account_id = p_account),
      sluice_reserved_kept(p_account)
$$;

-- The accept of migrations/20261206210100_account_functions.sql, unchanged but for the
-- budget: `used` summed over the account's open positions (a few rows), `reserved` the
-- kept total, folded here under the opens lock.
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
    SELECT COALESCE(SUM(quantity * entry_price), 0) INTO used FROM positions
     WHERE status = 'open' AND account_id = p_account;
    reserved := sluice_reserved_fold(p_account);
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
