"""The bridge process: connects to NATS, joins an agent's worker pool (the same durable pull
consumer a TypeScript worker for that agent uses), and runs up to `concurrency` jobs at once,
fetching only as many jobs as it has free slots so no job waits locally while its ack deadline
runs."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BucketNotFoundError, NotFoundError

from ..config import BridgeConfig
from ..log import Logger
from ..subjects import (
    all_partitions,
    partition_job_subject,
    partition_names,
    worker_consumer_name,
)
from .layout import install_layout
from .event_log import EventLog
from .factory import Builder
from .pools import AgentPool, open_agents_bucket
from .registry import SessionRegistry
from .snapshots import SnapshotStore
from .turn import TurnDeps, run_turn


def consumer_config(cfg: BridgeConfig, part: dict[str, str | int] | None = None) -> ConsumerConfig:
    """The pool's consumer on one JOBS partition (default: the first), exactly as
    shared/nats/provision.ts provisionWorkerConsumer makes it (a different config from one side
    would make the two kinds of workers flap it)."""
    name = worker_consumer_name(cfg.agent)
    return ConsumerConfig(
        name=name,
        durable_name=name,
        filter_subject=partition_job_subject(cfg.agent, part or partition_names()[0]),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=cfg.ack_wait_ms / 1000,
        # One more delivery than the worker's own limit, so the worker sees the last one and dead-letters it.
        max_deliver=cfg.max_deliver + 1,
        max_ack_pending=100_000,
        num_replicas=cfg.replicas,
    )


class Bridge:
    def __init__(
        self,
        cfg: BridgeConfig,
        builder: Builder,
        log: Logger | None = None,
        fetch_timeout_s: float = 2.0,
        kind: str = "agentchat",
    ) -> None:
        self.cfg = cfg
        #: How long one pull request waits for jobs; also the longest `stop()` waits for it.
        self.fetch_timeout_s = fetch_timeout_s
        self.worker_id = cfg.worker_id or f"py-{secrets.token_hex(3)}"
        self.log = log or Logger("autogen-bridge", cfg.log_level, {"worker": self.worker_id})
        self._builder = builder
        #: The pool kind declared in FABRIC_AGENTS (AGENT-POOLS.md).
        self.kind = cfg.framework or kind
        self.pool: AgentPool | None = None
        self._shutdown = asyncio.Event()
        self._stopped = False
        self._active: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        #: Slots held by pending fetches, fetch loops holding some, loops waiting for a slot.
        self._reserved = 0
        self._fetching = 0
        self._waiters: list[asyncio.Future[int]] = []
        self.psubs: list[Any] = []
        self._loop_done = asyncio.Event()
        self._loop_started = False
        self.nc: Any = None

    async def connect(self) -> None:
        c = self.cfg
        opts: dict[str, Any] = dict(
            servers=c.nats_urls,
            name=f"streamfabric-autogen-{self.worker_id}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            allow_reconnect=True,
        )
        if c.nats_user:
            opts.update(user=c.nats_user, password=c.nats_password)
        if c.nats_token:
            opts.update(token=c.nats_token)
        if c.nats_creds:
            opts.update(user_credentials=c.nats_creds)
        self.nc = await nats.connect(**opts)
        self.js = self.nc.jetstream()
        self.log.info(
            "nats connected", server=str(self.nc.connected_url.netloc if self.nc.connected_url else "")
        )

    async def _wait_for_fabric(self) -> None:
        """The streams and the session bucket are provisioned by the TypeScript services (one
        definition of them); the bridge waits for them instead of defining them a second time."""
        warned = False
        configured = self.cfg.partitions
        while True:
            try:
                # The partition layout first (PartitionLayoutError when NATS_PARTITIONS is too small).
                if not await install_layout(self.js, configured):
                    raise NotFoundError()
                for p in all_partitions():
                    await self.js.stream_info(str(p["jobsStream"]))
                    await self.js.stream_info(str(p["eventsStream"]))
                self.registry = await SessionRegistry.open(self.js)
                return
            except (NotFoundError, BucketNotFoundError):
                if not warned:
                    self.log.warn("waiting for the fabric's streams (start a gateway or a worker)")
                    warned = True
                await asyncio.sleep(0.5)

    async def start(self) -> None:
        # AG2 runs each model call in the loop's default executor: one thread per running turn, so
        # the pool's concurrency is not capped at asyncio's default (cpu count + 4). Threads are
        # created only when used.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=self.cfg.concurrency, thread_name_prefix="sf-model")
        )
        await self.connect()
        await self._wait_for_fabric()
        # One durable consumer per JOBS partition (docs/partitions.md), pulled with one slot pool.
        self.psubs = []
        for part in all_partitions():
            cfg = consumer_config(self.cfg, part)
            await self.js._jsm.add_consumer(str(part["jobsStream"]), config=cfg)
            self.psubs.append(
                await self.js.pull_subscribe_bind(durable=cfg.durable_name, stream=str(part["jobsStream"]))
            )
        self.deps = TurnDeps(
            nc=self.nc,
            js=self.js,
            event_log=EventLog(self.js),
            registry=self.registry,
            builder=self._builder,
            log=self.log.child(pool=self.cfg.agent),
            worker_id=self.worker_id,
            ack_wait_ms=self.cfg.ack_wait_ms,
            max_deliver=self.cfg.max_deliver,
            timeout_ms=self.cfg.timeout_ms,
            buffer_size=self.cfg.buffer_size,
            flush_interval_ms=self.cfg.flush_interval_ms,
            input_timeout_ms=self.cfg.input_timeout_ms,
            max_history_tokens=self.cfg.max_history_tokens,
            snapshots=await SnapshotStore.open(self.js) if self.cfg.snapshots else None,
            shutdown=self._shutdown,
            fetch_stopped=self._loop_done,
            framework=self.cfg.framework,
        )
        self.pool = AgentPool(
            await open_agents_bucket(self.js),
            self.cfg.agent,
            self.worker_id,
            self.kind,
            self.cfg.agent_heartbeat_ms,
            self.log.child(pool=self.cfg.agent),
        )
        await self.pool.declare()
        self.log.info(
            "bridge ready", agent=self.cfg.agent, concurrency=self.cfg.concurrency, consumer=cfg.durable_name
        )

    async def run(self) -> None:
        """Fetch loop; returns after `stop()`. Fetch errors (a broker outage) are retried."""
        self._loop_started = True
        try:
            await self._fetch_loop()
        finally:
            self._loop_done.set()

    async def _fetch_loop(self) -> None:
        await asyncio.gather(*(self._partition_loop(p) for p in self.psubs))

    def _free(self) -> int:
        return self.cfg.concurrency - len(self._active) - self._reserved

    def _take(self, free: int) -> int:
        """Reserves this loop's share of the free slots (the loops without a fetch share them)."""
        idle = max(1, len(self.psubs) - self._fetching)
        n = max(1, min(256, free // idle))
        self._reserved += n
        self._fetching += 1
        return n

    def _pump(self) -> None:
        """Hands free slots to waiting loops in the order they started waiting (no starvation)."""
        while self._waiters and not self._stopped:
            free = self._free()
            if free <= 0:
                return
            fut = self._waiters.pop(0)
            if not fut.done():
                fut.set_result(self._take(free))

    async def _acquire(self) -> int:
        free = self._free()
        if free > 0 and not self._waiters:
            return self._take(free)
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        return await fut

    async def _partition_loop(self, psub: Any) -> None:
        """Pulls one JOBS partition, as many jobs as this loop reserved slots for: the partitions
        share the `concurrency` slots, so no job waits locally while its ack deadline runs."""
        while not self._stopped:
            n = await self._acquire()
            if n == 0:
                break
            try:
                if self._stopped:
                    break
                msgs = await psub.fetch(batch=n, timeout=self.fetch_timeout_s)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                msgs = []
            except Exception as err:  # noqa: BLE001 - keep serving through outages
                msgs = []
                if not self._stopped:
                    self.log.warn("job fetch failed; retrying", err=repr(err))
                    await asyncio.sleep(0.5)
            finally:
                self._reserved -= n
                self._fetching -= 1
            for m in msgs:
                if self._stopped:
                    await m.nak()  # fetched while stopping: hand it straight back to the pool
                else:
                    self._start(m)
            self._pump()

    def _start(self, msg: Any) -> None:
        task = asyncio.create_task(self._handle(msg))
        self._active.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._active.discard(t)
            self._slot_free.set()
            self._pump()

        task.add_done_callback(done)

    async def _handle(self, msg: Any) -> None:
        try:
            await run_turn(msg, self.deps)
        except Exception as err:  # noqa: BLE001 - one job's failure never stops the pool
            self.log.error("job handler failed", err=repr(err))

    async def stop(self) -> None:
        """Stops fetching; running turns stop without writing and their jobs are handed back."""
        if self._stopped:
            return
        self._stopped = True
        self.log.info("bridge stopping: running turns are handed back for redelivery")
        if self.pool is not None:
            await self.pool.withdraw()
        self._slot_free.set()
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(0)
        self._waiters.clear()
        # Running turns stop now; they hand their jobs back only once the pending fetch (at most
        # fetch_timeout_s) has ended, so that no pull request of ours is left on the server to
        # receive them again (a job delivered to a process going away waits out its ack wait).
        self._shutdown.set()
        if not self._loop_started:
            self._loop_done.set()
        if self._active:
            await asyncio.gather(*self._active, return_exceptions=True)
        await self._loop_done.wait()
        for psub in getattr(self, "psubs", []):
            try:
                await psub.unsubscribe()  # a pull subscription left open makes drain wait 30 s
            except Exception:  # noqa: BLE001
                pass
        if self.nc is not None:
            try:
                await self.nc.drain()
            except Exception:  # noqa: BLE001
                pass
