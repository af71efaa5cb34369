"""The RBAC matrix: which roles may call which route. The one place roles are enforced.

Every route of the app is looked up here by (method, path template) before its handler runs
(see ``authorize_route``). A route that is not listed is refused to everyone (fail closed), so
a new route is one line below. Ownership is the second half: a ``user`` only ever sees wallets
whose ``owner_id`` is its token's ``sub``; services pass ``Principal.owner_scope`` down to the
SQL, and another owner's wallet, hold or transaction answers 404 as if it did not exist.
``docs/security.md`` shows this table; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.auth.tokens import Role


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]  # empty for a public route
    user_scope: str  # what a ``user`` may reach through this route, for the docs


PUBLIC = Rule(frozenset(), "-")
EVERYONE = frozenset({Role.USER, Role.PAYMENTS, Role.ADMIN})
PLATFORM = frozenset({Role.PAYMENTS, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
OWN = "own wallets only (others: 404)"
NONE = "-"

ROUTE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/v1/wallets"): Rule(PLATFORM, NONE),
    ("GET", "/v1/wallets"): Rule(EVERYONE, "own owner_id only (others: empty list)"),
    ("GET", "/v1/wallets/{wallet_id}"): Rule(EVERYONE, OWN),
    ("POST", "/v1/wallets/{wallet_id}/deposit"): Rule(PLATFORM, NONE),
    ("POST", "/v1/wallets/{wallet_id}/withdraw"): Rule(PLATFORM, NONE),
    ("POST", "/v1/wallets/{wallet_id}/transfer"): Rule(EVERYONE, "from own wallets only"),
    ("GET", "/v1/wallets/{wallet_id}/ledger"): Rule(EVERYONE, OWN),
    ("POST", "/v1/wallets/{wallet_id}/holds"): Rule(EVERYONE, "on own wallets only"),
    ("GET", "/v1/wallets/{wallet_id}/holds"): Rule(EVERYONE, OWN),
    ("GET", "/v1/holds/{hold_id}"): Rule(EVERYONE, "holds on own wallets only (others: 404)"),
    ("POST", "/v1/holds/{hold_id}/capture"): Rule(PLATFORM, NONE),
    ("POST", "/v1/holds/{hold_id}/adjust"): Rule(PLATFORM, NONE),
    ("POST", "/v1/holds/{hold_id}/release"): Rule(EVERYONE, "holds on own wallets only"),
    ("POST", "/v1/transactions/{transaction_id}/refund"): Rule(PLATFORM, NONE),
    ("GET", "/v1/events"): Rule(PLATFORM, NONE),
    ("POST", "/v1/batches"): Rule(EVERYONE, "transfers and holds from own wallets only"),
    ("GET", "/v1/transactions"): Rule(EVERYONE, "transactions touching own wallets only"),
    ("GET", "/v1/transactions/{transaction_id}"): Rule(
        EVERYONE, "transactions touching own wallets only (others: 404)"
    ),
    ("GET", "/v1/wallets/{wallet_id}/balance"): Rule(EVERYONE, OWN),
    ("POST", "/v1/wallets/{wallet_id}/credits"): Rule(PLATFORM, NONE),
    ("GET", "/v1/wallets/{wallet_id}/credits"): Rule(EVERYONE, OWN),
    ("POST", "/v1/fx/quotes"): Rule(EVERYONE, "from own wallets only (others: 404)"),
}
ADMIN_PREFIX = "/v1/admin/"


def rule_for(method: str, path_template: str) -> Rule | None:
    """The rule of a route; every /v1/admin/ route is admin-only; None means unlisted."""
    if method == "HEAD":
        method = "GET"
    rule = ROUTE_RULES.get((method, path_template))
    if rule is None and path_template.startswith(ADMIN_PREFIX):
        return Rule(ADMIN, NONE)
    return rule
