"""The session registry (KV bucket `fabric_sessions`), written like shared/nats/session-registry.ts:
read-modify-write with compare-and-set on the revision, retried on conflicts, so a gateway's
cancel flag and a worker's state change never overwrite each other. An update first tries the last
revision this process read or wrote (a turn: one read, then one write per state change); a stale
one costs only the refused write and the re-read that was always there."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from ..schemas import load_schema
from ..subjects import (
    all_partitions,
    layouts_to_search,
    note_session_layout,
    session_partitions,
    sessions_bucket,
)

Record = dict[str, Any]

#: Most sessions whose last seen revision is kept.
KNOWN_REVISIONS = 8192


class SessionRegistry:
    """State transitions of sessions (never per token)."""

    def __init__(self, buckets: dict[str, Any], js: Any = None) -> None:
        #: One bucket per partition (docs/partitions.md), by name; others are opened on first use.
        self._buckets = buckets
        self._js = js
        self._schema = Draft202012Validator(load_schema("session-record"))
        #: sid -> (record, revision) last read or written here; insertion order is eviction order.
        self._known: dict[str, tuple[Record, int]] = {}

    @classmethod
    async def open(cls, js: Any) -> SessionRegistry:
        buckets: dict[str, Any] = {}
        for p in all_partitions():
            name = str(p["sessionsBucket"])
            buckets[name] = await js.key_value(name)
        return cls(buckets, js)

    async def _find(self, sid: str) -> tuple[Any, Any] | None:
        """The session's bucket and entry: its known layout, then the current, then earlier ones."""
        seen: set[str] = set()
        for p in [session_partitions(sid), *layouts_to_search()]:
            name = sessions_bucket(sid, p)
            if name in seen:
                continue
            seen.add(name)
            kv = await self._kv(name)
            try:
                e = await kv.get(sid)
            except (KeyNotFoundError, KeyDeletedError):
                continue
            if e is None or not e.value:
                continue
            note_session_layout(sid, p)
            return kv, e
        return None

    async def _kv(self, name: str) -> Any:
        kv = self._buckets.get(name)
        if kv is None:
            kv = await self._js.key_value(name)
            self._buckets[name] = kv
        return kv

    async def locate(self, sid: str) -> None:
        """Finds the layout a session lives under (no-op while one layout was ever recorded)."""
        if len(layouts_to_search()) > 1:
            await self._find(sid)

    async def _entry(self, sid: str) -> tuple[Record, int] | None:
        found = await self._find(sid)
        if found is None:
            return None
        e = found[1]
        try:
            rec = json.loads(e.value)
        except ValueError:
            return None
        if not self._schema.is_valid(rec):
            return None
        return rec, e.revision

    async def get(self, sid: str) -> Record | None:
        e = await self._entry(sid)
        if e is None:
            return None
        self._remember(sid, *e)
        return e[0]

    def _remember(self, sid: str, rec: Record, revision: int) -> None:
        self._known.pop(sid, None)
        self._known[sid] = (rec, revision)
        if len(self._known) > KNOWN_REVISIONS:
            del self._known[next(iter(self._known))]

    async def _write(
        self, sid: str, rec: Record, revision: int, change: Callable[[Record], Record]
    ) -> Record:
        """One compare-and-set write of `change(rec)`; raises KeyWrongLastSequenceError if stale."""
        nxt = {**change(rec), "updatedAt": int(time.time() * 1000)}
        # The session's layout was noted when it was read: its bucket is sessions_bucket(sid).
        kv = await self._kv(sessions_bucket(sid))
        new_revision = await kv.update(sid, json.dumps(nxt, separators=(",", ":")).encode(), last=revision)
        self._remember(sid, nxt, int(new_revision))
        return nxt

    async def update(self, sid: str, change: Callable[[Record], Record]) -> Record | None:
        known = self._known.pop(sid, None)
        if known is not None:
            try:
                return await self._write(sid, *known, change)
            except KeyWrongLastSequenceError:
                pass
        for _ in range(10):
            e = await self._entry(sid)
            if e is None:
                return None
            try:
                return await self._write(sid, *e, change)
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"session {sid}: too many concurrent registry updates")

    async def set_state(self, sid: str, state: str, **extra: Any) -> Record | None:
        return await self.update(sid, lambda r: {**r, **extra, "state": state})
