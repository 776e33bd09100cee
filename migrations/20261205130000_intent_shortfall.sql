-- An intent that filled something never ends `failed`: when the exchange leaves part of
-- it undone (a remainder below minQty or MIN_NOTIONAL after a partial fill, a rejection
-- after some chunks filled), it ends `done` with the part it could not do in `shortfall`
-- and the reason in `error` (the API calls this outcome `done_partial`).
ALTER TABLE intents ADD COLUMN shortfall NUMERIC CHECK (shortfall > 0);
ALTER TABLE intents ADD CONSTRAINT intents_shortfall_only_when_done
    CHECK (shortfall IS NULL OR state = 'done');
