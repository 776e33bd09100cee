-- Limit and post-only intents (src/domain/limit.rs): an intent's LIMIT terms (a price or
-- a price match, and a time in force with a GTD's date), stored as the JSON of
-- `LimitTerms`. NULL: a MARKET intent, exactly as before. Written in the same INSERT as
-- the intent, so the executor never sees a limit intent without its terms.
ALTER TABLE intents ADD COLUMN limit_terms JSONB;
