"""The running turn's way to the user (human in the loop), for every adapter.

An adapter's input hook (AgentChat's `user_proxy()` / `input_func()`, AG2's human input, ...)
calls `current_human().ask(...)`: the bridge writes an `input_request` to the session and waits,
durably, for the `input` event a gateway appends when the client answers (input_broker.py). The
InputGate keeps the question in order with what the agents said before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .input_broker import InputBroker

__all__ = ["InputGate", "TurnHuman", "bound", "current_human"]

#: Longest an input function waits for the bridge to reach its UserInputRequestedEvent.
GATE_TIMEOUT_S = 10.0


class InputGate:
    """Keeps the question in order with what was said before it.

    A UserProxyAgent yields `UserInputRequestedEvent` and then calls its input function; in a team
    the event travels through AutoGen's runtime, so the input function may run before the bridge
    has written the messages that precede the question. The input function therefore waits until
    the bridge has consumed that event (and so everything before it)."""

    def __init__(self, aborted: asyncio.Event) -> None:
        self._aborted = aborted
        self._seen: dict[str, asyncio.Event] = {}

    def _event(self, request_id: str) -> asyncio.Event:
        return self._seen.setdefault(request_id, asyncio.Event())

    def mark(self, request_id: str) -> None:
        """The bridge consumed the UserInputRequestedEvent with this id."""
        self._event(request_id).set()

    async def wait(self, request_id: str, timeout_s: float = GATE_TIMEOUT_S) -> None:
        """Returns once the event was consumed, or after `timeout_s` (a proxy whose events do not
        reach the stream, e.g. inside a nested team, asks anyway rather than hang)."""
        seen = asyncio.create_task(self._event(request_id).wait())
        aborted = asyncio.create_task(self._aborted.wait())
        try:
            await asyncio.wait({seen, aborted}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            seen.cancel()
            aborted.cancel()
        if self._aborted.is_set():
            raise asyncio.CancelledError("the turn stopped before the question was asked")


class TurnHuman:
    """The running turn's way to the user (one per job delivery)."""

    def __init__(self, broker: InputBroker, gate: InputGate, flush: Callable[[], None]) -> None:
        self.broker = broker
        self.gate = gate
        self._flush = flush

    async def ask(
        self,
        prompt: str,
        *,
        agent: str | None = None,
        options: list[str] | None = None,
        timeout_ms: int | None = None,
        request_id: str | None = None,
    ) -> str:
        """Asks the user; with `request_id`, first waits until the bridge consumed the adapter's
        InputRequested marker of that id (everything said before the question is written first)."""
        if request_id is not None:
            await self.gate.wait(request_id)
        self._flush()  # the question follows everything said before it
        return await self.broker.ask(prompt, agent=agent, options=options, timeout_ms=timeout_ms)


_current: ContextVar[TurnHuman | None] = ContextVar("streamfabric_turn_human", default=None)


@contextmanager
def bound(human: TurnHuman) -> Iterator[None]:
    """Makes `human` the current turn's for the code run inside (the bridge's use)."""
    token = _current.set(human)
    try:
        yield
    finally:
        _current.reset(token)


def current_human() -> TurnHuman:
    """The running turn's way to the user; only valid while the bridge runs a job (in a builder)."""
    human = _current.get()
    if human is None:
        raise RuntimeError(
            "streamfabric_autogen.user_proxy()/input_func() must be called while the bridge runs a "
            "job: call it inside your builder"
        )
    return human
