"""Feeds one turn's events to its SessionWriter in order. `push` is synchronous (the coalescer's
timer and the AutoGen loop both call it, so their order is the call order), one task publishes
serially (each publish names the previous one's stream sequence), and `wait_capacity` is the
backpressure: a model faster than the log waits instead of queueing without bound."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from .session_writer import SessionWriter

#: Most appends allowed in flight before the agent is made to wait (as in run-turn.ts).
MAX_INFLIGHT_APPENDS = 64


class TurnPublisher:
    def __init__(self, writer: SessionWriter, on_error: Callable[[BaseException], None]) -> None:
        self._writer = writer
        self._on_error = on_error
        self._queue: deque[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.error: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def inflight(self) -> int:
        return len(self._queue)

    def push(self, draft: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Queues an event; the future resolves with the stored event (or fails)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.error is not None:
            fut.set_exception(self.error)
            fut.exception()  # mark retrieved: callers that fire and forget must not log noise
            return fut
        self._queue.append((draft, fut))
        if len(self._queue) >= MAX_INFLIGHT_APPENDS:
            self._room.clear()
        self._wake.set()
        return fut

    async def wait_capacity(self) -> None:
        """Returns once fewer than MAX_INFLIGHT_APPENDS events wait (or writing failed)."""
        await self._room.wait()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            draft, fut = self._queue[0]
            try:
                if self.error is not None:
                    raise self.error
                ev = await self._writer.append(draft)
                if not fut.done():
                    fut.set_result(ev)
            except asyncio.CancelledError:
                raise
            except BaseException as err:  # noqa: BLE001 - reported through the funnel
                first = self.error is None
                self.error = self.error or err
                if not fut.done():
                    fut.set_exception(self.error)
                    fut.exception()
                if first:
                    self._on_error(err)
            finally:
                if self._queue and self._queue[0][1] is fut:
                    self._queue.popleft()
                if len(self._queue) < MAX_INFLIGHT_APPENDS:
                    self._room.set()

    async def close(self) -> None:
        """Stops the publishing task (pending events are failed, never half-written)."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        for _, fut in self._queue:
            if not fut.done():
                fut.cancel()
        self._queue.clear()
        self._room.set()
