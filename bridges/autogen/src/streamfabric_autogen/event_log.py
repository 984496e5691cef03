"""Reads a session's log the way shared/nats/event-log.ts does: a direct get of the subject's last
message (no consumer is created on the server)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nats.js.errors import NotFoundError

from .subjects import EVENTS_STREAM, events_subject


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its stream position and its JSON body."""

    stream_seq: int
    event: dict[str, Any]


class EventLog:
    """Read side of the EVENTS stream."""

    def __init__(self, js: Any) -> None:
        self._jsm = js._jsm if hasattr(js, "_jsm") else js

    async def last(self, tenant: str, sid: str) -> StoredEvent | None:
        """The last event of a session, or None when the session has no stored events."""
        try:
            m = await self._jsm.get_last_msg(EVENTS_STREAM, events_subject(tenant, sid), direct=True)
        except NotFoundError:
            return None
        if m is None or not m.data:
            return None
        return StoredEvent(stream_seq=int(m.seq), event=json.loads(m.data))
