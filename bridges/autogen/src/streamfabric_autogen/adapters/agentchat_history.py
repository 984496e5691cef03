"""The conversation so far, as AutoGen messages: every turn's agents see the earlier turns, rebuilt
from the session's log (so a follow-up works on any bridge, on any machine, after any restart).

A turn becomes `TextMessage(source="user")` with the user's message, then one `TextMessage` per
agent message with the agent's name as `source` (a UserProxyAgent's answers included); the
handoff/stop boundaries (role "system") are left out. The new message is a `TextMessage` from
"user", or, when the previous turn ended with a handoff to the user, a
`HandoffMessage(source="user", target=<the agent that handed off>)`, which is how AutoGen resumes
a Swarm after a `HandoffTermination`.

A team checks its termination condition against the task messages too, so the history would
count towards `MaxMessageTermination` or match a `TextMentionTermination`: `scope_termination`
makes the team's condition see only this turn's message at the start, as on the first turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.conversation import Turn
from .agentchat_mapping import HANDOFF


def handoff_agent(turn: Turn) -> str | None:
    """The agent that handed `turn` back to the user, if it ended that way."""
    if turn.outcome != "done" or turn.finish_reason != HANDOFF:
        return None
    return next((m.agent for m in reversed(turn.messages) if m.role == "system"), None)


def task_messages(history: Sequence[Turn], text: str) -> list[Any]:
    """The task for run_stream: the history's messages, then this turn's message."""
    from autogen_agentchat.messages import HandoffMessage, TextMessage

    out: list[Any] = []
    for t in history:
        if t.user:
            out.append(TextMessage(source="user", content=t.user))
        said = [m for m in t.messages if m.role != "system" and m.text]
        for m in said:
            out.append(TextMessage(source=m.agent or "assistant", content=m.text))
        if not said and t.assistant:
            out.append(TextMessage(source="assistant", content=t.assistant))
    target = handoff_agent(history[-1]) if history else None
    if target:
        out.append(HandoffMessage(source="user", target=target, content=text))
    else:
        out.append(TextMessage(source="user", content=text))
    return out


def scope_termination(runnable: Any, history_messages: int) -> bool:
    """Wraps a team's termination condition so that its first check (the task messages) sees only
    the last `len(task) - history_messages` of them. Returns whether it did (False for a single
    agent, a team without a condition, or nothing to hide)."""
    from autogen_agentchat.base import TerminationCondition

    inner = getattr(runnable, "_termination_condition", None)
    if history_messages <= 0 or not isinstance(inner, TerminationCondition):
        return False
    if getattr(runnable, "_initialized", False):
        return False  # already running once: its manager holds the original condition

    class TurnScoped(TerminationCondition):
        """The user's condition, blind to the history the bridge puts before the task."""

        def __init__(self) -> None:
            self._skip = history_messages

        @property
        def terminated(self) -> bool:
            return inner.terminated

        async def __call__(self, messages: Sequence[Any]) -> Any:
            skip, self._skip = self._skip, 0
            return await inner(list(messages)[skip:])

        async def reset(self) -> None:
            self._skip = history_messages
            await inner.reset()

    runnable._termination_condition = TurnScoped()
    return True
