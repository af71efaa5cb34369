"""Currency exchange: rates, quotes that lock a rate, and transfers across currencies."""
