"""Human in the loop for builders: a `UserProxyAgent` (or any code that needs an answer from the
user) whose input comes from the StreamFabric client instead of a console.

    from streamfabric_autogen import user_proxy

    def build(job):
        guide = AssistantAgent("guide", model_client=..., model_client_stream=True)
        return RoundRobinGroupChat([guide, user_proxy("customer")], termination_condition=...)

When the proxy speaks, the bridge writes an `input_request` {prompt, agent: "customer"} to the
session and waits, durably, for the `input` event a gateway appends when the client answers (an
`input` frame on any gateway). A bridge lost while waiting is replaced by one that finds the
question in the log and keeps waiting instead of asking twice; no answer before the deadline
(INPUT_TIMEOUT_MS) ends the turn with an `input_timeout` error.

`user_proxy()` and `input_func()` bind to the job being built, so call them inside the builder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .input_broker import InputBroker

__all__ = ["InputGate", "TurnHuman", "input_func", "user_proxy"]

AsyncInputFunc = Callable[[str, Any], Awaitable[str]]

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
    ) -> str:
        request_id = _autogen_request_id()
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


def _turn() -> TurnHuman:
    human = _current.get()
    if human is None:
        raise RuntimeError(
            "streamfabric_autogen.user_proxy()/input_func() must be called while the bridge runs a "
            "job: call it inside your builder"
        )
    return human


def _autogen_request_id() -> str | None:
    """The id of the UserInputRequestedEvent a UserProxyAgent emitted before calling us, if any."""
    try:
        from autogen_agentchat.agents import UserProxyAgent

        return UserProxyAgent.InputRequestContext.request_id()
    except (ImportError, AttributeError, RuntimeError):
        return None


def input_func(
    agent: str | None = None, *, options: list[str] | None = None, timeout_ms: int | None = None
) -> AsyncInputFunc:
    """An async `input_func(prompt, cancellation_token)` for AutoGen that asks the session's user.

    `agent` names the asker in the `input_request`; `options` are offered answers; `timeout_ms`
    overrides INPUT_TIMEOUT_MS. Use it for your own UserProxyAgent (subclass) or call it from a tool.
    """
    human = _turn()

    async def ask(prompt: str, cancellation_token: Any = None) -> str:
        task = asyncio.ensure_future(human.ask(prompt, agent=agent, options=options, timeout_ms=timeout_ms))
        if cancellation_token is not None:
            cancellation_token.link_future(task)
        return await task

    return ask


def user_proxy(name: str, *, description: str = "A human user", **kwargs: Any) -> Any:
    """An AutoGen `UserProxyAgent` named `name` whose input is the session user's answer (see the
    module docs). Extra keyword arguments go to `input_func` (`options`, `timeout_ms`)."""
    from autogen_agentchat.agents import UserProxyAgent

    return UserProxyAgent(name, description=description, input_func=input_func(name, **kwargs))
