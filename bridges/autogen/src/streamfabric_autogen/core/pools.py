"""Declares the agent this bridge serves in the FABRIC_AGENTS bucket (AGENT-POOLS.md), so a gateway
tells an unknown agent (a typo: an error at once) from a known one with no live worker (the job
waits): `pool.<agent>` once at start, `live.<agent>.<workerId>` at start and every
AGENT_HEARTBEAT_MS, deleted on graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, NotFoundError

from ..log import Logger
from ..subjects import AGENTS_BUCKET, agent_live_key, agent_pool_key, partition_names

#: Pool kinds a worker may declare (AGENT-POOLS.md).
KINDS = ("builtin", "openai", "agentchat", "ag2", "agent-framework")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def open_agents_bucket(js: Any) -> Any:
    """Binds FABRIC_AGENTS, creating it (history 1, the session bucket's storage and replicas)
    when no TypeScript service provisioned it yet."""
    try:
        return await js.key_value(AGENTS_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        pass
    sessions = await js.stream_info(f"KV_{partition_names()[0]['sessionsBucket']}")
    cfg = KeyValueConfig(
        bucket=AGENTS_BUCKET,
        history=1,
        storage=sessions.config.storage,
        replicas=sessions.config.num_replicas or 1,
    )
    try:
        return await js.create_key_value(config=cfg)
    except Exception:  # noqa: BLE001 - created meanwhile by another process: bind it
        return await js.key_value(AGENTS_BUCKET)


class AgentPool:
    """One worker's declaration of one agent."""

    def __init__(
        self, kv: Any, agent: str, worker_id: str, kind: str, heartbeat_ms: int, log: Logger
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"pool kind {kind!r} is not one of {KINDS}")
        self._kv = kv
        self.agent = agent
        self.worker_id = worker_id
        self.kind = kind
        self._heartbeat_ms = heartbeat_ms
        self._log = log
        self._started = _now_ms()
        self._task: asyncio.Task[None] | None = None
        self._declared = False

    async def declare(self) -> None:
        """Writes the pool and the first heartbeat, then keeps the heartbeat going. A broker that
        refuses the writes does not stop the bridge from serving: every beat tries again."""
        try:
            await self._declare_pool()
            await self._beat()
            self._log.info("agent pool declared", kind=self.kind, heartbeatMs=self._heartbeat_ms)
        except Exception as err:  # noqa: BLE001
            self._log.warn("agent pool declaration failed; retrying with the heartbeat", err=repr(err))
        self._task = asyncio.create_task(self._run())

    async def _declare_pool(self) -> None:
        pool = {"v": 1, "agent": self.agent, "kind": self.kind, "declaredAt": _now_ms()}
        await self._kv.put(agent_pool_key(self.agent), _json(pool))
        self._declared = True

    async def _beat(self) -> None:
        live = {
            "v": 1,
            "agent": self.agent,
            "workerId": self.worker_id,
            "kind": self.kind,
            "startedAt": self._started,
            "heartbeatAt": _now_ms(),
        }
        await self._kv.put(agent_live_key(self.agent, self.worker_id), _json(live))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_ms / 1000)
            try:
                if not self._declared:
                    await self._declare_pool()
                await self._beat()
            except Exception as err:  # noqa: BLE001 - a broker blip: the next beat tries again
                self._log.warn("agent heartbeat failed", err=repr(err))

    async def withdraw(self) -> None:
        """Graceful shutdown: no more heartbeats, and the live key goes at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self._kv.delete(agent_live_key(self.agent, self.worker_id))
        except Exception as err:  # noqa: BLE001 - it ages out (3 heartbeats) anyway
            self._log.warn("could not delete the live key", err=repr(err))
