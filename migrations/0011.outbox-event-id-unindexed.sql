-- Event ids are uuid_v7 values the database makes as it writes each event, so they are unique
-- by construction, and no query finds an event by its id except the operator's replay
-- (`wallet events replay`), which selects by time as well and scans the outbox either way. The
-- unique index cost one index insert per event (two per transfer) and about 56 bytes of each
-- transfer's storage.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
