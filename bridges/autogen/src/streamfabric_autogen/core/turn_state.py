"""Where a job's turn stands in the session's log, read when a delivery begins: a port of
services/worker/jobs/turn-state.ts. The log alone decides (never a worker's memory), so any bridge
or TypeScript worker on any machine reaches the same decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .conversation import Turn, fold_conversation
from .event_log import EventLog

Status = Literal["finished", "fresh", "interrupted", "needs_user_message", "conflict"]


@dataclass
class TurnState:
    """
    `finished`: the turn already has a terminal event (or a later turn exists): just ack.
    `fresh`: nothing of the turn is in the log yet beyond the user's message.
    `interrupted`: a previous attempt wrote part of the turn and was lost.
    `needs_user_message`: the job's message is not in the log yet (a producer that queued a job
      without writing it): the worker writes it first.
    `conflict`: the log does not fit the job (e.g. turn 3 queued while turn 1 is the last one).
    """

    status: Status
    #: The turns before this one: the conversation history the agents see.
    history: list[Turn]
    #: Events of this turn after its user message (earlier attempts' output, questions, answers).
    current: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    last_stream_seq: int = 0
    #: Highest attempt number among this turn's events (0 when none).
    last_attempt: int = 0

    def attempt_for(self, delivery: int) -> int:
        """The attempt number this delivery writes with: the delivery count, and always past the
        attempts already in the turn when it continues an interrupted one (so `restart` names a
        new attempt even when the earlier one was written by another pool's delivery count)."""
        if self.status == "interrupted":
            return max(delivery, self.last_attempt + 1, 2)
        return max(delivery, self.last_attempt, 1)


def turn_state_of(events: list[dict[str, Any]], last_stream_seq: int, turn_no: int) -> TurnState:
    """The decision, from the events alone (pure, for tests)."""
    conv = fold_conversation(events)
    base: dict[str, Any] = {
        "last_seq": int(events[-1]["seq"]) if events else 0,
        "last_stream_seq": last_stream_seq,
    }
    turns = conv.turns
    if len(turns) < turn_no:
        prev = turns[-1] if turns else None
        ready = len(turns) == turn_no - 1 and (prev is None or prev.outcome is not None)
        return TurnState("needs_user_message" if ready else "conflict", history=turns, **base)
    turn = turns[turn_no - 1]
    history = turns[: turn_no - 1]
    if len(turns) > turn_no or turn.outcome is not None:
        return TurnState("finished", history=history, **base)
    current = [e for e in events if int(e["seq"]) > turn.start_seq]
    last_attempt = max((int(e.get("attempt") or 0) for e in current), default=0)
    return TurnState(
        "interrupted" if current else "fresh",
        history=history,
        current=current,
        last_attempt=last_attempt,
        **base,
    )


async def read_turn_state(log: EventLog, job: dict[str, Any]) -> TurnState:
    """Rebuilds the turn's state from the session's log."""
    events, last_stream_seq = await log.read_all(job["tenant"], job["sid"])
    return turn_state_of(events, last_stream_seq, int(job.get("turn") or 1))
