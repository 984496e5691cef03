"""Conversation snapshots (docs/conversations.md), read and written exactly as
shared/nats/conversation-snapshots.ts does, in the same KV bucket and the same JSON form, so a turn
run by the bridge continues from a snapshot a TypeScript worker wrote and the reverse.

A snapshot is the folded conversation up to event `seq`, stored at `streamSeq` of the EVENTS
stream. It is used only when the log provably continues it: the stored message at `streamSeq` is
event `seq` of this session and the tail follows it seq by seq; anything else (missing, corrupt,
foreign, newer than the log, a rewritten log) means the whole log is read. Never wrong, at worst slow.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError

from ..schemas import load_schema
from ..subjects import all_partitions, snapshot_key, snapshots_bucket
from .conversation import Conversation, InputExchange, Message, Turn, apply_event
from .event_log import EventLog

SNAPSHOT_VERSION = 1


def conversation_to_json(c: Conversation) -> dict[str, Any]:
    """The JSON form of a conversation (the `Conversation` of shared/protocol/conversation.ts)."""

    def exchange(q: InputExchange) -> dict[str, Any]:
        d: dict[str, Any] = {"requestId": q.request_id, "prompt": q.prompt}
        if q.options is not None:
            d["options"] = q.options
        if q.deadline is not None:
            d["deadline"] = q.deadline
        if q.agent:
            d["agent"] = q.agent
        if q.answer is not None:
            d["answer"] = q.answer
        d["seq"] = q.seq
        return d

    def turn(t: Turn) -> dict[str, Any]:
        d: dict[str, Any] = {
            "turn": t.turn,
            "user": t.user,
            "assistant": t.assistant,
            "messages": [{"agent": m.agent, "text": m.text, "role": m.role} for m in t.messages],
            "inputs": [exchange(q) for q in t.inputs],
        }
        if t.outcome is not None:
            d["outcome"] = t.outcome
        if t.finish_reason is not None:
            d["finishReason"] = t.finish_reason
        d["startSeq"] = t.start_seq
        return d

    return {"turns": [turn(t) for t in c.turns], "lastSeq": c.last_seq}


def conversation_from_json(d: dict[str, Any]) -> Conversation:
    """The inverse of conversation_to_json (the input was validated against the schema)."""
    turns = [
        Turn(
            turn=int(t["turn"]),
            user=t["user"],
            start_seq=int(t["startSeq"]),
            assistant=t["assistant"],
            messages=[Message(m["agent"], m["text"], m.get("role", "assistant")) for m in t["messages"]],
            inputs=[
                InputExchange(
                    request_id=q["requestId"],
                    prompt=q["prompt"],
                    seq=int(q["seq"]),
                    agent=q.get("agent"),
                    options=q.get("options"),
                    deadline=q.get("deadline"),
                    answer=q.get("answer"),
                )
                for q in t["inputs"]
            ],
            outcome=t.get("outcome"),
            finish_reason=t.get("finishReason"),
        )
        for t in d["turns"]
    ]
    return Conversation(turns=turns, last_seq=int(d["lastSeq"]))


class SnapshotStore:
    """The `fabric_snapshots` KV bucket: one entry per session."""

    def __init__(self, buckets: dict[str, Any], js: Any = None) -> None:
        #: One bucket per partition (docs/partitions.md), by name; others are opened on first use.
        self._buckets = buckets
        self._js = js
        self._schema = Draft202012Validator(load_schema("conversation-snapshot"))

    @classmethod
    async def open(cls, js: Any) -> SnapshotStore | None:
        """The store, or None when the fabric was provisioned without the bucket (older services)."""
        buckets: dict[str, Any] = {}
        try:
            for p in all_partitions():
                name = str(p["snapshotsBucket"])
                buckets[name] = await js.key_value(name)
        except BucketNotFoundError:
            return None
        return cls(buckets, js)

    async def _kv(self, sid: str) -> Any:
        name = snapshots_bucket(sid)
        kv = self._buckets.get(name)
        if kv is None:
            kv = await self._js.key_value(name)
            self._buckets[name] = kv
        return kv

    async def get(self, tenant: str, sid: str) -> dict[str, Any] | None:
        """The session's snapshot, or None when there is none or it is not a valid one of this session."""
        try:
            e = await (await self._kv(sid)).get(snapshot_key(tenant, sid))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if e is None or not e.value:
            return None
        try:
            snap = json.loads(e.value)
        except ValueError:
            return None
        if not self._schema.is_valid(snap) or snap.get("sid") != sid or snap.get("tenant") != tenant:
            return None
        return snap

    async def put(self, snap: dict[str, Any]) -> None:
        await (await self._kv(snap["sid"])).put(
            snapshot_key(snap["tenant"], snap["sid"]), json.dumps(snap, separators=(",", ":")).encode()
        )


@dataclass
class ConversationRead:
    """A session's conversation as of its last stored event, and how it was read."""

    conversation: Conversation
    #: The events read: the whole log, or the snapshot's anchor event and the tail after it.
    events: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    last_stream_seq: int = 0
    #: The seq the snapshot covered when one was used (0: the whole log was read).
    from_snapshot_seq: int = 0


async def read_conversation(
    log: EventLog, store: SnapshotStore | None, tenant: str, sid: str
) -> ConversationRead:
    """Snapshot plus tail when the snapshot provably belongs to this log, else the whole log."""
    snap = None
    if store is not None:
        try:
            snap = await store.get(tenant, sid)
        except Exception:  # noqa: BLE001 - a snapshot is an optimisation: any failure reads the log
            snap = None
    if snap is not None:
        got = await _read_from_snapshot(log, snap)
        if got is not None:
            return got
    events, last_stream_seq = await log.read_all(tenant, sid)
    conv = Conversation()
    for ev in events:
        apply_event(conv, ev)
    last_seq = int(events[-1]["seq"]) if events else 0
    return ConversationRead(conv, events, last_seq, last_stream_seq, 0)


async def _read_from_snapshot(log: EventLog, snap: dict[str, Any]) -> ConversationRead | None:
    seq, stream_seq = int(snap["seq"]), int(snap["streamSeq"])
    if int(snap["conversation"]["lastSeq"]) != seq:
        return None
    events: list[dict[str, Any]] = []
    last_stream_seq = 0
    expected = seq
    for at, ev in await log.read_from(snap["tenant"], snap["sid"], stream_seq):
        if ev is not None and int(ev["seq"]) < seq and expected == seq:
            continue  # an older event of a rewritten log: the anchor check below decides
        if expected == seq and at != stream_seq:
            return None
        if ev is None or int(ev["seq"]) != expected or ev.get("sid") != snap["sid"]:
            return None
        events.append(ev)
        last_stream_seq = at
        expected += 1
    if not events:
        return None
    conv = conversation_from_json(snap["conversation"])  # builds new objects: no copy needed
    for ev in events[1:]:
        apply_event(conv, ev)
    return ConversationRead(conv, events, int(events[-1]["seq"]), last_stream_seq, seq)


def snapshot_of(tenant: str, sid: str, read: ConversationRead) -> dict[str, Any] | None:
    """The snapshot of a conversation read up to its last event (None for an empty log)."""
    if read.last_seq < 1 or read.last_stream_seq < 1:
        return None
    return {
        "v": SNAPSHOT_VERSION,
        "tenant": tenant,
        "sid": sid,
        "seq": read.last_seq,
        "streamSeq": read.last_stream_seq,
        "writtenAt": int(time.time() * 1000),
        "conversation": conversation_to_json(read.conversation),
    }


async def refresh_snapshot(
    log: EventLog, store: SnapshotStore, tenant: str, sid: str
) -> dict[str, Any] | None:
    """Writes the session's snapshot after a turn ended (its previous snapshot plus one turn of tail)."""
    read = await read_conversation(log, store, tenant, sid)
    if read.from_snapshot_seq == read.last_seq:
        return None
    snap = snapshot_of(tenant, sid, read)
    if snap is not None:
        await store.put(snap)
    return snap
