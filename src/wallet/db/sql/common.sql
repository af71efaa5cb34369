-- Helpers every domain uses, run for every row a batch writes or a reader renders. SQL where
-- the planner inlines them into the statement that calls them: that needs the volatility of
-- the body (to_char and extract over a timestamptz are STABLE) and no STRICT over a body that
-- is not strict, else a SQL function runs as a statement of its own per call, planned every
-- time before PostgreSQL 18 (tests/ledger/test_plans.py). plpgsql where it cannot be inlined.

-- Time-ordered UUIDs (v7) for rows created inside the database; PostgreSQL 15 has no uuidv7().
CREATE OR REPLACE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(
            set_bit(set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1), 53, 1),
            'hex')::uuid
$$;

-- The one timestamp form of every JSON document the database renders: RFC 3339, UTC, 'Z'
-- (the same form pydantic writes on the Python side).
CREATE OR REPLACE FUNCTION json_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Times hash as integer microseconds.
CREATE OR REPLACE FUNCTION epoch_us(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

-- Append-only tables: history is corrected by new rows, never by editing old ones.
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
