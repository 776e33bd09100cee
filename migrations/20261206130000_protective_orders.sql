-- Exchange-side protective orders (the Algo Service, docs/binance-fapi.md §2.2, §5.6):
-- stop-losses and take-profits the exchange holds for a position, so the position is
-- never naked while sluice is down.

-- What an open asked to be protected by (stored with the intent, in its transaction).
CREATE TABLE intent_protection (
    intent_id   BIGINT PRIMARY KEY REFERENCES intents (id),
    protection  JSONB NOT NULL
);

-- One row per algo order sluice placed (or is about to place: `planned` is written
-- before the request is sent, as orders are). `generation` grows when the position
-- grows and the protection is replaced; `client_algo_id` derives from the position id,
-- the kind and the generation, so a retry or a restart finds the same order.
CREATE TABLE protective_orders (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_id      BIGINT NOT NULL REFERENCES positions (id),
    intent_id        BIGINT REFERENCES intents (id),
    venue            TEXT NOT NULL CHECK (venue <> ''),
    symbol           TEXT NOT NULL CHECK (symbol <> ''),
    position_side    TEXT NOT NULL CHECK (position_side IN ('BOTH', 'LONG', 'SHORT')),
    side             TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    kind             TEXT NOT NULL CHECK (kind IN ('stop_loss', 'take_profit')),
    generation       INTEGER NOT NULL CHECK (generation >= 1),
    trigger_price    NUMERIC NOT NULL CHECK (trigger_price > 0),
    working_type     TEXT NOT NULL CHECK (working_type IN ('mark', 'contract')),
    client_algo_id   TEXT NOT NULL UNIQUE CHECK (client_algo_id <> ''),
    algo_id          BIGINT,
    state            TEXT NOT NULL CHECK (state IN ('planned', 'new', 'triggering', 'triggered',
                         'finished', 'canceled', 'expired', 'rejected')),
    -- The order the trigger produced (ALGO_UPDATE `ai`), and the sluice order row that
    -- carries its fills as CLOSE fills of the position.
    actual_order_id  BIGINT,
    order_id         BIGINT REFERENCES orders (id),
    reject_reason    TEXT,
    last_error       TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    triggered_at     TIMESTAMPTZ,
    UNIQUE (position_id, kind, generation)
);
CREATE INDEX protective_orders_live ON protective_orders (position_id)
    WHERE state IN ('planned', 'new', 'triggering', 'triggered');
