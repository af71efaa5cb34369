-- An idempotency key is looked up by equality only, never by range or in order: its
-- uniqueness is kept by an exclusion constraint over a hash index instead of a primary key's
-- btree (posting engine v2: lean storage). A btree entry holds the caller and the key
-- themselves (36 bytes with its line pointer, about 56 per key at the fill random keys
-- leave); a hash entry holds their 4-byte hash code (20 bytes). Two requests with the same
-- (caller, key) still cannot both be recorded, whoever writes them: the second insert finds
-- the first through the index and is refused (exclusion_violation), as a duplicate key was.
--
-- Hash indexes cover one column: the index is over one text that names both, the caller's
-- length first so that no other (caller, key) pair spells the same text. Lookups use the
-- same expression (idempotency_scope, idempotency.sql) for the planner to use the index.
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_once
    EXCLUDE USING hash ((length(caller)::text || ':' || caller || key) WITH =);
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
