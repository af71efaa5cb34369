-- A batch's answer is kept whole under its key: up to 1,000 transactions, about 800 kB of JSON
-- for 1,000 transfers, compressed on its way into TOAST while the batch still holds its
-- wallets' locks. pglz took about 7 ms of such an answer, lz4 under 1 ms, for about a tenth more
-- bytes (90 -> 100 kB). A server built without lz4 refuses it (the embedded wheel's is one):
-- there the column keeps pglz. No rewrite: values kept before stay as they were compressed.
DO $$
BEGIN
    ALTER TABLE idempotency_keys ALTER COLUMN response_body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
