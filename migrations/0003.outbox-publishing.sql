-- Outbox publishing: delivery state for the publisher, and a commit-safe position for the feed.
--
-- The money path keeps writing outbox rows exactly as before (ledger_apply is unchanged); the
-- new columns all have defaults, and one BEFORE INSERT trigger fills in feed_xid.

ALTER TABLE outbox
    ADD COLUMN status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'PUBLISHED', 'DEAD')),
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN last_error text,
    ADD COLUMN dead_lettered_at timestamptz,
    -- Feed position (see outbox_feed_position): existing rows committed long ago, so 0.
    ADD COLUMN feed_xid xid8 NOT NULL DEFAULT '0';

UPDATE outbox SET status = 'PUBLISHED' WHERE published_at IS NOT NULL;

-- The publisher finds a wallet's previous event through UNIQUE (wallet_id, sequence) and its
-- first undelivered ones through outbox_unpublished, both from 0001: no new index to maintain
-- on the money path for it.
-- Pruning: published rows past the retention window.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE status = 'PUBLISHED';
-- The feed's keyset.
CREATE INDEX outbox_feed ON outbox (feed_xid, id);

-- Identity ids are taken at insert time but become visible at commit, so ids commit out of
-- order: a reader paging by id alone could pass over a row that commits later with a smaller
-- id. The feed therefore pages by (feed_xid, id) and serves only rows with
-- feed_xid < pg_snapshot_xmin(pg_current_snapshot()): every such row's transaction has ended,
-- and any row still to become visible belongs to a running transaction, whose xid (and so
-- feed_xid) is at least that horizon, so it sorts after everything already served.
--
-- feed_xid is the inserting transaction's id, raised to the previous event of the same wallet
-- if that one is larger: the wallet row lock orders a wallet's events, but transaction ids
-- are handed out at a transaction's first write, which can precede taking the wallet's lock.
-- Raising keeps each wallet's events in sequence order in the feed without weakening the
-- horizon rule above (feed_xid is never below the row's own xid).
CREATE FUNCTION outbox_feed_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.feed_xid := greatest(
        pg_current_xact_id(),
        (SELECT previous.feed_xid FROM outbox AS previous
         WHERE previous.wallet_id = NEW.wallet_id AND previous.sequence < NEW.sequence
         ORDER BY previous.sequence DESC LIMIT 1));
    RETURN NEW;
END $$;

CREATE TRIGGER outbox_feed_position BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_feed_position();
