"""The port between the log protocol (this package) and one agent framework.

An adapter turns what a builder returned into a stream of `Out` items: `Token`s (model text, to
coalesce), `Event`s (a non-token event draft: message, tool_call, tool_result, usage), one
`Finish` (the finish reason of `done`) and `InputRequested` markers (an agent is about to ask the
user: everything yielded before it is written first). Everything else (seq, fencing, coalescing,
restart, cancel, human in the loop, the terminal event) is the core's, written once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .conversation import Turn
from .human import TurnHuman


@dataclass
class Token:
    """A piece of model output text to coalesce."""

    text: str
    agent: str | None


@dataclass
class Event:
    """A non-token event draft (the coalescer is flushed before it)."""

    draft: dict[str, Any]


@dataclass
class Finish:
    """The run ended; `reason` becomes the `done` event's finishReason."""

    reason: str


@dataclass
class InputRequested:
    """An agent is about to ask the user (its input function waits until this was consumed)."""

    request_id: str
    agent: str | None


Out = Token | Event | Finish | InputRequested


@dataclass
class RunContext:
    """What an adapter gets for one run: the job, the conversation before this turn, the way to
    the user, and the abort signal (cancel, timeout, shutdown, fenced: the core's one funnel)."""

    job: dict[str, Any]
    history: list[Turn]
    human: TurnHuman | None
    aborted: asyncio.Event
    _on_abort: list[Callable[[], None]] = field(default_factory=list)

    @property
    def input(self) -> str:
        return str(self.job["input"])

    def on_abort(self, fn: Callable[[], None]) -> None:
        """Runs `fn` when the run is aborted (at once if it already was), e.g. to cancel a token."""
        if self.aborted.is_set():
            fn()
        else:
            self._on_abort.append(fn)

    def fire_abort(self) -> None:
        callbacks, self._on_abort = self._on_abort, []
        for fn in callbacks:
            fn()


class Adapter(Protocol):
    """One framework. `kind` is the pool kind declared in FABRIC_AGENTS (AGENT-POOLS.md)."""

    kind: str

    def accepts(self, runnable: Any) -> bool:
        """Whether this adapter runs what the builder returned (checked without importing the
        framework when it is not installed)."""
        ...

    def stream(self, runnable: Any, ctx: RunContext) -> AsyncIterator[Out]:
        """Runs the turn and yields its items; returns when the run ended. Raising is an agent error."""
        ...


def with_agent(draft: dict[str, Any], agent: str | None) -> dict[str, Any]:
    """Adds `agent` to an event draft when known."""
    if agent:
        draft["agent"] = agent
    return draft


def message_draft(agent: str, text: str, role: str = "assistant") -> dict[str, Any]:
    """A `message` event draft (an agent message boundary)."""
    return {"type": "message", "agent": agent, "text": text, "role": role}


def usage_draft(prompt_tokens: int, completion_tokens: int) -> dict[str, Any] | None:
    """The turn's `usage` event, or None when no model reported usage."""
    if prompt_tokens == 0 and completion_tokens == 0:
        return None
    return {
        "type": "usage",
        "promptTokens": prompt_tokens,
        "completionTokens": completion_tokens,
        "totalTokens": prompt_tokens + completion_tokens,
    }


@contextlib.asynccontextmanager
async def closing_stream(stream: Any) -> AsyncIterator[Any]:
    """Closes a framework's response stream when the adapter's loop is left early (an abort closes
    the adapter's generator with GeneratorExit; without this the framework's stream, and with it
    the model's HTTP request, would stay open until garbage collection runs its finalizer)."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result
