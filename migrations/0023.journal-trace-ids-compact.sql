-- A journal's trace id is, from a traced request, the W3C trace id: 32 lowercase hex digits,
-- kept as text in 33 bytes. Such an id is kept in `trace` as the 16 bytes it spells instead
-- (posting engine v2: lean storage; with the row's alignment, 16 bytes less on a transfer);
-- any other trace id (a worker's, a caller's own) stays text. Exactly one of the two is set,
-- and journal_trace_id (ledger.sql) reads the text back the same, for the API and the hash.
ALTER TABLE journals ADD COLUMN trace uuid;
ALTER TABLE journals ALTER COLUMN trace_id DROP NOT NULL;
ALTER TABLE journals ADD CONSTRAINT journals_traced CHECK ((trace_id IS NULL) <> (trace IS NULL));
