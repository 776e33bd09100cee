-- The intent notification says what happened: `<id> <kind>` for a stored intent, so the
-- executor can tell an open (which may wait in the ledger while the executor holds as many
-- opens as it can send soon) from a risk-reducing intent (taken up at once) without reading
-- the table; `<id> cancel` for a cancel asked of a working intent (the trigger of
-- 20261206160100_intent_cancel.sql), which the executor must see at once whatever the kind.
-- Readers that only use the notification as a wake-up are unaffected.
CREATE OR REPLACE FUNCTION sluice_notify_intent() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('sluice_intents', NEW.id::text || ' cancel');
    ELSE
        PERFORM pg_notify('sluice_intents', NEW.id::text || ' ' || NEW.kind);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
