-- Push, not poll: every intent stored as `accepted` (by the control API, the CLI through it,
-- or any other process writing to this ledger) wakes the executor through LISTEN/NOTIFY in
-- the same transaction that stores it, so it is delivered exactly when the row is visible.
-- The executor's periodic intake stays as the safety net for a lost notification.
CREATE FUNCTION sluice_notify_intent() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sluice_intents', NEW.id::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER intents_wake_executor
    AFTER INSERT ON intents
    FOR EACH ROW WHEN (NEW.state = 'accepted')
    EXECUTE FUNCTION sluice_notify_intent();
