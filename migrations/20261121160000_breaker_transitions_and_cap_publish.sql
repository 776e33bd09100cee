-- Circuit-breaker transitions (issue #5 item 6, issue #6 item 4): every change of the
-- router's breaker state, with the window's counts at that moment, so `sluice report`
-- can shade the periods during which opens were refused. Append-only evidence.
CREATE TABLE breaker_transitions (
    id              BIGSERIAL PRIMARY KEY,
    venue           TEXT NOT NULL,
    scope           TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    from_state      TEXT NOT NULL CHECK (from_state IN ('closed', 'half_open', 'open')),
    to_state        TEXT NOT NULL CHECK (to_state IN ('closed', 'half_open', 'open')),
    window_total    INTEGER NOT NULL CHECK (window_total >= 0),
    server_errors   INTEGER NOT NULL CHECK (server_errors >= 0),
    throttled       INTEGER NOT NULL CHECK (throttled >= 0),
    unknown         INTEGER NOT NULL CHECK (unknown >= 0),
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (from_state <> to_state)
);
CREATE INDEX breaker_transitions_at ON breaker_transitions (at);

-- The published MARKET maxQty a learned cap undercuts, so `sluice positions` can show
-- both without asking the exchange. Nullable: caps learned before this column existed.
ALTER TABLE symbol_caps ADD COLUMN published_market_max_qty NUMERIC
    CHECK (published_market_max_qty IS NULL OR published_market_max_qty > 0);
