-- Helpers every domain uses. plpgsql, not sql: PostgreSQL before 18 plans a non-inlined SQL
-- function's body on every call, and these run for every row a batch writes.

-- Time-ordered UUIDs (v7) for rows created inside the database; PostgreSQL 15 has no uuidv7().
CREATE OR REPLACE FUNCTION uuid_v7() RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN encode(
            set_bit(set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1), 53, 1),
            'hex')::uuid;
END $$;

-- The one timestamp form of every JSON document the database renders: RFC 3339, UTC, 'Z'
-- (the same form pydantic writes on the Python side).
CREATE OR REPLACE FUNCTION json_time(t timestamptz) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
END $$;

-- Times hash as integer microseconds.
CREATE OR REPLACE FUNCTION epoch_us(t timestamptz) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (extract(epoch FROM t) * 1000000)::bigint;
END $$;

-- Append-only tables: history is corrected by new rows, never by editing old ones.
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
