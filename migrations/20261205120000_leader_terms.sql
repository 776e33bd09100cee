-- Who led, and how each leader stopped: the takeover grace is waited only when another
-- daemon may still have been signing. A leader writes its term row on the connection
-- that holds the leader lock, right after taking it and before it signs anything; on a
-- clean stop it marks the row on the same connection before releasing the lock.
CREATE TABLE leader_terms (
    id                 BIGSERIAL PRIMARY KEY,
    venue              TEXT NOT NULL,
    -- The process's random identity (new at every start) and its readable name.
    instance           UUID NOT NULL,
    holder             TEXT NOT NULL,
    acquired_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set only by a clean stop, after the executor stopped sending.
    stopped_cleanly_at TIMESTAMPTZ,
    -- Until when a request this leader signed may still reach the exchange (its
    -- recvWindow after the stop when an order's outcome was still open).
    quiet_at           TIMESTAMPTZ
);

CREATE INDEX leader_terms_venue_latest ON leader_terms (venue, id DESC);
