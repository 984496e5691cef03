"""The bridge's session registry (core/registry.py) against a real nats-server, as
shared/nats/session-registry.test.ts checks the TypeScript one: updates start from the last
revision seen here, and a change another process made meanwhile is never lost."""

from __future__ import annotations

import json
from typing import Any

from helpers import Fabric, new_agent, new_sid, run

from streamfabric_autogen.core.registry import SessionRegistry


async def _sent(nc: Any, fn: Any) -> int:
    """Messages the connection sent while `fn` ran: a KV read or a KV write is one each."""
    before = nc.stats["out_msgs"]
    await fn()
    return nc.stats["out_msgs"] - before


def test_a_turn_reads_once_then_each_state_change_is_one_write(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = await f.start(new_agent(), log_message=False, sid=new_sid())
        reg = await SessionRegistry.open(f.js)
        assert await _sent(f.nc, lambda: reg.get(sid)) == 1
        assert await _sent(f.nc, lambda: reg.set_state(sid, "running")) == 1
        assert await _sent(f.nc, lambda: reg.set_state(sid, "idle", lastOutcome="done")) == 1
        rec = await f.record(sid)
        assert (rec["state"], rec["lastOutcome"]) == ("idle", "done")
        await f.close()

    run(body())


def test_a_change_made_meanwhile_elsewhere_is_kept(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = await f.start(new_agent(), log_message=False, sid=new_sid())
        reg = await SessionRegistry.open(f.js)
        await reg.get(sid)
        # A gateway's cancel lands between the bridge's read and its state change.
        kv = await f.js.key_value("fabric_sessions")
        entry = await kv.get(sid)
        cancelled = {**json.loads(entry.value), "cancelRequested": True}
        await kv.update(sid, json.dumps(cancelled).encode(), last=entry.revision)
        # Refused write, read, write.
        assert await _sent(f.nc, lambda: reg.set_state(sid, "running")) == 3
        rec = await f.record(sid)
        assert (rec["state"], rec["cancelRequested"]) == ("running", True)
        assert await _sent(f.nc, lambda: reg.set_state(sid, "idle", cancelRequested=False)) == 1
        await f.close()

    run(body())
