"""Admin operations: corrections under four eyes, reversals, freezing and closing wallets."""
