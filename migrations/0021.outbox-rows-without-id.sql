-- Events stop storing a row id (posting engine v2: lean storage): 8 bytes on every event, 16
-- on a transfer. Nothing finds an event by it any more: claims, marks, failures and pruning go
-- by (wallet_id, sequence) or the row's address, and the feed orders the events of one
-- transaction by (wallet_id, sequence) too (outbox/repository.py). Events written before keep
-- their ids: a feed cursor given out before this names one (outbox/core.py reads it still).
ALTER TABLE outbox ALTER COLUMN id DROP IDENTITY,
                   ALTER COLUMN id DROP NOT NULL;
