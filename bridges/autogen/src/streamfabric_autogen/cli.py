"""`python -m streamfabric_autogen my_module:build --agent my-team`: serve an AutoGen AgentChat
agent or team, an AG2 classic chat or a Microsoft Agent Framework agent as the worker pool of a
StreamFabric agent name. The adapter is picked from what the builder returns (`--framework`
names it instead)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from .config import ConfigError, load_config
from .core.layout import PartitionLayoutError
from .core.factory import FRAMEWORKS, Builder, BuilderError, call_builder, load_builder, pick_adapter
from .core.worker import Bridge


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m streamfabric_autogen",
        description="Runs an AutoGen AgentChat agent or team, an AG2 (autogen) chat or a Microsoft "
        "Agent Framework agent as a StreamFabric worker. Settings come "
        "from the same environment variables as the TypeScript worker (NATS_URL, WORKER_CONCURRENCY, "
        "WORKER_ACK_WAIT_MS, WORKER_MAX_DELIVER, STREAM_TIMEOUT, STREAM_BUFFER_SIZE, "
        "STREAM_FLUSH_INTERVAL, ...).",
    )
    p.add_argument(
        "builder", help="module:function returning a new agent or team per job, e.g. my_team:build"
    )
    p.add_argument("--agent", required=True, help="agent name clients start sessions with (a-z 0-9 _ -)")
    p.add_argument(
        "--framework",
        choices=FRAMEWORKS,
        help="the adapter to run the builder's result with (default: picked from what it returns)",
    )
    p.add_argument("--nats-url", help="overrides NATS_URL (comma separated)")
    p.add_argument("--concurrency", type=int, help="overrides WORKER_CONCURRENCY")
    p.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the parent process goes away (for supervisors and tests: no orphans)",
    )
    return p.parse_args(argv)


async def _watch_parent(stopping: asyncio.Event) -> None:
    parent = os.getppid()
    while not stopping.is_set():
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            stopping.set()


async def _serve(bridge: Bridge, exit_with_parent: bool) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    if exit_with_parent:
        asyncio.create_task(_watch_parent(stopping))
    await bridge.start()
    runner = asyncio.create_task(bridge.run())
    await stopping.wait()
    await bridge.stop()
    runner.cancel()


def probe_kind(builder: Builder, agent: str) -> str:
    """The pool kind to declare: the adapter of what the builder returns for a sample job. A builder
    that cannot be built outside a job (it asks for the session's user, or its model settings are
    missing) is taken for its module's `FRAMEWORK` constant if it has one, else for AgentChat."""
    job = {"v": 1, "sid": "probe", "tenant": "probe", "user": "probe", "agent": agent, "input": "", "turn": 1}
    try:
        return pick_adapter(asyncio.run(call_builder(builder, job))).kind
    except Exception:  # noqa: BLE001 - the builder needs a running job: its first job will tell
        declared = getattr(sys.modules.get(getattr(builder, "__module__", ""), None), "FRAMEWORK", None)
        return declared if declared in FRAMEWORKS else "agentchat"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        urls = [u.strip() for u in args.nats_url.split(",")] if args.nats_url else None
        cfg = load_config(args.agent, nats_urls=urls, concurrency=args.concurrency, framework=args.framework)
        builder = load_builder(args.builder)
        kind = args.framework or probe_kind(builder, args.agent)
    except (ConfigError, BuilderError) as err:
        sys.stderr.write(f"streamfabric-autogen: {err}\n")
        return 2
    try:
        asyncio.run(_serve(Bridge(cfg, builder, kind=kind), args.exit_with_parent))
    except KeyboardInterrupt:
        pass
    except PartitionLayoutError as err:
        sys.stderr.write(f"streamfabric-autogen: PartitionLayoutError: {err}\n")
        return 2
    return 0
