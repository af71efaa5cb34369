"""Events out of the transactional outbox: the publisher, the CloudEvents envelope, the feed.

Money changes write outbox rows in their own transaction (see migrations/0001); this package
gets those rows to RabbitMQ and serves them over ``GET /v1/events``. docs/events.md describes
the event format and the delivery guarantees.
"""
