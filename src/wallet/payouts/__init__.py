"""Driver payouts: runs select wallets, each payout moves off the wallet, goes to a rail, and
lands in EXTERNAL (PAID) or back in the wallet (FAILED)."""
