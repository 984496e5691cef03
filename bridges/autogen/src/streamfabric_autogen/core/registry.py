"""The session registry (KV bucket `fabric_sessions`), written like shared/nats/session-registry.ts:
read-modify-write with compare-and-set on the revision, retried on conflicts, so a gateway's
cancel flag and a worker's state change never overwrite each other."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from ..schemas import load_schema
from ..subjects import SESSIONS_BUCKET

Record = dict[str, Any]


class SessionRegistry:
    """State transitions of sessions (never per token)."""

    def __init__(self, kv: Any) -> None:
        self._kv = kv
        self._schema = Draft202012Validator(load_schema("session-record"))

    @classmethod
    async def open(cls, js: Any) -> SessionRegistry:
        return cls(await js.key_value(SESSIONS_BUCKET))

    async def _entry(self, sid: str) -> tuple[Record, int] | None:
        try:
            e = await self._kv.get(sid)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if e is None or not e.value:
            return None
        try:
            rec = json.loads(e.value)
        except ValueError:
            return None
        if not self._schema.is_valid(rec):
            return None
        return rec, e.revision

    async def get(self, sid: str) -> Record | None:
        e = await self._entry(sid)
        return e[0] if e else None

    async def update(self, sid: str, change: Callable[[Record], Record]) -> Record | None:
        for _ in range(10):
            e = await self._entry(sid)
            if e is None:
                return None
            rec, revision = e
            nxt = {**change(rec), "updatedAt": int(time.time() * 1000)}
            try:
                await self._kv.update(sid, json.dumps(nxt, separators=(",", ":")).encode(), last=revision)
                return nxt
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"session {sid}: too many concurrent registry updates")

    async def set_state(self, sid: str, state: str, **extra: Any) -> Record | None:
        return await self.update(sid, lambda r: {**r, **extra, "state": state})
