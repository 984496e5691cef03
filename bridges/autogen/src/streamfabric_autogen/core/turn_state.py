"""Where a job's turn stands in the session's log, read when a delivery begins: a port of
services/worker/jobs/turn-state.ts. The log alone decides (never a worker's memory), so any bridge
or TypeScript worker on any machine reaches the same decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .conversation import Conversation, Turn, fold_conversation
from .event_log import EventLog
from .snapshots import SnapshotStore, read_conversation

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
    last_seq = int(events[-1]["seq"]) if events else 0
    return decide(fold_conversation(events), events, last_seq, last_stream_seq, turn_no)


def decide(
    conv: Conversation, events: list[dict[str, Any]], last_seq: int, last_stream_seq: int, turn_no: int
) -> TurnState:
    """The decision from a folded conversation and the events it ends with (at least this turn's)."""
    base: dict[str, Any] = {"last_seq": last_seq, "last_stream_seq": last_stream_seq}
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


async def read_turn_state(
    log: EventLog, job: dict[str, Any], snapshots: SnapshotStore | None = None
) -> TurnState:
    """Rebuilds the turn's state from the session's log: its conversation snapshot and the events
    after it when there is a valid one, else every event (as readTurnState in turn-state.ts)."""
    turn_no = int(job.get("turn") or 1)
    read = await read_conversation(log, snapshots, job["tenant"], job["sid"])
    turns = read.conversation.turns
    turn = turns[turn_no - 1] if len(turns) >= turn_no else None
    if turn is not None and turn.outcome is None and read.from_snapshot_seq >= turn.start_seq:
        # The snapshot covers part of this unfinished turn, whose events are needed one by one.
        read = await read_conversation(log, None, job["tenant"], job["sid"])
    return decide(read.conversation, read.events, read.last_seq, read.last_stream_seq, turn_no)
