"""Runs one turn of whatever the builder returned, through its framework's adapter, into a
TurnPublisher, stoppable from outside.

Abort reasons (cancel, timeout, input_timeout, shutdown, fenced) are one funnel: the first one
wins, tells the adapter (which aborts the model request: AgentChat's CancellationToken, AG2's
stream, Agent Framework's task) and stops consuming at once, even when the agent is blocked inside
a model call or waiting for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from dataclasses import dataclass
from typing import Any

from ..log import Logger
from .adapter import Event, Finish, InputRequested, RunContext, Token
from .coalescer import TokenCoalescer
from .conversation import Turn
from .factory import Builder, build_runnable
from .human import InputGate, TurnHuman, bound
from .publisher import TurnPublisher
from .session_writer import FencedError, SessionWriter


@dataclass
class Abort:
    kind: str  # cancel | timeout | input_timeout | shutdown | fenced
    reason: str | None = None


@dataclass
class RunOutcome:
    """How the stream ended. Exactly one of: aborted, error, or finished normally."""

    abort: Abort | None
    error: BaseException | None
    finish_reason: str
    tokens: int
    started: float


class AgentRun:
    def __init__(
        self,
        writer: SessionWriter,
        buffer_size: int,
        flush_interval_ms: int,
        log: Logger,
        framework: str | None = None,
    ) -> None:
        self.publisher = TurnPublisher(writer, on_error=self._on_write_error)
        self.coalescer = TokenCoalescer(buffer_size, flush_interval_ms, self._emit_token)
        self.framework = framework
        #: The kind of the adapter that ran the turn (set once the builder returned).
        self.kind: str | None = None
        self.abort_reason: Abort | None = None
        #: Set by the first abort: everything waiting on the user or the log stops.
        self.aborted = asyncio.Event()
        self.gate = InputGate(self.aborted)
        self._ctx: RunContext | None = None
        self._log = log

    def _emit_token(self, draft: dict[str, Any]) -> None:
        self.publisher.push(draft)

    def _on_write_error(self, err: BaseException) -> None:
        # Fenced: another writer owns the log, stop. Anything else (the broker stayed away past
        # the retry window): stop without a terminal event and leave the job for redelivery.
        self.abort("fenced" if isinstance(err, FencedError) else "shutdown")

    def abort(self, kind: str, reason: str | None = None) -> None:
        """The one funnel for every reason to stop; the first reason is kept."""
        if self.abort_reason is None:
            self.abort_reason = Abort(kind, reason)
        self.aborted.set()
        if self._ctx is not None:
            self._ctx.fire_abort()

    async def run(
        self,
        builder: Builder,
        job: dict[str, Any],
        timeout_ms: int,
        history: list[Turn] | None = None,
        human: TurnHuman | None = None,
    ) -> RunOutcome:
        """Builds the agent or team for `job` and streams its run on the conversation so far."""
        started = time.monotonic()
        state = {"tokens": 0, "finish": "stop"}

        async def consume() -> None:
            with bound(human) if human else contextlib.nullcontext():
                await stream_run()

        async def stream_run() -> None:
            runnable, adapter = await build_runnable(builder, job, self.framework)
            self.kind = adapter.kind
            ctx = RunContext(job=job, history=history or [], human=human, aborted=self.aborted)
            self._ctx = ctx
            # aclosing: a run left early (abort) stops its framework at once, not at garbage collection.
            async with contextlib.aclosing(adapter.stream(runnable, ctx)) as items:
                async for out in items:
                    if self.abort_reason is not None:
                        break
                    if isinstance(out, Token):
                        state["tokens"] += 1
                        self.coalescer.push(out.text, out.agent)
                        # Backpressure: a model faster than the log waits here.
                        await self.publisher.wait_capacity()
                    elif isinstance(out, Event):
                        self.coalescer.flush()
                        self.publisher.push(out.draft)
                    elif isinstance(out, Finish):
                        state["finish"] = out.reason
                    elif isinstance(out, InputRequested):
                        # What was said before the question is handed to the writer first.
                        self.coalescer.flush()
                        self.gate.mark(out.request_id)

        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout_ms / 1000, self.abort, "timeout")
        task = asyncio.create_task(consume())
        waiter = asyncio.create_task(self.aborted.wait())
        error: BaseException | None = None
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if self.abort_reason is None:
                    raise  # we ourselves are being cancelled
            except Exception as err:  # noqa: BLE001 - the agent's failure becomes an error event
                if self.abort_reason is None:
                    # The details stay in the log (with the session id); the client gets a short
                    # typed message (turn_end.py).
                    self._log.error(
                        "agent failed",
                        framework=self.kind,
                        err=repr(err),
                        stack="".join(traceback.format_exception(err)),
                    )
                    error = err
        finally:
            timer.cancel()
            waiter.cancel()
        return RunOutcome(
            abort=self.abort_reason,
            error=error,
            finish_reason=state["finish"],
            tokens=state["tokens"],
            started=started,
        )
