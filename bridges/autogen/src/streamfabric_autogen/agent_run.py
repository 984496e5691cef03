"""Runs one AutoGen `run_stream` and streams it into a TurnPublisher, stoppable from outside.

Abort reasons (cancel, timeout, shutdown, fenced) are one funnel: the first one wins, cancels the
AutoGen CancellationToken (which aborts the model request) and stops consuming at once, even when
the agent is blocked inside a model call.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from autogen_core import CancellationToken

from .coalescer import TokenCoalescer
from .factory import Builder, build_runnable
from .log import Logger
from .mapping import AutoGenMapper, Event, Finish, Token
from .publisher import TurnPublisher
from .session_writer import FencedError, SessionWriter


@dataclass
class Abort:
    kind: str  # cancel | timeout | shutdown | fenced
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
    def __init__(self, writer: SessionWriter, buffer_size: int, flush_interval_ms: int, log: Logger) -> None:
        self.publisher = TurnPublisher(writer, on_error=self._on_write_error)
        self.coalescer = TokenCoalescer(buffer_size, flush_interval_ms, self._emit_token)
        self.token = CancellationToken()
        self.abort_reason: Abort | None = None
        self._aborted = asyncio.Event()
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
        self.token.cancel()
        self._aborted.set()

    async def run(self, builder: Builder, job: dict[str, Any], timeout_ms: int) -> RunOutcome:
        started = time.monotonic()
        mapper = AutoGenMapper(job["input"])
        state = {"tokens": 0, "finish": "stop"}

        async def consume() -> None:
            runnable = await build_runnable(builder, job)
            stream = runnable.run_stream(task=job["input"], cancellation_token=self.token)
            async for item in stream:
                if self.abort_reason is not None:
                    break
                for out in mapper.map(item):
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

        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout_ms / 1000, self.abort, "timeout")
        task = asyncio.create_task(consume())
        waiter = asyncio.create_task(self._aborted.wait())
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
                    self._log.error("agent failed", err=repr(err))
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
