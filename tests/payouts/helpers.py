"""The payment rail's stand-in: the rail is outside the system, so tests answer for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from wallet.payouts.rail import PayoutInstruction, RailAnswer


@dataclass
class FakeRail:
    """Pays each payout id at most once (its idempotency key); answers by owner, and owners
    it was not told about with ``default``."""

    answers: dict[str, RailAnswer] = field(default_factory=dict)
    paid: dict[UUID, int] = field(default_factory=dict)  # payout id -> times money left
    asked: list[UUID] = field(default_factory=list)
    crash_after_paying: bool = False
    default: RailAnswer = field(default_factory=lambda: RailAnswer("PAID"))

    async def send(self, instruction: PayoutInstruction) -> RailAnswer:
        self.asked.append(instruction.payout_id)
        answer = self.answers.get(instruction.owner_id, self.default)
        if answer.status == "PAID" and instruction.payout_id not in self.paid:
            self.paid[instruction.payout_id] = 1
        if self.crash_after_paying:
            raise RuntimeError("the worker died after the rail paid")
        return answer
