-- What a batch's key keeps is compressed on its way into TOAST while the batch still holds its
-- wallets' locks. Measured on a whole 1,000-transfer answer (about 800 kB): pglz about 7 ms,
-- lz4 under 1 ms, for about a tenth more bytes (90 -> 100 kB); the record kept since (106 kB,
-- batches/service.py) takes lz4 to 17 kB. A server built without lz4 refuses it (the embedded
-- wheel's is one): there the column keeps pglz. No rewrite: values kept before stay as they
-- were compressed.
DO $$
BEGIN
    ALTER TABLE idempotency_keys ALTER COLUMN response_body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
