"""redelivery - the bridge's side of "no loss, no duplicate" when workers die, as in
services/worker/jobs/run-turn.ts: restart (rerun), already-finished turns, poison jobs, hand-over on
shutdown, fencing of a zombie, and in-progress acks for long turns."""

from __future__ import annotations

import json
import time
from typing import Any

from builders import assistant
from helpers import Fabric, assert_contiguous, new_agent, new_sid, run, running_bridge, wait_for

from streamfabric_autogen.config import BridgeConfig
from streamfabric_autogen.core.worker import consumer_config
from streamfabric_autogen.subjects import (
    DEADLETTER_STREAM,
    JOBS_STREAM,
    dead_letter_subject,
    worker_consumer_name,
)


async def consumer(f: Fabric, agent: str) -> Any:
    return await f.js._jsm.consumer_info(JOBS_STREAM, worker_consumer_name(agent))


async def acked(f: Fabric, agent: str) -> bool:
    info = await consumer(f, agent)
    return info.num_pending == 0 and info.num_ack_pending == 0


def test_redelivery_an_interrupted_turn_restarts_in_rerun_mode_with_the_next_attempt(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent, sid = new_agent(), new_sid()
        # The gateway's user message, then a worker that died after writing two tokens of attempt 1.
        await f.append_raw(sid, {"sid": sid, "seq": 1, "ts": 1, "type": "user_message", "text": "hello"})
        for seq, text in [(2, "partial "), (3, "answ")]:
            await f.append_raw(
                sid, {"sid": sid, "seq": seq, "ts": 1, "attempt": 1, "type": "token", "text": text}
            )
        async with running_bridge(nats_url, agent, lambda: assistant("full answer")):
            await f.start(agent, sid=sid, log_message=False)
            events = await f.finished(sid)
        assert_contiguous(events)
        restart = events[3]
        assert restart["type"] == "restart" and restart["mode"] == "rerun" and restart["attempt"] == 2
        assert all(e["attempt"] == 2 for e in events[3:])
        assert "".join(e["text"] for e in events[4:] if e["type"] == "token") == "full answer"
        assert events[-1]["type"] == "done"
        await f.close()

    run(body())


def test_redelivery_of_a_turn_that_already_ended_is_acked_without_writing(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent, sid = new_agent(), new_sid()
        await f.append_raw(sid, {"sid": sid, "seq": 1, "ts": 1, "type": "user_message", "text": "hello"})
        await f.append_raw(
            sid,
            {
                "sid": sid,
                "seq": 2,
                "ts": 1,
                "attempt": 1,
                "type": "done",
                "finishReason": "stop",
                "tokens": 0,
                "durationMs": 1,
            },
        )
        async with running_bridge(nats_url, agent, lambda: assistant("never")) as b:
            await f.start(agent, sid=sid, log_message=False)
            await wait_for(lambda: acked(f, agent), what="the job to be acked")
            assert b.logged("turn already finished: acking redelivered job")
        assert len(await f.events(sid)) == 2
        await f.close()

    run(body())


def test_redelivery_past_max_deliver_is_poison_error_event_and_dead_letter(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        cfg = BridgeConfig(agent=agent, nats_urls=[nats_url], max_deliver=1)
        # A worker took delivery 1 and gave it back.
        await f.js._jsm.add_consumer(JOBS_STREAM, config=consumer_config(cfg))
        sid = await f.start(agent)
        lost = await f.js.pull_subscribe_bind(durable=worker_consumer_name(agent), stream=JOBS_STREAM)
        (m,) = await lost.fetch(1, timeout=5)
        await m.nak()
        async with running_bridge(nats_url, agent, lambda: assistant("never"), max_deliver=1):
            events = await f.finished(sid)
            await wait_for(lambda: acked(f, agent), what="the poison job to be terminated")
        assert [e["type"] for e in events] == ["user_message", "error"]
        assert events[1]["error"]["code"] == "poison_job" and events[1]["error"]["retryable"] is False
        dead = await f.js._jsm.get_last_msg(DEADLETTER_STREAM, dead_letter_subject(agent))
        assert (
            json.loads(dead.data)["sid"] == sid
            and dead.headers["Sf-Dead-Reason"] == "max deliveries exceeded"
        )
        assert (await f.record(sid))["lastOutcome"] == "error"
        await f.close()

    run(body())


def test_redelivery_an_invalid_job_payload_is_dead_lettered_not_run(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, lambda: assistant("never")) as b:
            await f.js.publish(f"fabric.jobs.{agent}", b'{"v": 1, "sid": "not a valid sid"}')
            await wait_for(lambda: acked(f, agent), what="the bad job to be terminated")
            assert b.logged("invalid job payload: dead-lettered")
        dead = await f.js._jsm.get_last_msg(DEADLETTER_STREAM, dead_letter_subject(agent))
        assert dead.headers["Sf-Dead-Reason"] == "invalid job payload"
        await f.close()

    run(body())


def test_redelivery_a_bridge_that_shuts_down_hands_the_turn_to_another_with_no_gap(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        build = lambda: assistant(" ".join(f"w{i}" for i in range(60)), tps=40)  # noqa: E731
        async with running_bridge(nats_url, agent, build):
            sid = await f.start(agent)
            await wait_for(lambda: _count_at_least(f, sid, 5), what="a few tokens from the first bridge")
        # The first bridge stopped mid-turn: no terminal event, the job is handed back.
        first = await f.events(sid)
        assert first[-1]["type"] == "token"
        async with running_bridge(nats_url, agent, build):
            events = await f.finished(sid)
        assert_contiguous(events)
        restart = next(e for e in events if e["type"] == "restart")
        assert restart["attempt"] == 2 and restart["seq"] > len(first) - 1
        after = events[events.index(restart) + 1 :]
        assert "".join(e["text"] for e in after if e["type"] == "token") == " ".join(
            f"w{i}" for i in range(60)
        )
        assert events[-1]["type"] == "done"
        await f.close()

    run(body())


def test_redelivery_a_zombie_bridge_is_fenced_and_stops_writing(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, lambda: assistant("z " * 400, tps=40)) as b:
            sid = await f.start(agent)
            await wait_for(lambda: _count_at_least(f, sid, 3), what="a few tokens")
            # Another worker took the session over and wrote an event (its own msg id: never deduped).
            last = (await f.events(sid))[-1]
            intruder = {
                "sid": sid,
                "seq": last["seq"] + 1,
                "ts": 1,
                "attempt": 9,
                "type": "restart",
                "mode": "rerun",
                "reason": "took over",
            }
            await f.append_raw(sid, intruder, msg_id=f"{sid}:intruder")
            await wait_for(
                lambda: _true(b.logged("turn stopped without finishing: another worker will resume it")),
                what="the bridge to notice it is fenced",
            )
            stored = await f.stored(sid)
            # Nothing of the zombie's after the new owner's event, and no terminal event from it.
            assert stored[-1][0]["attempt"] == 9
            assert (await consumer(f, agent)).num_ack_pending == 1  # left for redelivery, not acked
        await f.close()

    run(body())


def test_redelivery_a_turn_longer_than_ack_wait_is_kept_alive_by_in_progress_acks(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        started = time.monotonic()
        async with running_bridge(nats_url, agent, lambda: assistant("tick " * 60, tps=25), ack_wait_ms=1000):
            sid = await f.start(agent)
            events = await f.finished(sid)
        assert time.monotonic() - started > 2  # well past the 1 s ack wait
        assert events[-1]["type"] == "done" and {e["attempt"] for e in events[1:]} == {1}
        assert not any(e["type"] == "restart" for e in events)
        await f.close()

    run(body())


async def _count_at_least(f: Fabric, sid: str, n: int) -> bool:
    return len(await f.events(sid)) >= n


async def _true(v: bool) -> bool:
    return v
