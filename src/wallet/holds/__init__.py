"""Holds: reserve part of a wallet's available balance for a ride, then capture (whole, in
parts, or split between recipients), re-authorise, release, or let it expire."""
