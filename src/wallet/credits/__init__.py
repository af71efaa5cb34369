"""Promotional credit: grants (vouchers, promotions, gifts) spent first, expiring as breakage."""
