-- The outbox's feed and claim indexes keyed by the writing transaction's position alone
-- (posting engine v2: lean storage). A batch's events share one feed_xid, so btree
-- deduplication keeps one key and a list of row addresses per transaction: the two indexes
-- took some 120 bytes per transfer keyed by (feed_xid, id) and by id, about 35 keyed so
-- (measured on a copy of the uniform bench's outbox: 3.1 MB against 0.73 MB for the feed).
-- The feed still pages in (feed_xid, id) order: the index gives feed_xid order, and the rows
-- of one position are sorted by id, a batch's worth at a time (an incremental sort). The
-- publisher claims the oldest positions first and marks what it claimed by (wallet_id,
-- sequence), which is unique and indexed.
DROP INDEX outbox_feed;
CREATE INDEX outbox_feed ON outbox (feed_xid);
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (feed_xid) WHERE published_at IS NULL;
