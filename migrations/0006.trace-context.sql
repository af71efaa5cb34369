-- The W3C trace context of the request that wrote an outbox row, so that its publish (and the
-- consumer) joins the request's trace. NULL for untraced requests and older rows.
ALTER TABLE outbox ADD COLUMN traceparent text;
