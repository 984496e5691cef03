"""Token coalescing, with the semantics of services/worker/publish/coalescer.ts: model chunks are
concatenated into fewer `token` events, flushed when `buffer_size` chunks wait, when the oldest
waited `flush_interval_ms`, before any other event, and at the end. Text is never changed or
reordered, and chunks of different agents are never merged (a team's speakers stay apart)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class TokenCoalescer:
    def __init__(
        self, buffer_size: int, flush_interval_ms: int, emit: Callable[[dict[str, Any]], None]
    ) -> None:
        self._size = max(1, buffer_size)
        self._interval = flush_interval_ms / 1000
        self._emit = emit
        self._parts: list[str] = []
        self._agent: str | None = None
        self._timer: asyncio.TimerHandle | None = None

    def push(self, text: str, agent: str | None) -> None:
        """Adds a model chunk; may emit synchronously when the buffer is full."""
        if self._parts and agent != self._agent:
            self.flush()
        self._parts.append(text)
        self._agent = agent
        if len(self._parts) >= self._size or self._interval == 0:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.flush)

    def flush(self) -> None:
        """Emits whatever is buffered as one `token` draft."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._parts:
            return
        draft: dict[str, Any] = {"type": "token", "text": "".join(self._parts)}
        if self._agent is not None:
            draft["agent"] = self._agent
        self._parts = []
        self._emit(draft)

    def dispose(self) -> None:
        """Drops the buffer and the timer (on abort)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._parts = []
