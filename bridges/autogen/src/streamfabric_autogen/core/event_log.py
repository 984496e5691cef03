"""Reads a session's log the way shared/nats/event-log.ts does: direct gets (no consumer is created
on the server), the subject's last message for `last()`, and batched `next_by_subj` direct gets
for `read_all()`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from nats.js.errors import NotFoundError

from ..subjects import WRITER_HEADER, events_stream, events_subject

#: Messages asked for per batch direct get (as readAfter in event-log.ts).
READ_BATCH = 512


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its stream position and its JSON body."""

    stream_seq: int
    event: dict[str, Any]
    #: The Sf-Writer header of the write (worker id + delivery), when read with `last()`.
    writer: str = ""


def _is_event(value: Any) -> bool:
    """Cheap shape check of a stored event (the writers validated it against the schema)."""
    return (
        isinstance(value, dict) and isinstance(value.get("type"), str) and isinstance(value.get("seq"), int)
    )


class EventLog:
    """Read side of the EVENTS stream."""

    def __init__(self, js: Any) -> None:
        self._jsm = js._jsm if hasattr(js, "_jsm") else js
        self._nc = self._jsm._nc

    async def last(self, tenant: str, sid: str, from_leader: bool = False) -> StoredEvent | None:
        """The last event of a session, or None when the session has no stored events. A direct
        get by default, which any replica of an R3 stream may answer from slightly behind;
        `from_leader` asks the stream leader (STREAM.MSG.GET), never stale: for decisions a stale
        read would get wrong (as `fromLeader` in event-log.ts)."""
        try:
            m = await self._jsm.get_last_msg(
                events_stream(sid), events_subject(tenant, sid), direct=not from_leader
            )
        except NotFoundError:
            return None
        if m is None or not m.data:
            return None
        writer = str((m.headers or {}).get(WRITER_HEADER, ""))
        return StoredEvent(stream_seq=int(m.seq), event=json.loads(m.data), writer=writer)

    async def read_all(self, tenant: str, sid: str, timeout: float = 5.0) -> tuple[list[dict[str, Any]], int]:
        """Every stored event of a session in order, and the stream sequence of the last one (0 when
        the log is empty): what a new writer needs to rebuild the conversation and to fence."""
        events: list[dict[str, Any]] = []
        last_stream_seq = 0
        for stream_seq, ev in await self.read_from(tenant, sid, 1, timeout):
            last_stream_seq = stream_seq
            if ev is not None:
                events.append(ev)
        return events, last_stream_seq

    async def read_from(
        self, tenant: str, sid: str, from_stream_seq: int, timeout: float = 5.0
    ) -> list[tuple[int, dict[str, Any] | None]]:
        """The session's stored messages from stream position `from_stream_seq` on, in order, as
        (stream seq, event) with None for bytes that are not an event (nothing is skipped, so a
        snapshot's anchor stays checkable); as readAfter's `fromStreamSeq` in event-log.ts."""
        out: list[tuple[int, dict[str, Any] | None]] = []
        subject = events_subject(tenant, sid)
        start = from_stream_seq
        while True:
            got, pending = await self._batch(events_stream(sid), subject, start, timeout)
            for stream_seq, data in got:
                try:
                    ev = json.loads(data)
                except ValueError:
                    ev = None
                out.append((stream_seq, ev if _is_event(ev) else None))
            if not got or pending <= 0:
                return out
            start = got[-1][0] + 1

    async def read_after(self, tenant: str, sid: str, stream_seq: int, timeout: float = 5.0) -> list[StoredEvent]:
        """The session's stored events after stream position `stream_seq`, in order."""
        out: list[StoredEvent] = []
        subject = events_subject(tenant, sid)
        start = stream_seq + 1
        while True:
            got, pending = await self._batch(events_stream(sid), subject, start, timeout)
            for pos, data in got:
                try:
                    ev = json.loads(data)
                except ValueError:
                    ev = None
                # An unreadable entry is kept (as a non-event) so a caller never skips over it.
                out.append(StoredEvent(stream_seq=pos, event=ev if _is_event(ev) else {}))
            if not got or pending <= 0:
                return out
            start = got[-1][0] + 1

    async def _batch(self, stream: str, subject: str, start: int, timeout: float) -> tuple[list[tuple[int, bytes]], int]:
        """One batched direct get: up to READ_BATCH messages of `subject` from stream seq `start`,
        ended by the server's 204 EOB (404 when nothing matches). Returns them and how many more
        of the subject follow the last one."""
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox)
        out: list[tuple[int, bytes]] = []
        pending = 0
        try:
            req = {"seq": start, "batch": READ_BATCH, "next_by_subj": subject}
            await self._nc.publish(
                f"$JS.API.DIRECT.GET.{stream}", json.dumps(req).encode(), reply=inbox
            )
            while True:
                m = await asyncio.wait_for(sub.next_msg(timeout=timeout), timeout + 1)
                headers = m.headers or {}
                status = headers.get("Status")
                if status == "404":
                    return out, 0
                if status == "204":
                    return out, pending
                if status:
                    raise RuntimeError(f"direct get of {subject} failed: {status} {headers}")
                out.append((int(headers["Nats-Sequence"]), m.data))
                pending = int(headers.get("Nats-Num-Pending", "0"))
        finally:
            await sub.unsubscribe()
