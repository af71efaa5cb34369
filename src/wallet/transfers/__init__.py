"""Money movements on one wallet: deposit, withdraw and transfer."""
