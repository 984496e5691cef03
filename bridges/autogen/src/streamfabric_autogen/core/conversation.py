"""What a session's log means, folded into turns: a port of shared/protocol/conversation.ts (the
one definition, used by workers, gateways and clients), with the two facts the bridge needs on
top: each message's `role`, and how a turn ended (`finish_reason`), to tell a handoff to the user.

A turn starts at a `user_message`; a `restart` in rerun mode discards the attempt's text and
messages; an `input_request` / `input` pair is a question asked within the turn and its answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = {"done", "error", "cancelled"}


@dataclass
class InputExchange:
    """A question an agent asked the user within a turn, and the answer once given."""

    request_id: str
    prompt: str
    seq: int
    agent: str | None = None
    options: list[str] | None = None
    deadline: int | None = None
    answer: str | None = None


@dataclass
class Message:
    """A complete agent message (`message` event)."""

    agent: str
    text: str
    role: str = "assistant"


@dataclass
class Turn:
    """One turn: the user's message and everything the agents produced for it."""

    turn: int
    user: str
    start_seq: int
    #: Streamed text of the current attempt.
    assistant: str = ""
    messages: list[Message] = field(default_factory=list)
    inputs: list[InputExchange] = field(default_factory=list)
    outcome: str | None = None
    #: The `done` event's finishReason ("handoff" when the agents handed the turn back to the user).
    finish_reason: str | None = None


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    last_seq: int = 0


def _current(c: Conversation, ev: dict[str, Any]) -> Turn:
    t = c.turns[-1] if c.turns else None
    if t is None or t.outcome is not None:
        # Output with no user_message before it (a log written by an older producer): open a turn.
        t = Turn(turn=len(c.turns) + 1, user="", start_seq=0)
        c.turns.append(t)
    return t


def apply_event(c: Conversation, ev: dict[str, Any]) -> Conversation:
    """Applies one event (mutates and returns the conversation), exactly as applyEvent does."""
    c.last_seq = int(ev["seq"])
    kind = ev["type"]
    if kind == "user_message":
        c.turns.append(Turn(turn=len(c.turns) + 1, user=str(ev.get("text", "")), start_seq=int(ev["seq"])))
        return c
    t = _current(c, ev)
    if kind == "token":
        t.assistant += str(ev.get("text", ""))
    elif kind == "message":
        t.messages.append(
            Message(str(ev.get("agent", "")), str(ev.get("text", "")), ev.get("role", "assistant"))
        )
    elif kind == "restart":
        if ev.get("mode") == "rerun":
            t.assistant = ""
            t.messages = []
    elif kind == "input_request":
        t.inputs.append(
            InputExchange(
                request_id=str(ev["requestId"]),
                prompt=str(ev.get("prompt", "")),
                seq=int(ev["seq"]),
                agent=ev.get("agent"),
                options=ev.get("options"),
                deadline=ev.get("deadline"),
            )
        )
    elif kind == "input":
        for q in t.inputs:
            if q.request_id == ev.get("requestId"):
                q.answer = str(ev.get("text", ""))
                break
    elif kind in TERMINAL:
        t.outcome = kind
        if kind == "done":
            t.finish_reason = ev.get("finishReason")
    return c


def fold_conversation(events: Iterable[dict[str, Any]]) -> Conversation:
    """Folds a whole log."""
    c = Conversation()
    for ev in events:
        apply_event(c, ev)
    return c


def pending_input(c: Conversation) -> InputExchange | None:
    """The unanswered question of the last turn, if the conversation is waiting for the user."""
    t = c.turns[-1] if c.turns else None
    if t is None or t.outcome is not None:
        return None
    return next((q for q in t.inputs if q.answer is None), None)


def assistant_text(t: Turn) -> str:
    """The text the agents said in a turn: their complete messages if any, else the streamed text."""
    return "\n".join(m.text for m in t.messages) if t.messages else t.assistant


def estimate_tokens(turns: list[Turn], text: str) -> int:
    """Rough token estimate (4 characters per token), as estimateTokens in conversation.ts."""
    chars = len(text) + sum(len(t.user) + len(assistant_text(t)) for t in turns)
    return math.ceil(chars / 4)


def trim_history(turns: list[Turn], text: str, max_tokens: int) -> list[Turn] | None:
    """The history a turn gives its agents under MAX_HISTORY_TOKENS, as trimHistory in
    conversation.ts: the most recent whole turns that fit with the new input, oldest dropped first
    (the log and the snapshot keep every turn). None when the input alone does not fit."""
    if estimate_tokens([], text) > max_tokens:
        return None
    start = 0
    while start < len(turns) and estimate_tokens(turns[start:], text) > max_tokens:
        start += 1
    return turns[start:]
