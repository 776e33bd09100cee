-- Cancel of a working intent (`POST /v1/intents/{id}/cancel`): the request is a row
-- fact, so it survives a restart and a standby takeover; the executor stops sending new
-- chunks, waits for what is out, and ends the intent `cancelled` with what it filled.
-- An `accepted` intent is cancelled at once by the request itself (state `cancelled`).
ALTER TABLE intents ADD COLUMN cancel_requested_at TIMESTAMPTZ;
ALTER TABLE intents ADD COLUMN cancel_requested_by TEXT
    CHECK (cancel_requested_by IS NULL OR cancel_requested_by <> '');

-- Wake the executor's intake (the same channel as a new intent) when a cancel is asked.
CREATE TRIGGER intents_wake_executor_on_cancel
    AFTER UPDATE OF cancel_requested_at ON intents
    FOR EACH ROW WHEN (OLD.cancel_requested_at IS NULL AND NEW.cancel_requested_at IS NOT NULL)
    EXECUTE FUNCTION sluice_notify_intent();

-- The event stream says so too (an `intent` event with `cancel_requested: true`).
CREATE OR REPLACE FUNCTION sluice_event_intent() RETURNS trigger AS $$
BEGIN
    PERFORM sluice_emit('intent', jsonb_build_object(
        'intent_id', NEW.id, 'intent_kind', NEW.kind, 'symbol', NEW.symbol,
        'direction', NEW.direction, 'state', NEW.state,
        'previous_state', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
        'position_id', NEW.position_id, 'error', NEW.error,
        'shortfall', NEW.shortfall::text,
        'cancel_requested', NEW.cancel_requested_at IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER intents_event_update ON intents;
CREATE CONSTRAINT TRIGGER intents_event_update AFTER UPDATE ON intents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          OR OLD.cancel_requested_at IS DISTINCT FROM NEW.cancel_requested_at)
    EXECUTE FUNCTION sluice_event_intent();
