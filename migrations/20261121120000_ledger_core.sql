-- The ledger: intents, the orders that carry them out, the fills the exchange
-- reported, and the positions those fills built. `positions` is the single source
-- of truth for budget and UI; `exchange_positions` is raw exchange state only.
-- Money and quantities are NUMERIC (never float); times are timestamptz.

CREATE TABLE intents (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('open', 'close', 'reduce', 'flatten')),
    venue            TEXT NOT NULL CHECK (venue <> ''),
    -- NULL only for a flatten of every symbol.
    symbol           TEXT CHECK (symbol IS NOT NULL OR kind = 'flatten'),
    -- NULL only for flatten (it acts on whatever is open).
    direction        TEXT CHECK (direction IN ('long', 'short')),
    position_mode    TEXT NOT NULL CHECK (position_mode IN ('one-way', 'hedge')),
    quantity         NUMERIC CHECK (quantity > 0),
    notional_usdt    NUMERIC CHECK (notional_usdt > 0),
    position_id      BIGINT,
    idempotency_key  TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    reason           TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL CHECK (state IN ('accepted', 'working', 'done', 'failed', 'cancelled')),
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (direction IS NOT NULL OR kind = 'flatten'),
    -- A risk-increasing intent must say how much risk.
    CHECK (kind <> 'open' OR quantity IS NOT NULL OR notional_usdt IS NOT NULL)
);

CREATE TABLE intent_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id   BIGINT NOT NULL REFERENCES intents (id),
    from_state  TEXT NOT NULL CHECK (from_state IN ('accepted', 'working', 'done', 'failed', 'cancelled')),
    to_state    TEXT NOT NULL CHECK (to_state IN ('accepted', 'working', 'done', 'failed', 'cancelled')),
    cause       TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX intent_events_by_intent ON intent_events (intent_id, id);

CREATE TABLE positions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue             TEXT NOT NULL CHECK (venue <> ''),
    symbol            TEXT NOT NULL CHECK (symbol <> ''),
    direction         TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    position_side     TEXT NOT NULL CHECK (position_side IN ('BOTH', 'LONG', 'SHORT')),
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    quantity          NUMERIC NOT NULL CHECK (quantity >= 0),
    entry_price       NUMERIC NOT NULL CHECK (entry_price >= 0),
    -- Quantity that arrived without a fill (adoption at start); fills add to it.
    initial_quantity  NUMERIC NOT NULL DEFAULT 0 CHECK (initial_quantity >= 0),
    opened_quantity   NUMERIC NOT NULL CHECK (opened_quantity >= 0),
    closed_quantity   NUMERIC NOT NULL DEFAULT 0 CHECK (closed_quantity >= 0),
    exit_price        NUMERIC CHECK (exit_price > 0),
    realized_pnl      NUMERIC NOT NULL DEFAULT 0,
    origin            TEXT NOT NULL CHECK (origin IN ('sluice', 'adopted')),
    opened_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at         TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status = 'open' OR closed_at IS NOT NULL),
    -- Hedge legs point one way by construction.
    CHECK (position_side = 'BOTH' OR lower(position_side) = direction)
);
-- At most one open position per venue, symbol and leg: a second one is a phantom.
CREATE UNIQUE INDEX positions_one_open_per_leg
    ON positions (venue, symbol, position_side) WHERE status = 'open';

ALTER TABLE intents ADD CONSTRAINT intents_position_fk
    FOREIGN KEY (position_id) REFERENCES positions (id);

CREATE TABLE orders (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id          BIGINT NOT NULL REFERENCES intents (id),
    -- Copied from the intent so a fill handler never has to guess (seed 002).
    intent_kind        TEXT NOT NULL CHECK (intent_kind IN ('open', 'close', 'reduce', 'flatten')),
    position_id        BIGINT REFERENCES positions (id),
    venue              TEXT NOT NULL CHECK (venue <> ''),
    symbol             TEXT NOT NULL CHECK (symbol <> ''),
    side               TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    position_side      TEXT NOT NULL CHECK (position_side IN ('BOTH', 'LONG', 'SHORT')),
    order_type         TEXT NOT NULL CHECK (order_type IN ('MARKET', 'LIMIT')),
    quantity           NUMERIC NOT NULL CHECK (quantity > 0),
    price              NUMERIC CHECK (price > 0),
    reduce_only        BOOLEAN NOT NULL,
    client_order_id    TEXT NOT NULL UNIQUE,
    chunk_index        INTEGER NOT NULL CHECK (chunk_index >= 0),
    attempt            INTEGER NOT NULL CHECK (attempt >= 0),
    status             TEXT NOT NULL CHECK (status IN ('planned', 'sent', 'new', 'partially_filled',
                           'filled', 'canceled', 'expired', 'rejected', 'unknown')),
    exchange_order_id  BIGINT,
    filled_quantity    NUMERIC NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    avg_price          NUMERIC CHECK (avg_price > 0),
    last_error_code    BIGINT,
    last_error_msg     TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Only an open may leave its position to be created by its first fill; a close,
    -- reduce or flatten order always names the one position it may reduce.
    CHECK (intent_kind = 'open' OR position_id IS NOT NULL)
);
CREATE UNIQUE INDEX orders_by_exchange_id ON orders (venue, symbol, exchange_order_id)
    WHERE exchange_order_id IS NOT NULL;
CREATE INDEX orders_by_intent ON orders (intent_id);
CREATE INDEX orders_not_terminal ON orders (status)
    WHERE status IN ('planned', 'sent', 'new', 'partially_filled', 'unknown');

CREATE TABLE fills (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue              TEXT NOT NULL CHECK (venue <> ''),
    symbol             TEXT NOT NULL CHECK (symbol <> ''),
    trade_id           BIGINT NOT NULL,
    order_id           BIGINT REFERENCES orders (id),
    client_order_id    TEXT,
    exchange_order_id  BIGINT NOT NULL,
    side               TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    position_side      TEXT NOT NULL CHECK (position_side IN ('BOTH', 'LONG', 'SHORT')),
    price              NUMERIC NOT NULL CHECK (price > 0),
    quantity           NUMERIC NOT NULL CHECK (quantity > 0),
    commission         NUMERIC NOT NULL,
    commission_asset   TEXT NOT NULL,
    realized_pnl       NUMERIC NOT NULL,
    maker              BOOLEAN NOT NULL,
    traded_at          TIMESTAMPTZ NOT NULL,
    -- True when no sluice order is known for it: it never moves a position.
    external           BOOLEAN NOT NULL,
    position_id        BIGINT REFERENCES positions (id),
    -- What actually changed the position (an over-close is capped, so this can be < quantity).
    applied_quantity   NUMERIC NOT NULL DEFAULT 0 CHECK (applied_quantity >= 0 AND applied_quantity <= quantity),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (venue, symbol, trade_id),
    CHECK (NOT external OR (order_id IS NULL AND applied_quantity = 0))
);
CREATE INDEX fills_by_position ON fills (position_id) WHERE position_id IS NOT NULL;
CREATE INDEX fills_by_order ON fills (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE exchange_positions (
    venue          TEXT NOT NULL,
    symbol         TEXT NOT NULL,
    position_side  TEXT NOT NULL CHECK (position_side IN ('BOTH', 'LONG', 'SHORT')),
    amount         NUMERIC NOT NULL,
    entry_price    NUMERIC NOT NULL CHECK (entry_price >= 0),
    event_time     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, symbol, position_side)
);
