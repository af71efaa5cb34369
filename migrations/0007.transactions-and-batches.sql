-- Transactions as a resource, searches and balances at a point in time (issue 11): indexes
-- only. Each one is paid for on every posting, so there are as few as the queries need:
--
-- * entries (wallet_id, created_at, id): a wallet's balance at an instant (the latest entry at
--   or before it) and a wallet's transactions newest first, filtered by time. The primary key
--   (wallet_id, id) orders by id, which is not the order of created_at across concurrent
--   transactions, so it cannot answer "as of T" without reading the wallet's whole history.
-- * journals (created_at, id): every transaction newest first, and created_from/created_to,
--   for platform callers searching without a wallet.
-- * journals (reference_id, created_at, id), partial: a platform finds a transaction again by
--   its own reference, its most frequent query; postings without a reference pay nothing.
-- * journals metadata GIN (jsonb_path_ops), partial on non-empty metadata: metadata[key]=value
--   lookups (an order id, a driver id) are the other frequent query and no btree serves
--   containment; postings without metadata pay nothing, and jsonb_path_ops keeps the index
--   a fraction of the default GIN opclass's size.
--
-- Not indexed, on purpose: type and category (a handful of values each: a filter on the
-- newest-first walk finds a page quickly, and an index per value set would cost every posting
-- for little), and journals.wallet_id (a wallet's transactions come from its entries, which
-- also find the ones where the wallet is the receiving side).
CREATE INDEX entries_wallet_time ON entries (wallet_id, created_at, id);
CREATE INDEX journals_newest_first ON journals (created_at, id);
CREATE INDEX journals_reference ON journals (reference_id, created_at, id)
    WHERE reference_id IS NOT NULL;
CREATE INDEX journals_metadata ON journals USING gin (metadata jsonb_path_ops)
    WHERE metadata <> '{}'::jsonb;
