"""Idempotency keys: every money-moving POST is safe to retry.

Keys are stored by the posting function in the same transaction as the money change
(see migrations), scoped per caller, with a fingerprint of the request and the first answer.
"""
