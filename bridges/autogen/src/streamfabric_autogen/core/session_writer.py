"""The single writer of a session's log, with the same wire contract as
services/worker/publish/session-writer.ts: contiguous `seq`, `Nats-Msg-Id = <sid>:<seq>` (a retried
publish is stored once), `Nats-Expected-Last-Subject-Sequence` (optimistic concurrency: a zombie
writer is fenced), and the Sf-Seq / Sf-Ts / Sf-Writer headers the gateways read."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import nats.errors
import nats.js.errors

from ..schemas import validate_event
from ..subjects import SEQ_HEADER, TS_HEADER, WRITER_HEADER, event_msg_id, events_subject
from .event_log import EventLog

#: JetStream's error codes for a failed `Nats-Expected-Last-Subject-Sequence` check.
WRONG_LAST_SEQUENCE = (10071, 10164)


class FencedError(Exception):
    """Another writer took the session over: this writer must stop (it is a zombie)."""

    def __init__(self, sid: str, seq: int) -> None:
        super().__init__(f"session {sid}: another writer owns the log (write of seq {seq} refused)")
        self.sid = sid
        self.seq = seq


def _is_wrong_last_sequence(err: BaseException) -> bool:
    return getattr(err, "err_code", None) in WRONG_LAST_SEQUENCE or "wrong last sequence" in str(err)


def _is_transient(err: BaseException) -> bool:
    """Broker outages worth retrying: the msg id and the expected sequence make retries safe."""
    if _is_wrong_last_sequence(err):
        return False
    if isinstance(
        err,
        (
            asyncio.TimeoutError,
            nats.errors.TimeoutError,
            nats.errors.NoRespondersError,
            nats.js.errors.NoStreamResponseError,
            nats.errors.ConnectionReconnectingError,
            nats.errors.StaleConnectionError,
            nats.errors.OutboundBufferLimitError,
        ),
    ):
        return True
    if isinstance(err, nats.js.errors.ServiceUnavailableError):
        return True
    return False


class SessionWriter:
    """Appends events to one session's subject. Callers must serialise `append` calls (the
    TurnPublisher does): each publish names the stream sequence of the previous one."""

    def __init__(
        self,
        js: Any,
        log: EventLog,
        tenant: str,
        sid: str,
        writer_id: str,
        attempt: int,
        last_seq: int,
        last_stream_seq: int,
        retry_for_s: float = 60.0,
        validate: bool = True,
    ) -> None:
        self._js = js
        self._log = log
        self._tenant = tenant
        self.sid = sid
        self._writer_id = writer_id
        self.attempt = attempt
        self._seq = last_seq
        self._last_stream_seq = last_stream_seq
        self._retry_for_s = retry_for_s
        self._validate = validate
        self._subject = events_subject(tenant, sid)
        self._fenced: FencedError | None = None
        #: Questions of this turn whose answer (a gateway's `input`) may land between our writes.
        self._expected_answers: set[str] = set()
        #: Answers adopted by `append` (requestId -> the `input` event), for the input broker.
        self.adopted: dict[str, dict[str, Any]] = {}
        self._adopt_listeners: list[Callable[[dict[str, Any]], None]] = []

    @property
    def last_seq(self) -> int:
        """The seq of the last event written (or found in the log when the writer was created)."""
        return self._seq

    @property
    def is_fenced(self) -> bool:
        return self._fenced is not None

    async def append(self, draft: dict[str, Any]) -> dict[str, Any]:
        """Stamps the draft with sid/seq/ts/attempt, validates it against the protocol schema and
        publishes it; returns the stored event once JetStream acknowledged it."""
        while True:
            if self._fenced:
                raise self._fenced
            seq = self._seq + 1
            event = {
                **draft,
                "sid": self.sid,
                "seq": seq,
                "ts": int(time.time() * 1000),
                "attempt": self.attempt,
                # The fencing position doubles as the resume hint clients send back (`prevPos`).
                "prevPos": self._last_stream_seq,
            }
            if self._validate:
                validate_event(event)
            headers = {
                "Nats-Msg-Id": event_msg_id(self.sid, seq, self._writer_id),
                "Nats-Expected-Last-Subject-Sequence": str(self._last_stream_seq),
                SEQ_HEADER: str(seq),
                WRITER_HEADER: self._writer_id,
                TS_HEADER: str(event["ts"]),
            }
            payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
            try:
                ack = await self._publish_with_retry(payload, headers)
            except Exception as err:  # noqa: BLE001 - classified below
                if not _is_wrong_last_sequence(err):
                    raise
                # Either our own earlier try of this very publish was stored (its ack got lost), or
                # the log moved on. Ours to accept: that stored try (told by the writer id, worker +
                # delivery, which is unique, unlike `attempt`, which two late deliveries can compute
                # alike; read from the leader: a replica may not have it yet), or the user's answer
                # to one of this turn's questions, which a gateway appends whenever the user gives it.
                last = await self._log.last(self._tenant, self.sid, from_leader=True)
                if last and last.event.get("seq") == seq and last.writer == self._writer_id:
                    self._seq = seq
                    self._last_stream_seq = last.stream_seq
                    return last.event
                if await self._adopt_answers(seq - 1):
                    continue  # written again, after the answers
                self._fenced = FencedError(self.sid, seq)
                raise self._fenced from err
            self._seq = seq
            self._last_stream_seq = ack.seq
            return event

    def expect_answer(self, request_id: str) -> None:
        """A question of this turn: a gateway's `input` answering it is not a rival writer."""
        self._expected_answers.add(request_id)

    def on_adopt(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Calls `listener` with each `input` event `append` adopts; returns the unsubscribe."""
        self._adopt_listeners.append(listener)
        return lambda: self._adopt_listeners.remove(listener)

    async def _adopt_answers(self, position: int) -> bool:
        """After a refused write that assumed the log ended at `position`: if everything after our
        position is `input` events answering this turn's questions, in seq order, takes them as ours
        (the log's new end) and says so. `position` is the refused write's, not `self._seq`: the
        input broker may have adopted the answer (`adopt`) while that write was in flight, and then
        the position has moved with nothing left to read, which means the same: write again."""
        after = await self._log.read_after(self._tenant, self.sid, self._last_stream_seq)
        # The input broker may have taken the answer it waits for meanwhile (writer.adopt): skip
        # what is already ours. Nothing left but a moved position means: write again after it.
        after = [e for e in after if e.stream_seq > self._last_stream_seq]
        if not after:
            return self._seq > position
        for i, stored in enumerate(after):
            ev = stored.event
            if (
                ev.get("type") != "input"
                or ev.get("seq") != self._seq + 1 + i
                or ev.get("requestId") not in self._expected_answers
            ):
                return False
        for stored in after:
            self._seq = int(stored.event["seq"])
            self._last_stream_seq = stored.stream_seq
            self.adopted[str(stored.event["requestId"])] = stored.event
            for listener in list(self._adopt_listeners):
                listener(stored.event)
        return True

    def adopt(self, seq: int, stream_seq: int) -> None:
        """Takes an event another writer appended in our turn (the gateway's `input`, the user's
        answer to our `input_request`) as the new end of the log, so the next append follows it."""
        if seq != self._seq + 1:
            raise ValueError(f"adopt: seq {seq} does not follow {self._seq}")
        self._seq = seq
        self._last_stream_seq = stream_seq

    async def _publish_with_retry(self, payload: bytes, headers: dict[str, str]) -> Any:
        deadline = time.monotonic() + self._retry_for_s
        attempt = 0
        while True:
            try:
                return await self._js.publish(self._subject, payload, timeout=5.0, headers=dict(headers))
            except Exception as err:  # noqa: BLE001 - transient ones are retried
                if not _is_transient(err) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
                attempt += 1
