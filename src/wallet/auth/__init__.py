"""Authentication (JWT bearer) and authorisation (roles and ownership)."""
