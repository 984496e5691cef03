"""`python -m streamfabric_autogen my_module:build --agent my-team`: serve an AutoGen agent or team
as the worker pool of a StreamFabric agent name."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from .config import ConfigError, load_config
from .factory import BuilderError, load_builder
from .worker import Bridge


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m streamfabric_autogen",
        description="Runs an AutoGen AgentChat agent or team as a StreamFabric worker. Settings come "
        "from the same environment variables as the TypeScript worker (NATS_URL, WORKER_CONCURRENCY, "
        "WORKER_ACK_WAIT_MS, WORKER_MAX_DELIVER, STREAM_TIMEOUT, STREAM_BUFFER_SIZE, "
        "STREAM_FLUSH_INTERVAL, ...).",
    )
    p.add_argument(
        "builder", help="module:function returning a new agent or team per job, e.g. my_team:build"
    )
    p.add_argument("--agent", required=True, help="agent name clients start sessions with (a-z 0-9 _ -)")
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


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        urls = [u.strip() for u in args.nats_url.split(",")] if args.nats_url else None
        cfg = load_config(args.agent, nats_urls=urls, concurrency=args.concurrency)
        builder = load_builder(args.builder)
    except (ConfigError, BuilderError) as err:
        sys.stderr.write(f"streamfabric-autogen: {err}\n")
        return 2
    try:
        asyncio.run(_serve(Bridge(cfg, builder), args.exit_with_parent))
    except KeyboardInterrupt:
        pass
    return 0
