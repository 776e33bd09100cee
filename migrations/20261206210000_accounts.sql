-- Many accounts in one ledger (docs/accounts.md). Every row that describes trading belongs
-- to one account: by its own NOT NULL `account_id`, or through a NOT NULL foreign key
-- (intent_events, intent_protection via the intent; protective_orders via the position).
--
-- An existing ledger migrates by itself: the account `main` is created as the default and
-- every existing row becomes its. A new row that names no account belongs to the session's
-- account (`sluice_account()`: the one a daemon's sessions name, else `main`), so a
-- single-account daemon writes exactly as before. Composite foreign keys (`(x_id, account_id)`) make a
-- row that names another account's intent, order or position impossible, so the default
-- can never misfile a row silently.

CREATE TABLE accounts (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    -- NULL: as the serving daemon's settings say (the default account of an existing
    -- ledger is described by the settings, as before).
    venue              TEXT CHECK (venue <> ''),
    position_mode      TEXT CHECK (position_mode IN ('one-way', 'hedge')),
    allocation_usdt    NUMERIC CHECK (allocation_usdt >= 0),
    symbols            TEXT[] NOT NULL DEFAULT '{}',
    -- Where the credentials are read from (a key file's path, a settings entry's name):
    -- never a key or a secret. Credentials stay in files and settings.
    credential_source  TEXT CHECK (credential_source <> ''),
    is_default         BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_one_default ON accounts (is_default) WHERE is_default;

INSERT INTO accounts (name, is_default) VALUES ('main', true);

-- The default account's id.
CREATE FUNCTION sluice_default_account() RETURNS BIGINT
LANGUAGE sql STABLE AS $$ SELECT id FROM accounts WHERE is_default $$;

-- The account of this session: the one named by the session setting `sluice.account`
-- (a daemon that leads one account sets it when it connects), else the default one.
-- A name with no account gives NULL, so such a session can write nothing and reads
-- nothing: it fails closed. What a row that names no account belongs to.
CREATE FUNCTION sluice_account() RETURNS BIGINT
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN COALESCE(current_setting('sluice.account', true), '') = ''
                THEN (SELECT id FROM accounts WHERE is_default)
                ELSE (SELECT id FROM accounts WHERE name = current_setting('sluice.account', true))
           END
$$;

-- The account column of every table that has one: the existing rows are the default
-- account's (a STABLE default is evaluated once for them, no table rewrite), new rows the
-- session's (set below, after every column exists).
ALTER TABLE intents ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE positions ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE orders ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE fills ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE exchange_positions ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE order_attempts ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE breaker_transitions ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE ledger_anomalies ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE ledger_adjustments ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE leader_terms ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE events ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);
ALTER TABLE control_flags ADD COLUMN account_id BIGINT NOT NULL
    DEFAULT sluice_default_account() REFERENCES accounts (id);

ALTER TABLE intents ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE positions ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE orders ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE fills ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE exchange_positions ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE order_attempts ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE breaker_transitions ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE ledger_anomalies ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE ledger_adjustments ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE leader_terms ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE events ALTER COLUMN account_id SET DEFAULT sluice_account();
ALTER TABLE control_flags ALTER COLUMN account_id SET DEFAULT sluice_account();

-- Keys that were ledger-wide and are per account now.
DROP INDEX positions_one_open_per_leg;
CREATE UNIQUE INDEX positions_one_open_per_leg
    ON positions (account_id, venue, symbol, position_side) WHERE status = 'open';
ALTER TABLE exchange_positions DROP CONSTRAINT exchange_positions_pkey;
ALTER TABLE exchange_positions ADD PRIMARY KEY (account_id, venue, symbol, position_side);
-- Two sub-accounts that trade against each other both see the trade's id.
ALTER TABLE fills DROP CONSTRAINT fills_venue_symbol_trade_id_key;
ALTER TABLE fills ADD CONSTRAINT fills_one_per_trade UNIQUE (account_id, venue, symbol, trade_id);
ALTER TABLE control_flags DROP CONSTRAINT control_flags_pkey;
ALTER TABLE control_flags ADD PRIMARY KEY (account_id, key);
DROP INDEX leader_terms_venue_latest;
CREATE INDEX leader_terms_account_latest ON leader_terms (account_id, venue, id DESC);
CREATE INDEX events_by_account ON events (account_id, seq);

-- A row and the rows it names belong to the same account (each composite key replaces
-- the single-column foreign key it subsumes).
ALTER TABLE intents ADD CONSTRAINT intents_id_account UNIQUE (id, account_id);
ALTER TABLE positions ADD CONSTRAINT positions_id_account UNIQUE (id, account_id);
ALTER TABLE orders ADD CONSTRAINT orders_id_account UNIQUE (id, account_id);

ALTER TABLE intents DROP CONSTRAINT intents_position_fk;
ALTER TABLE intents ADD CONSTRAINT intents_position_fk FOREIGN KEY (position_id, account_id)
    REFERENCES positions (id, account_id);
ALTER TABLE orders DROP CONSTRAINT orders_intent_id_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_intent_fk FOREIGN KEY (intent_id, account_id)
    REFERENCES intents (id, account_id);
ALTER TABLE orders DROP CONSTRAINT orders_position_id_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_position_fk FOREIGN KEY (position_id, account_id)
    REFERENCES positions (id, account_id);
ALTER TABLE fills DROP CONSTRAINT fills_order_id_fkey;
ALTER TABLE fills ADD CONSTRAINT fills_order_fk FOREIGN KEY (order_id, account_id)
    REFERENCES orders (id, account_id);
ALTER TABLE fills DROP CONSTRAINT fills_position_id_fkey;
ALTER TABLE fills ADD CONSTRAINT fills_position_fk FOREIGN KEY (position_id, account_id)
    REFERENCES positions (id, account_id);
