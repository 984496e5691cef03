"""Test helpers: a fabric client that does what a gateway does (registry record + job), reads a
session's stored events back, and runs a Bridge in-process against the real nats-server."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import nats
from nats.js.errors import NotFoundError

from streamfabric_autogen.config import BridgeConfig
from streamfabric_autogen.core.worker import Bridge
from streamfabric_autogen.log import Logger
from streamfabric_autogen.subjects import EVENTS_STREAM, SESSIONS_BUCKET, events_subject, job_subject

TERMINAL = {"done", "error", "cancelled"}


def run(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    """Runs a test body with a hard deadline: a hung test fails instead of blocking the suite."""

    async def body() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(body())


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = await check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def new_sid() -> str:
    return f"s_py{secrets.token_hex(8)}"


def new_agent(prefix: str = "py") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


class Fabric:
    """What a gateway and a client do, over a real NATS connection."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.js = nc.jetstream()

    @classmethod
    async def connect(cls, url: str) -> Fabric:
        return cls(await nats.connect(url))

    async def close(self) -> None:
        await self.nc.close()

    async def start(
        self,
        agent: str,
        text: str = "hello",
        options: dict[str, Any] | None = None,
        sid: str | None = None,
        tenant: str = "public",
        cancel_requested: bool = False,
        log_message: bool = True,
    ) -> str:
        sid = sid or new_sid()
        now = int(time.time() * 1000)
        record = {
            "sid": sid,
            "tenant": tenant,
            "user": "tester",
            "agent": agent,
            "state": "queued",
            "createdAt": now,
            "updatedAt": now,
            "turns": 1,
            "cancelRequested": cancel_requested,
        }
        kv = await self.js.key_value(SESSIONS_BUCKET)
        await kv.create(sid, json.dumps(record).encode())
        if log_message:
            # As the gateway does: the user's message opens the log (seq 1) before the job is queued.
            await self.append_fenced(sid, self._draft(sid, 1, "user_message", text=text, user="tester"), 0)
        await self.queue(agent, sid, text, 1, options, tenant)
        return sid

    async def queue(
        self,
        agent: str,
        sid: str,
        text: str,
        turn: int,
        options: dict[str, Any] | None = None,
        tenant: str = "public",
    ) -> None:
        job = {
            "v": 1,
            "sid": sid,
            "tenant": tenant,
            "user": "tester",
            "agent": agent,
            "input": text,
            "options": options or {},
            "turn": turn,
            "createdAt": int(time.time() * 1000),
        }
        await self.js.publish(
            job_subject(agent), json.dumps(job).encode(), headers={"Nats-Msg-Id": f"job:{sid}:{turn}"}
        )

    @staticmethod
    def _draft(sid: str, seq: int, kind: str, **fields: Any) -> dict[str, Any]:
        return {"sid": sid, "seq": seq, "ts": int(time.time() * 1000), "type": kind, **fields}

    async def append_fenced(
        self, sid: str, event: dict[str, Any], expect_stream_seq: int, tenant: str = "public"
    ) -> int:
        """Appends as the gateway's JetStreamEventLog.append does: stored only if the log has not moved."""
        ack = await self.js.publish(
            events_subject(tenant, sid),
            json.dumps(event).encode(),
            headers={
                "Nats-Msg-Id": f"{sid}:{event['seq']}",
                "Nats-Expected-Last-Subject-Sequence": str(expect_stream_seq),
                "Sf-Seq": str(event["seq"]),
                "Sf-Ts": str(event["ts"]),
                "Sf-Writer": "gateway",
            },
        )
        return ack.seq

    async def follow_up(self, agent: str, sid: str, text: str, tenant: str = "public") -> int:
        """A `message` frame: the next turn's user_message after the last turn ended, then its job."""
        stored = await self.stored(sid, tenant)
        last, headers = stored[-1]
        assert last["type"] in TERMINAL, f"turn still running: {last['type']}"
        turn = sum(1 for e, _ in stored if e["type"] == "user_message") + 1
        draft = self._draft(sid, last["seq"] + 1, "user_message", text=text, user="tester")
        await self.append_fenced(sid, draft, int(headers["Nats-Sequence"]), tenant)
        await self.queue(agent, sid, text, turn, tenant=tenant)
        return turn

    async def answer(self, sid: str, request_id: str, text: str, tenant: str = "public") -> None:
        """An `input` frame: the answer to the pending question, appended after the log's last event."""
        for _ in range(5):
            stored = await self.stored(sid, tenant)
            last, headers = stored[-1]
            draft = self._draft(sid, last["seq"] + 1, "input", requestId=request_id, text=text, user="tester")
            try:
                await self.append_fenced(sid, draft, int(headers["Nats-Sequence"]), tenant)
                return
            except Exception as err:  # noqa: BLE001 - the bridge wrote meanwhile: read again
                if "wrong last sequence" not in str(err).lower() and getattr(err, "err_code", 0) != 10071:
                    raise
        raise AssertionError("the log kept moving: could not answer")

    async def record(self, sid: str) -> dict[str, Any]:
        kv = await self.js.key_value(SESSIONS_BUCKET)
        return json.loads((await kv.get(sid)).value)

    async def stored(self, sid: str, tenant: str = "public") -> list[tuple[dict[str, Any], dict[str, str]]]:
        """Every stored event of the session with its headers, in stream order."""
        out: list[tuple[dict[str, Any], dict[str, str]]] = []
        seq = 1
        while True:
            try:
                m = await self.js._jsm.get_msg(
                    EVENTS_STREAM, seq=seq, subject=events_subject(tenant, sid), next=True, direct=True
                )
            except NotFoundError:
                return out
            out.append((json.loads(m.data), dict(m.headers or {})))
            seq = m.seq + 1

    async def events(self, sid: str, tenant: str = "public") -> list[dict[str, Any]]:
        return [e for e, _ in await self.stored(sid, tenant)]

    async def finished(self, sid: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            evs = await self.events(sid)
            return evs if evs and evs[-1]["type"] in TERMINAL else None

        return await wait_for(check, timeout, f"session {sid} to finish")

    async def append_raw(
        self, sid: str, event: dict[str, Any], tenant: str = "public", msg_id: str | None = None
    ) -> int:
        """Writes an event as another writer would (a lost worker, an intruder), unconditionally."""
        ack = await self.js.publish(
            events_subject(tenant, sid),
            json.dumps(event).encode(),
            headers={"Nats-Msg-Id": msg_id or f"{sid}:{event['seq']}", "Sf-Seq": str(event["seq"])},
        )
        return ack.seq

    async def cancel(self, sid: str, reason: str = "user stop") -> None:
        await self.nc.publish(
            f"fabric.ctl.{sid}", json.dumps({"type": "cancel", "sid": sid, "reason": reason}).encode()
        )


def assert_contiguous(events: list[dict[str, Any]]) -> None:
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), [e["seq"] for e in events]


def one_turn(url: str, builder: Any, text: str = "hello", options: dict[str, Any] | None = None, **cfg: Any):
    """Runs one session through a fresh bridge and returns its stored events."""

    async def body() -> list[dict[str, Any]]:
        f = await Fabric.connect(url)
        agent = new_agent()
        try:
            async with running_bridge(url, agent, builder, **cfg):
                return await f.finished(await f.start(agent, text, options=options))
        finally:
            await f.close()

    return run(body())


class RunningBridge:
    def __init__(self, bridge: Bridge, out: io.StringIO) -> None:
        self.bridge = bridge
        self._out = out

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._out.getvalue().splitlines() if line.strip()]

    def logged(self, msg: str) -> bool:
        return any(r.get("msg") == msg for r in self.logs())


@asynccontextmanager
async def running_bridge(url: str, agent: str, builder: Any, **cfg: Any) -> AsyncIterator[RunningBridge]:
    """A Bridge in this process (flush interval 0 unless given: one token event per chunk)."""
    cfg.setdefault("flush_interval_ms", 0)
    out = io.StringIO()
    bridge = Bridge(
        BridgeConfig(agent=agent, nats_urls=[url], **cfg),
        builder,
        Logger("autogen-bridge", "debug", {}, out),
        fetch_timeout_s=0.5,
    )
    await bridge.start()
    task = asyncio.create_task(bridge.run())
    try:
        yield RunningBridge(bridge, out)
    finally:
        await bridge.stop()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
