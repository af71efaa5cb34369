-- Audit trail: append-only, chained by a sealing step (audit_seal) rather than at insert time,
-- so writers never queue on one global "last hash" row. audit_append is the one way rows are
-- written, from SQL and from Python alike.

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Append audit records given by field name (a JSON array of objects with audit_log's column
-- names; id and occurred_at are the table's own). One statement however many.
CREATE OR REPLACE FUNCTION audit_append(p_records jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, resource_type, resource_id, outcome, client_address,
                           trace_id, details)
    SELECT r.actor, r.action, r.resource_type, r.resource_id, r.outcome, r.client_address,
           r.trace_id, coalesce(r.details, '{}')
    FROM jsonb_populate_recordset(NULL::audit_log, p_records) AS r;
END $$;

-- format('%L') quotes every text value (NULL stays NULL), so two different rows can never
-- serialise to the same text.
CREATE OR REPLACE FUNCTION audit_row_hash(prev bytea, a audit_log) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN sha256(prev || convert_to(format('%s|%s|%L|%L|%L|%L|%L|%L|%L|%L',
            a.id, epoch_us(a.occurred_at), a.actor, a.action, a.resource_type, a.resource_id,
            a.outcome, a.client_address, a.trace_id, a.details::text), 'UTF8'));
END $$;

-- Seal up to p_limit unsealed rows in id order; returns how many. Only rows older than p_settle
-- are sealed, so a row whose (short) transaction commits late is not skipped. One sealer at a
-- time: a second caller returns 0 at once.
CREATE OR REPLACE FUNCTION audit_seal(p_limit integer DEFAULT 1000, p_settle interval DEFAULT '5 seconds')
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    prev     bytea;
    last_id  bigint;
    row_hash bytea;
    a        audit_log;
    sealed   integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('wallet:audit_seal', 0)) THEN
        RETURN 0;
    END IF;
    SELECT s.audit_id, s.row_hash INTO last_id, prev
        FROM audit_seals s ORDER BY s.audit_id DESC LIMIT 1;
    prev := coalesce(prev, '\x'::bytea);
    FOR a IN
        SELECT * FROM audit_log
        WHERE id > coalesce(last_id, 0) AND occurred_at <= now() - p_settle
        ORDER BY id LIMIT p_limit
    LOOP
        row_hash := audit_row_hash(prev, a);
        INSERT INTO audit_seals (audit_id, prev_hash, row_hash) VALUES (a.id, prev, row_hash);
        prev := row_hash;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END $$;
