-- The W3C trace context of the request that wrote an outbox row, so that its publish (and the
-- consumer) joins the request's trace. NULL for untraced requests and older rows.
ALTER TABLE outbox ADD COLUMN traceparent text;
-- A posting carries its request's trace context to the events it writes.
ALTER TYPE ledger_posting ADD ATTRIBUTE traceparent text;
