"""Lets an agent ask the user and wait (human in the loop), as services/worker/jobs/input-broker.ts.

The question is an `input_request` event; the answer is an `input` event that a gateway appends to
the log. The log is the channel, so a bridge that dies while waiting is replaced by one that finds
the pending question in the log and keeps waiting instead of asking twice: the k-th question of a
rerun turn is the k-th `input_request` already in the log, and its answer, if given, is returned
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from ..log import Logger
from ..subjects import SEQ_HEADER, live_subject
from .event_log import EventLog
from .publisher import TurnPublisher
from .registry import SessionRegistry
from .session_writer import SessionWriter

#: How often the log itself is checked for the answer, in case a live message was missed.
POLL_S = 1.0


class InputTimeoutError(Exception):
    """The user did not answer in time; the turn ends with an `input_timeout` error."""


class InputBroker:
    def __init__(
        self,
        *,
        nc: Any,
        event_log: EventLog,
        registry: SessionRegistry,
        writer: SessionWriter,
        publisher: TurnPublisher,
        tenant: str,
        turn: int,
        earlier: list[dict[str, Any]],
        default_timeout_ms: int,
        aborted: asyncio.Event,
        on_timeout: Callable[[InputTimeoutError], None],
        log: Logger,
    ) -> None:
        self._nc = nc
        self._event_log = event_log
        self._registry = registry
        self._writer = writer
        self._publisher = publisher
        self._tenant = tenant
        self._turn = turn
        self._earlier = earlier
        self._default_timeout_ms = default_timeout_ms
        self._aborted = aborted
        self._on_timeout = on_timeout
        self._log = log
        self._asked = 0

    async def ask(
        self,
        prompt: str,
        *,
        agent: str | None = None,
        options: list[str] | None = None,
        timeout_ms: int | None = None,
    ) -> str:
        """Asks the user (or finds the same question already asked) and returns the answer."""
        k = self._asked
        self._asked += 1
        asked_before = [e for e in self._earlier if e["type"] == "input_request"]
        if k < len(asked_before):
            # Asked before by a bridge that was lost: do not ask twice.
            previous = asked_before[k]
            request_id = str(previous["requestId"])
            deadline = int(previous.get("deadline") or _now_ms() + self._default_timeout_ms)
            answer = next(
                (e for e in self._earlier if e["type"] == "input" and e.get("requestId") == request_id),
                # Or given while this rerun was on its way back here (the writer adopted it).
                self._writer.adopted.get(request_id),
            )
            if answer is not None:
                return str(answer["text"])
        else:
            request_id = f"{self._writer.sid}.t{self._turn}.q{k + 1}"
            self._writer.expect_answer(request_id)
            deadline = _now_ms() + (timeout_ms or self._default_timeout_ms)
            draft: dict[str, Any] = {
                "type": "input_request",
                "requestId": request_id,
                "prompt": prompt,
                "deadline": deadline,
            }
            if options:
                draft["options"] = list(options)
            if agent:
                draft["agent"] = agent
            await self._publisher.push(draft)
        await self._set_state("waiting_for_input")
        try:
            return await self._wait(request_id, deadline)
        finally:
            await self._set_state("running")

    async def _wait(self, request_id: str, deadline_ms: int) -> str:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def consider(seq: int, stream_seq: int, event: Any) -> None:
            # The answer counts only as the very next event of the log: anything else means another
            # writer took over, and the writer's fencing handles that.
            if answer.done() or seq != self._writer.last_seq + 1 or not isinstance(event, dict):
                return
            if event.get("type") != "input" or event.get("requestId") != request_id:
                return
            self._writer.adopt(seq, stream_seq)
            answer.set_result(str(event.get("text", "")))

        async def on_live(m: Any) -> None:
            h = m.headers or {}
            try:
                consider(int(h.get(SEQ_HEADER, "0")), int(h.get("Nats-Sequence", "0")), json.loads(m.data))
            except ValueError:
                return

        async def poll() -> None:
            # Safety net for a live message missed during a reconnect: look at the log itself.
            while not answer.done():
                try:
                    last = await self._event_log.last(self._tenant, self._writer.sid)
                    if last:
                        consider(int(last.event["seq"]), last.stream_seq, last.event)
                except Exception as err:  # noqa: BLE001 - a broker blip: the next poll tries again
                    self._log.debug("input poll failed", err=repr(err))
                await asyncio.sleep(POLL_S)

        def on_adopted(event: dict[str, Any]) -> None:
            # A write still in flight when we began to wait found the answer and adopted it.
            if not answer.done() and event.get("requestId") == request_id:
                answer.set_result(str(event.get("text", "")))

        unadopt = self._writer.on_adopt(on_adopted)
        if request_id in self._writer.adopted:
            on_adopted(self._writer.adopted[request_id])
        sub = await self._nc.subscribe(live_subject(self._tenant, self._writer.sid), cb=on_live)
        poller = asyncio.create_task(poll())
        aborted = asyncio.create_task(self._aborted.wait())
        try:
            timeout = max(0.0, deadline_ms / 1000 - time.time())
            await asyncio.wait({answer, aborted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if answer.done():
                return answer.result()
            if aborted.done():
                raise asyncio.CancelledError("aborted while waiting for input")
            err = InputTimeoutError(f"no answer to {request_id} before the deadline")
            self._on_timeout(err)
            raise err
        finally:
            unadopt()
            poller.cancel()
            aborted.cancel()
            if not answer.done():
                answer.cancel()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _set_state(self, state: str) -> None:
        try:
            await self._registry.set_state(self._writer.sid, state)
        except Exception as err:  # noqa: BLE001 - the registry is advisory; the log is the truth
            self._log.warn("registry update failed", err=repr(err))


def _now_ms() -> int:
    return int(time.time() * 1000)
