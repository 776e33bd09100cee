-- Evidence and control: every correction, every anomaly, every REST attempt,
-- persistent flags and the caps learned from the exchange.

CREATE TABLE ledger_adjustments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor       TEXT NOT NULL CHECK (actor <> ''),
    reason      TEXT NOT NULL CHECK (reason <> ''),
    table_name  TEXT NOT NULL,
    row_id      BIGINT NOT NULL,
    before      JSONB,
    after       JSONB
);
CREATE INDEX ledger_adjustments_by_row ON ledger_adjustments (table_name, row_id);

CREATE TABLE ledger_anomalies (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('over_close_capped', 'external_fill',
                     'close_without_open_position', 'fill_side_mismatch', 'open_against_opposite')),
    detail       JSONB NOT NULL,
    fill_id      BIGINT REFERENCES fills (id),
    order_id     BIGINT REFERENCES orders (id),
    position_id  BIGINT REFERENCES positions (id),
    at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE order_attempts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue            TEXT NOT NULL,
    sent_at          TIMESTAMPTZ NOT NULL,
    exchange_time    TIMESTAMPTZ,
    method           TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    params           TEXT NOT NULL,
    is_order         BOOLEAN NOT NULL,
    symbol           TEXT,
    client_order_id  TEXT,
    http_status      INTEGER CHECK (http_status BETWEEN 100 AND 599),
    error_code       BIGINT,
    error_msg        TEXT,
    error_class      TEXT,
    latency_ms       BIGINT NOT NULL CHECK (latency_ms >= 0),
    used_weight_1m   BIGINT,
    order_count_10s  BIGINT,
    order_count_1m   BIGINT
);
CREATE INDEX order_attempts_by_client_order_id ON order_attempts (client_order_id)
    WHERE client_order_id IS NOT NULL;
CREATE INDEX order_attempts_by_time ON order_attempts (sent_at);

CREATE TABLE control_flags (
    key         TEXT PRIMARY KEY,
    value       JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor       TEXT NOT NULL
);

CREATE TABLE symbol_caps (
    venue                   TEXT NOT NULL,
    symbol                  TEXT NOT NULL,
    learned_market_max_qty  NUMERIC NOT NULL CHECK (learned_market_max_qty > 0),
    learned_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    reason                  TEXT NOT NULL,
    retry_after             TIMESTAMPTZ,
    PRIMARY KEY (venue, symbol)
);
